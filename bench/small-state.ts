/**
 * Small states through the native API: 2,000 commits of a ~2 KB state (a
 * rolling window of three messages and a few scalars, all new each commit) to
 * a file store, at durability "full" and "normal", alternating full, normal,
 * full, normal, full, normal (medians of 3); then, on the last store, a warm
 * `latest()` (mean of 200) and `history()` of all 2,000 rows.
 *
 *   npx tsx bench/small-state.ts [commits, default 2000]
 *
 * Issue 10's native target: at least 5,000 commits/s at equal durability
 * (SqliteSaver runs synchronous=NORMAL).
 */
import { join } from "node:path";
import { openStore, type Durability } from "../src/index.js";
import { freshDir, median, removeDir } from "./util.js";

const COMMITS = Number(process.argv[2] ?? 2000);

const message = (i: number) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i} `.repeat(60) });
const state = (i: number) => ({ messages: [message(i - 2), message(i - 1), message(i)], step: i, ok: true, cost: i * 0.01 });

interface Run {
  readonly commitsPerSecond: number;
  readonly latestMs: number;
  readonly historyMs: number;
}

async function run(durability: Durability): Promise<Run> {
  const dir = freshDir("small-state");
  try {
    const store = await openStore({ url: `file:${join(dir, "cairn.db")}`, durability });
    const session = store.session("small");
    const started = performance.now();
    for (let i = 1; i <= COMMITS; i++) await session.commit({ turn: i, snapshots: { execution: state(i) } });
    const seconds = (performance.now() - started) / 1000;
    const t = performance.now();
    for (let i = 0; i < 200; i++) await session.latest();
    const latestMs = (performance.now() - t) / 200;
    const h = performance.now();
    const rows = await session.history();
    const historyMs = performance.now() - h;
    if (rows.length !== COMMITS) throw new Error(`history has ${rows.length} rows, not ${COMMITS}`);
    await store.close();
    return { commitsPerSecond: COMMITS / seconds, latestMs, historyMs };
  } finally {
    removeDir(dir);
  }
}

const results: Record<Durability, Run[]> = { full: [], normal: [] };
for (let round = 0; round < 3; round++) for (const durability of ["full", "normal"] as const) results[durability].push(await run(durability));
console.log(`node ${process.version}; ${COMMITS} commits of a ~${JSON.stringify(state(3)).length}-byte state, medians of 3 alternating runs`);
console.log(["durability", "commits/s", "(runs)", "ms per commit", "latest() warm", "history() all"].join("\t"));
for (const durability of ["full", "normal"] as const) {
  const runs = results[durability];
  const rate = median(runs.map((r) => r.commitsPerSecond));
  console.log(
    [
      durability,
      rate.toFixed(0),
      `(${runs.map((r) => r.commitsPerSecond.toFixed(0)).join(", ")})`,
      `${(1000 / rate).toFixed(3)} ms`,
      `${median(runs.map((r) => r.latestMs)).toFixed(3)} ms`,
      `${median(runs.map((r) => r.historyMs)).toFixed(1)} ms`,
    ].join("\t"),
  );
}
