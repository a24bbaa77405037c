/**
 * What `store.du()` costs: 1,000 sessions of 10 commits each (a growing
 * message list; every fifth session's tool output one of 20 shared 34 KB
 * outputs, the others their own), a tenth of the sessions forks, on a file
 * store; then `du()`, `du({ top: 0 })`, `du({ session })`, `du({ limit: 100 })`
 * and `stats()`, three calls each, medians.
 *
 *   npx tsx bench/du.ts [sessions, default 1000]
 */
import { join } from "node:path";
import { openStore } from "../src/index.js";
import { freshDir, median, removeDir } from "./util.js";

const SESSIONS = Number(process.argv[2] ?? 1000);
const COMMITS = 10;
const shared = Array.from({ length: 20 }, (_, i) => `shared output ${i} `.repeat(1800));

const dir = freshDir("du");
try {
  const store = await openStore({ url: `file:${join(dir, "cairn.db")}`, durability: "normal" });
  const started = performance.now();
  for (let s = 0; s < SESSIONS; s++) {
    const id = `user-${String(s).padStart(5, "0")}`;
    if (s % 10 === 9) {
      await store.session(`user-${String(s - 1).padStart(5, "0")}`).fork(id);
      continue;
    }
    const messages: string[] = [];
    for (let turn = 1; turn <= COMMITS; turn++) {
      messages.push(`${id} turn ${turn} `.repeat(20));
      const output = s % 5 === 0 ? shared[(s + turn) % 20]! : `${id} output ${turn} `.repeat(300);
      await store.session(id).commit({ turn, snapshots: { execution: { messages: [...messages] }, tool: { output } } });
    }
  }
  const writeSeconds = (performance.now() - started) / 1000;
  const stats = await store.stats();
  const time = async (name: string, run: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await run();
      ms.push(performance.now() - t);
    }
    console.log(`${name.padEnd(24)} ${median(ms).toFixed(0).padStart(6)} ms  (${ms.map((m) => m.toFixed(0)).join(", ")})`);
  };
  console.log(`node ${process.version}; ${SESSIONS} sessions (${stats.checkpoints} checkpoints, ${stats.blobs.count} blobs) written in ${writeSeconds.toFixed(1)} s`);
  await time("du()", () => store.du());
  await time("du({ top: 0 })", () => store.du({ top: 0 }));
  await time("du({ session })", () => store.du({ session: "user-00500" }));
  await time("du({ limit: 100 })", () => store.du({ limit: 100 }));
  await time("stats()", () => store.stats());
  await store.close();
} finally {
  removeDir(dir);
}
