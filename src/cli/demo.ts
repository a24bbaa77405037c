/**
 * `cairn demo`: the main job on the embedded default. A worker process runs an
 * agent-like session (history growing every turn, a 256 KiB tool output every few
 * turns), the demo SIGKILLs it midway, a fresh worker resumes from latest() and
 * finishes, and the demo prints what was committed, stored and measured.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { CairnError, openStore, type Store } from "../index.js";
import { agentWorkload } from "./workload.js";
import { colors, formatBytes, formatMs, quantile } from "./format.js";

export interface DemoOptions {
  readonly url: string;
  readonly turns: number;
  readonly toolEvery: number;
  readonly killAt?: number;
  readonly seed: number;
  readonly keep: boolean;
}

/** One line of the worker's report (JSON on stdout). */
type WorkerEvent =
  | { event: "resumed"; seq: number; turn: number; openMs: number; latestMs: number; verified: boolean }
  | { event: "commit"; seq: number; turn: number; ms: number; bytesWritten: number; logicalBytes: number; uniqueBytes: number; tool: string }
  | { event: "done"; seq: number };

const SESSION = "demo";

/** Runs the demo and prints its report. Returns the exit status. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const c = colors;
  if (options.url.includes(":memory:")) {
    console.error("cairn demo needs a database two processes can share: a file: url or a libSQL server, not :memory:");
    return 2;
  }
  if (options.killAt !== undefined && options.killAt >= options.turns) {
    console.error(`--kill-at (${options.killAt}) must be below --turns (${options.turns}), or nothing is killed`);
    return 2;
  }
  const path = localPath(options.url);
  if (path && !options.keep && existsSync(path)) {
    // Start fresh, but only over an earlier demo's store: never delete another file.
    const refusal = await notADemoStore(options.url);
    if (refusal) {
      console.error(`cairn demo: ${path} ${refusal}; it is left as it is. Pass another --url, or --keep to add to a demo store.`);
      return 2;
    }
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  }
  const killAt = options.killAt ?? Math.floor(options.turns / 2) + Math.floor(Math.random() * Math.max(1, options.turns / 10));
  console.log(c.bold(`cairn demo: ${options.turns} agent turns on ${options.url}`));
  console.log(c.dim(`  a tool call every ${options.toolEvery} turns reads a 256 KiB file: 60% an unchanged re-read, 25% a line appended, 15% a new file`));

  const commits: Extract<WorkerEvent, { event: "commit" }>[] = [];
  console.log(`\n${c.cyan("1.")} worker starts committing; it will be SIGKILLed after turn ${killAt}`);
  const first = await runWorker(options, (event, kill) => {
    if (event.event === "commit") {
      commits.push(event);
      if (event.turn % 50 === 0) console.log(c.dim(`   turn ${event.turn} committed (seq ${event.seq}, ${formatMs(event.ms)})`));
      if (event.turn >= killAt) kill();
    }
  });
  const acknowledged = commits.at(-1)?.seq ?? 0;
  if (first.signal !== "SIGKILL") {
    console.error(c.red(`the first worker ended on its own (exit ${first.code}) before it could be killed`));
    return 2;
  }
  console.log(`   ${c.red("SIGKILL")} sent to worker ${first.pid} after turn ${commits.at(-1)?.turn ?? 0}, with ${acknowledged} commits acknowledged`);

  console.log(`\n${c.cyan("2.")} a fresh worker resumes from latest() and finishes the session`);
  let resumed: Extract<WorkerEvent, { event: "resumed" }> | undefined;
  const second = await runWorker(options, (event) => {
    if (event.event === "resumed") {
      resumed = event;
      console.log(
        `   resumed at seq ${event.seq} (turn ${event.turn}) in ${formatMs(event.openMs + event.latestMs)} ` +
          `(open ${formatMs(event.openMs)}, latest() ${formatMs(event.latestMs)}); state ${event.verified ? c.green("identical to what was committed") : c.red("DIFFERS")}`,
      );
    } else if (event.event === "commit") {
      commits.push(event);
      if (event.turn % 50 === 0) console.log(c.dim(`   turn ${event.turn} committed (seq ${event.seq}, ${formatMs(event.ms)})`));
    }
  });
  if (second.code !== 0 || !resumed) {
    console.error(c.red(`the resuming worker failed (exit ${second.code})`));
    return 2;
  }
  if (resumed.seq < acknowledged || !resumed.verified) {
    console.error(c.red(`resume point ${resumed.seq} lost acknowledged commits (${acknowledged}) or did not verify`));
    return 1;
  }

  const store = await openStore({ url: options.url });
  const report = await summarize(store, commits);
  await store.close();
  const stored = path && existsSync(path) ? statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0) : report.bytesWritten;
  const latencies = commits.map((e) => e.ms);
  console.log(`\n${c.cyan("3.")} report`);
  const rows: Array<[string, string]> = [
    ["turns committed", `${report.head} (session "${SESSION}")`],
    ["resume point", `seq ${resumed.seq}, turn ${resumed.turn} (${acknowledged} acknowledged before the kill)`],
    ["time to resume", `${formatMs(resumed.openMs + resumed.latestMs)} (open store + hydrate latest)`],
    ["logical bytes", `${formatBytes(report.logicalBytes)} (every turn's full state, as a store without dedup writes it)`],
    ["unique payload", `${formatBytes(report.uniqueBytes)} (each distinct message and tool output once)`],
    ["bytes stored", `${formatBytes(stored)}${path ? " (database file after a WAL checkpoint)" : " (bytes written)"}`],
    ["dedup ratio", `${(report.logicalBytes / stored).toFixed(0)}x logical/stored; stored/unique = ${(stored / report.uniqueBytes).toFixed(2)}`],
    ["commit latency", `median ${formatMs(quantile(latencies, 0.5))}, p99 ${formatMs(quantile(latencies, 0.99))}, max ${formatMs(Math.max(...latencies))}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [key, value] of rows) console.log(`   ${c.bold(key.padEnd(width))}  ${value}`);
  console.log(c.dim(`\n   look at it: npx cairn log ${SESSION} --url ${options.url} --limit 5; npx cairn verify --url ${options.url}`));
  return 0;
}

/** Why the file at `url` is not an earlier demo's store (one session, "demo"), or undefined if it is one. */
async function notADemoStore(url: string): Promise<string | undefined> {
  let store: Store;
  try {
    store = await openStore({ url, create: false });
  } catch (error) {
    return error instanceof CairnError && error.code === "NOT_FOUND" ? "is not a cairn store" : `cannot be opened (${(error as Error).message})`;
  }
  try {
    const others = (await store.sessions.list()).filter((s) => s.id !== SESSION);
    return others.length ? `is a cairn store with other sessions than "${SESSION}" (${others.length})` : undefined;
  } finally {
    await store.close();
  }
}

