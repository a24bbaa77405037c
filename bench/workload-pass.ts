/**
 * One pass of the agent workload, run in a process of its own so that no
 * process-wide cache (large strings, chunk refs, recent chunkings) carries over
 * from another pass:
 *
 *   node --import tsx bench/workload-pass.ts <dbpath> <profile> <turns> <toolEvery> <session> <repeats>
 *
 * Commits every turn into one session, then times latest() and history() warm
 * (same process, right after the commits), merges the WAL and closes the store.
 * Prints one line of JSON (a {@link WorkloadPassResult}).
 */
import { openStore, type Checkpoint, type CompressionProfile, type SessionCheckpoint } from "../src/index.js";
import { DATABASE } from "../src/store.js";
import { agentWorkload } from "../src/cli/workload.js";
import { now, stats, timeEach, type Stats } from "./util.js";

export interface WorkloadPassResult {
  readonly profile: CompressionProfile;
  readonly turns: number;
  readonly toolEvery: number;
  /** Tool events over the run: how many turns re-read, appended to or created a file. */
  readonly toolEvents: Record<string, number>;
  /** Wall time of the whole commit loop, ms. */
  readonly commitLoopMs: number;
  readonly commitsPerSecond: number;
  /** Per-commit latency, ms. */
  readonly commit: Stats;
  /** Sum of newUniqueBytes: the payload a perfect dedup would keep. */
  readonly uniquePayloadBytes: number;
  /** Sum of logicalBytes: what a store that writes the whole state every turn would write. */
  readonly logicalBytes: number;
  /** logicalBytes of the last turn: the size of the state latest() returns. */
  readonly finalStateBytes: number;
  /** Sums of the commit results. */
  readonly blobsWritten: number;
  readonly bytesWritten: number;
  /** latest() right after the commits: the first call, then the median (and spread) of `repeats` more. */
  readonly latestWarmFirstMs: number;
  readonly latestWarm: Stats;
  /** history() of all rows: the first call, then `repeats` more. */
  readonly historyFirstMs: number;
  readonly history: Stats;
  readonly historyRows: number;
  /** Session id, for the cold read. */
  readonly session: string;
}

async function main(): Promise<void> {
  const [dbPath, profileArg, turnsArg, toolEveryArg, session = "bench", repeatsArg = "20"] = process.argv.slice(2);
  if (!dbPath || !profileArg || !turnsArg || !toolEveryArg) {
    throw new Error("usage: workload-pass.ts <dbpath> <profile> <turns> <toolEvery> [session] [repeats]");
  }
  const profile = profileArg as CompressionProfile;
  const turns = Number(turnsArg);
  const toolEvery = Number(toolEveryArg);
  const repeats = Number(repeatsArg);

  // Generate every turn first so the commit loop times cairn alone.
  const workload = [...agentWorkload({ turns, toolEvery })];
  const toolEvents: Record<string, number> = {};
  let uniquePayloadBytes = 0;
  let logicalBytes = 0;
  for (const t of workload) {
    uniquePayloadBytes += t.newUniqueBytes;
    logicalBytes += t.logicalBytes;
    toolEvents[t.toolEvent] = (toolEvents[t.toolEvent] ?? 0) + 1;
  }

  // Extra store options (chunk sizes, thresholds) for experiments: bench/run.ts --store '<json>'.
  const extra = JSON.parse(process.env.CAIRN_BENCH_STORE ?? "{}") as Record<string, unknown>;
  const store = await openStore({ ...extra, url: `file:${dbPath}`, profile });
  const s = store.session(session);
  const latencies: number[] = [];
  let blobsWritten = 0;
  let bytesWritten = 0;
  const loopStart = now();
  for (const t of workload) {
    const t0 = now();
    const result = await s.commit(t.checkpoint);
    latencies.push(now() - t0);
    blobsWritten += result.blobsWritten;
    bytesWritten += result.bytesWritten;
  }
  const commitLoopMs = now() - loopStart;

  // Warm reads: same process, right after the commits.
  let t0 = now();
  const latest = await s.latest();
  const latestWarmFirstMs = now() - t0;
  checkLatest(latest, turns, workload[workload.length - 1]!.checkpoint);
  const latestWarm = stats(await timeEach(repeats, () => s.latest()));

  t0 = now();
  const rows = await s.history();
  const historyFirstMs = now() - t0;
  if (rows.length !== turns) throw new Error(`history() returned ${rows.length} rows, expected ${turns}`);
  const history = stats(await timeEach(repeats, () => s.history()));

  await store[DATABASE].execute("PRAGMA wal_checkpoint(TRUNCATE)");
  await store.close();

  const result: WorkloadPassResult = {
    profile,
    turns,
    toolEvery,
    toolEvents,
    commitLoopMs,
    commitsPerSecond: turns / (commitLoopMs / 1000),
    commit: stats(latencies),
    uniquePayloadBytes,
    logicalBytes,
    finalStateBytes: workload[workload.length - 1]!.logicalBytes,
    blobsWritten,
    bytesWritten,
    latestWarmFirstMs,
    latestWarm,
    historyFirstMs,
    history,
    historyRows: rows.length,
    session,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** A cheap check that the read-back state is the last one committed. */
function checkLatest(latest: SessionCheckpoint | undefined, turns: number, expected: Checkpoint): void {
  if (!latest || latest.seq !== turns) throw new Error(`latest() returned seq ${latest?.seq}, expected ${turns}`);
  const got = (latest.snapshots.execution as { messages: Array<{ content: string }> }).messages;
  const want = (expected.snapshots.execution as { messages: Array<{ content: string }> }).messages;
  if (got.length !== want.length || got[got.length - 1]!.content !== want[want.length - 1]!.content) {
    throw new Error("latest() does not hold the last committed message history");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
