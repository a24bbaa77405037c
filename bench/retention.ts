/**
 * Retention that gives the disk back, at scale: 1,000 LangGraph threads written
 * through CairnSaver (each 20 steps of a growing message list, a distinct
 * ~16 KB tool output every 4th step), then 90% of them left idle for two days
 * and a store policy `expireAfter: 1 day` on the saver's sessions; `gc` applies
 * it. Reports the file on disk before and after (database and WAL, after a WAL
 * checkpoint), what gc freed and returned, and how long it took.
 *
 *   npx tsx bench/retention.ts [threads, default 1000]
 *
 * Idleness is simulated by moving the idle threads' history rows two days into
 * the past with SQL behind the store's back (the only way to age a store in a
 * benchmark that runs for a minute).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { CairnSaver } from "../src/adapters/langgraph/index.js";
import { openStore } from "../src/index.js";
import { DATABASE } from "../src/store.js";
import { prng } from "../src/cli/workload.js";
import { freshDir, removeDir } from "./util.js";

const THREADS = Number(process.argv[2] ?? 1000);
const STEPS = 20;
const DAY = 86_400_000;
const MB = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const onDisk = (path: string) => statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);

const rand = prng(11);
const words = "the of and to in is was for on that with as by at from it this be are or an which file line function return value error test".split(" ");
const text = (chars: number) => {
  let out = "";
  while (out.length < chars) out += words[Math.floor(rand() * words.length)] + (rand() < 0.08 ? "\n" : " ");
  return out;
};

const dir = freshDir("retention");
try {
  const path = join(dir, "cairn.db");
  let store = await openStore({ url: `file:${path}`, durability: "normal" });
  const saver = new CairnSaver(store);
  const started = performance.now();
  for (let t = 0; t < THREADS; t++) {
    const messages: Array<{ role: string; content: string }> = [];
    let config: unknown = { configurable: { thread_id: `thread-${t}`, checkpoint_ns: "" } };
    for (let step = 1; step <= STEPS; step++) {
      messages.push({ role: step % 2 ? "user" : "assistant", content: text(300) });
      const tool = step % 4 === 0 ? { output: text(16_000) } : undefined;
      if (tool) messages.push({ role: "tool", content: tool.output });
      const id = `1f000000-0000-6000-8000-${(t * 100 + step).toString(16).padStart(12, "0")}`;
      config = await saver.put(
        config as never,
        { v: 4, id, ts: new Date().toISOString(), channel_values: { messages: [...messages], step }, channel_versions: { messages: step, step }, versions_seen: {} },
        { source: "loop", step, parents: {} },
        { messages: step, step },
      );
    }
  }
  const writeSeconds = (performance.now() - started) / 1000;
  // Idle: 90% of the threads had their last step two days ago.
  const idle = Math.round(THREADS * 0.9);
  await store[DATABASE].writeBatch([
    {
      sql: "UPDATE history SET created_at = created_at - ? WHERE session IN (SELECT id FROM sessions WHERE CAST(substr(id, instr(id, 'thread-') + 7) AS INTEGER) < ?)",
      args: [2 * DAY, idle],
    },
  ]);
  await store.retention.set({ prefix: "langgraph/" }, { expireAfter: DAY });
  await store.close(); // merges the WAL
  const before = onDisk(path);

  store = await openStore({ url: `file:${path}` });
  const dry = await store.gc({ dryRun: true, grace: 0 });
  const t0 = performance.now();
  const report = await store.gc({ grace: 0 });
  const gcMs = performance.now() - t0;
  const sessionsLeft = (await store.sessions.list()).length;
  // Every remaining thread still reads its latest checkpoint.
  const check = new CairnSaver(store);
  for (let t = idle; t < THREADS; t++) {
    const tuple = await check.getTuple({ configurable: { thread_id: `thread-${t}`, checkpoint_ns: "" } });
    if ((tuple?.checkpoint.channel_values as { step?: number } | undefined)?.step !== STEPS) throw new Error(`thread-${t} lost its latest checkpoint`);
  }
  await store.close();
  const after = onDisk(path);
  const r = report.result!;
  console.log(`node ${process.version}; ${THREADS} threads x ${STEPS} steps written in ${writeSeconds.toFixed(1)} s (durability normal); ${idle} idle for 2 days; policy { prefix: "langgraph/" } expireAfter 1 day`);
  console.log(`plan: ${dry.plan.expiredSessions} sessions expire (${dry.plan.historyRows} checkpoints), ${dry.plan.blobs} blobs, ${MB(dry.plan.storedBytes)} stored`);
  console.log(`gc: ${gcMs.toFixed(0)} ms (plan ${report.timings.plan.toFixed(0)}, retention ${report.timings.retention.toFixed(0)}, sweep ${report.timings.sweep.toFixed(0)}, reclaim ${report.timings.reclaim.toFixed(0)}); ${r.sessionsDropped} sessions removed, ${r.historyRowsDropped} checkpoints, ${r.blobs} blobs, ${MB(r.storedBytes)} stored`);
  console.log(`space: ${MB(r.space.freeBytes)} free after the sweep, ${MB(r.space.returnedBytes)} returned`);
  console.log(`file on disk: ${MB(before)} before, ${MB(after)} after: shrank ${MB(before - after)}, ${(((before - after) / r.storedBytes) * 100).toFixed(0)}% of the stored bytes gc freed; ${sessionsLeft} sessions left`);
} finally {
  removeDir(dir);
}