async function summarize(store: Store, commits: readonly Extract<WorkerEvent, { event: "commit" }>[]) {
  const history = await store.session(SESSION).history();
  const byTurn = new Map(commits.map((e) => [e.turn, e]));
  let logicalBytes = 0;
  let uniqueBytes = 0;
  let bytesWritten = 0;
  for (const event of byTurn.values()) {
    logicalBytes += event.logicalBytes;
    uniqueBytes += event.uniqueBytes;
  }
  for (const event of commits) bytesWritten += event.bytesWritten;
  return { head: history.length, logicalBytes, uniqueBytes, bytesWritten };
}

function localPath(url: string): string | undefined {
  if (!url.startsWith("file:") || url.includes(":memory:")) return undefined;
  return url.slice("file:".length).split("?")[0];
}

/** Spawns `cairn demo-worker` and feeds its events to `onEvent`, which may kill it. */
function runWorker(
  options: DemoOptions,
  onEvent: (event: WorkerEvent, kill: () => void) => void,
): Promise<{ pid: number | undefined; code: number | null; signal: NodeJS.Signals | null }> {
  const args = [process.argv[1]!, "demo-worker", "--url", options.url, "--turns", String(options.turns), "--tool-every", String(options.toolEvery), "--seed", String(options.seed)];
  const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let killed = false;
  const kill = () => {
    if (!killed) {
      killed = true;
      child.kill("SIGKILL");
    }
  };
  let buffer = "";
  child.stdout.on("data", (data: Buffer) => {
    buffer += data.toString();
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.startsWith("{") && !killed) onEvent(JSON.parse(line) as WorkerEvent, kill);
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ pid: child.pid, code, signal }));
  });
}

/**
 * `cairn demo-worker`: resumes the demo session from latest(), checks the restored
 * state against the workload, and commits the remaining turns, reporting each as
 * one JSON line on stdout.
 */
export async function runDemoWorker(options: DemoOptions): Promise<void> {
  const emit = (event: WorkerEvent) => process.stdout.write(JSON.stringify(event) + "\n");
  const t0 = performance.now();
  const store = await openStore({ url: options.url });
  const session = store.session(SESSION);
  const t1 = performance.now();
  const latest = await session.latest();
  const t2 = performance.now();
  const resumeTurn = latest?.turn ?? 0;
  let seq = latest?.seq ?? 0;
  let verified = latest === undefined;
  for (const step of agentWorkload({ turns: options.turns, seed: options.seed, toolEvery: options.toolEvery })) {
    if (step.turn < resumeTurn) continue;
    if (step.turn === resumeTurn) {
      verified = isDeepStrictEqual(latest!.snapshots, step.checkpoint.snapshots);
      emit({ event: "resumed", seq, turn: resumeTurn, openMs: t1 - t0, latestMs: t2 - t1, verified });
      continue;
    }
    if (step.turn === 1) emit({ event: "resumed", seq, turn: 0, openMs: t1 - t0, latestMs: t2 - t1, verified: true });
    const start = performance.now();
    const result = await session.commit(step.checkpoint, { expectedHead: seq, label: `turn ${step.turn}` });
    const ms = performance.now() - start;
    seq = result.seq;
    emit({ event: "commit", seq, turn: step.turn, ms, bytesWritten: result.bytesWritten, logicalBytes: step.logicalBytes, uniqueBytes: step.newUniqueBytes, tool: step.toolEvent });
  }
  emit({ event: "done", seq });
  await store.close();
}
