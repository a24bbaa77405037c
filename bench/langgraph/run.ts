/**
 * LangGraph's SqliteSaver and cairn's CairnSaver side by side, in one run, on
 * the same inputs:
 *
 * - agent: the 500-step agent workload of src/cli/workload.ts (messages growing
 *   every step; every 10th step a 256 KiB tool output: 60% an unchanged re-read,
 *   25% the same file with a line appended, 15% a new file), as LangGraph
 *   checkpoints with channels messages / tool / plugin / turn and the
 *   newVersions the Pregel loop would pass;
 * - small: 2,000 puts of ~2 KB of state, all of it new each time.
 *
 * Puts run in this process; reads (getTuple of the latest checkpoint, and a
 * full list()) run in a fresh child process per saver, so no cache of the
 * writer helps them: read-child.mjs, plain JavaScript under plain `node`,
 * reading through cairn's compiled package (dist/: `npm run build` in the root
 * first). Database bytes are measured after a WAL checkpoint.
 *
 *   cd bench/langgraph && npm install && npx tsx run.ts [--steps 500] [--sqlite-steps N] [--small 2000] [--rounds 3] [--json out.json]
 *
 * Each saver runs each workload --rounds times, A B A (every other round in reverse
 * order); the table gives medians with their range.
 *
 * Cold start (docs/benchmarks.md, "Cold start"): the agent workload written once by
 * each saver and once by cairn's own API, then fresh plain-node processes, interleaved:
 * `node -e 0`; cairn's openStore + session.latest(); CairnSaver and SqliteSaver
 * each importing, opening and doing the first getTuple of the latest checkpoint.
 *
 *   cd bench/langgraph && npx tsx run.ts --cold-start [--steps 500] [--runs 7] [--json out.json] [--keep]
 *
 * (--keep leaves the three databases in place and prints their folder, to profile a read.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CairnSaver } from "../../src/adapters/langgraph/index.js";
import { openStore, type Store } from "../../src/index.js";
import { agentWorkload, prng } from "../../src/cli/workload.js";
import { alternate, assertPlainNode, CHILD, checkDistAfter, distState, summarize, writeAgentStore, type ChildTimes, type Variant } from "../cold-start.js";
import { distLine, processTable } from "../report.js";
import { machine, median } from "../util.js";

/** SqliteSaver (better-sqlite3: WAL, synchronous=NORMAL); CairnSaver at durability full (the default) and at normal (equal to SqliteSaver's). */
type Kind = "sqlite" | "cairn" | "cairn-normal";
const SAVER_NAMES: Record<Kind, string> = { sqlite: "SqliteSaver (normal)", cairn: "CairnSaver (full)", "cairn-normal": "CairnSaver (normal)" };

/** The part of @langchain/langgraph-checkpoint-sqlite this bench uses. */
interface SqliteSaverClass {
  fromConnString(path: string): Saver & { db: { pragma(sql: string): unknown; close(): void } };
}

/**
 * SqliteSaver, from this folder's own node_modules (better-sqlite3 compiles from
 * source, so it is not in the root install). Imported by a computed specifier so
 * the root type check passes whether or not this folder's install has run.
 */
async function loadSqliteSaver(): Promise<SqliteSaverClass> {
  const specifier: string = "@langchain/langgraph-checkpoint-sqlite";
  try {
    return ((await import(specifier)) as { SqliteSaver: SqliteSaverClass }).SqliteSaver;
  } catch (error) {
    throw new Error(`cannot load ${specifier}: run \`npm install\` in bench/langgraph first (${(error as Error).message})`);
  }
}

/** What both savers' put/getTuple/list look like (their checkpoint types come from two copies of the package). */
interface Saver {
  put(config: unknown, checkpoint: unknown, metadata: unknown, newVersions: Record<string, number>): Promise<unknown>;
  getTuple(config: unknown): Promise<{ checkpoint: { id: string; channel_values: Record<string, unknown> } } | undefined>;
  list(config: unknown, options?: unknown): AsyncGenerator<unknown>;
}

interface Put {
  readonly checkpoint: { v: number; id: string; ts: string; channel_values: Record<string, unknown>; channel_versions: Record<string, number>; versions_seen: Record<string, Record<string, number>> };
  readonly metadata: { source: "loop" | "input"; step: number; parents: Record<string, string> };
  readonly newVersions: Record<string, number>;
}

interface Workload {
  readonly name: string;
  readonly puts: Put[];
  /** Bytes of payload no earlier step had (UTF-8), for scale. */
  readonly uniqueBytes: number;
}

const THREAD = "bench-thread";
const here = fileURLToPath(new URL(".", import.meta.url));
/** The read process: plain JavaScript, run by plain node. */
const READ_CHILD = join(here, "read-child.mjs");

/** A time-ordered id like LangGraph's uuid6, deterministic per step. */
function checkpointId(step: number): string {
  const hex = step.toString(16).padStart(12, "0");
  return `1f000000-0000-6000-8000-${hex}`;
}

/** The agent workload as LangGraph puts: a channel changes version when its value changes. */
function agentPuts(steps: number): Workload {
  const puts: Put[] = [];
  const versions: Record<string, number> = {};
  const previous: Record<string, string> = {};
  let uniqueBytes = 0;
  for (const turn of agentWorkload({ turns: steps, toolEvery: 10 })) {
    const snapshots = turn.checkpoint.snapshots as { execution: { messages: unknown[] }; tool: unknown; plugin: unknown };
    const values: Record<string, unknown> = { messages: snapshots.execution.messages, tool: snapshots.tool, plugin: snapshots.plugin, turn: turn.turn };
    const newVersions: Record<string, number> = {};
    for (const [channel, value] of Object.entries(values)) {
      // messages grows every step; compare the small channels by content.
      const key = channel === "messages" ? String(turn.turn) : JSON.stringify(value);
      if (previous[channel] !== key) {
        previous[channel] = key;
        versions[channel] = (versions[channel] ?? 0) + 1;
        newVersions[channel] = versions[channel]!;
      }
    }
    uniqueBytes += turn.newUniqueBytes;
    puts.push({
      checkpoint: {
        v: 4,
        id: checkpointId(turn.turn),
        ts: new Date(Date.UTC(2025, 0, 1, 0, 0, turn.turn)).toISOString(),
        channel_values: values,
        channel_versions: { ...versions },
        versions_seen: { agent: { ...versions }, tools: { messages: versions.messages! } },
      },
      metadata: { source: "loop", step: turn.turn - 1, parents: {} },
      newVersions,
    });
  }
  return { name: `agent (${steps} steps)`, puts, uniqueBytes };
}

/** `count` puts of ~2 KB of state, all of it new each time. */
function smallPuts(count: number): Workload {
  const rand = prng(7);
  const puts: Put[] = [];
  let uniqueBytes = 0;
  for (let i = 0; i < count; i++) {
    let notes = "";
    while (notes.length < 1900) notes += Math.floor(rand() * 36 ** 6).toString(36) + " ";
    const state = { step: i, notes, flags: { verbose: i % 2 === 0 } };
    uniqueBytes += JSON.stringify(state).length;
    puts.push({
      checkpoint: {
        v: 4,
        id: checkpointId(i + 1),
        ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        channel_values: { state },
        channel_versions: { state: i + 1 },
        versions_seen: { node: { state: i } },
      },
      metadata: { source: "loop", step: i, parents: {} },
      newVersions: { state: i + 1 },
    });
  }
  return { name: `small (${count} puts of ~2 KB)`, puts, uniqueBytes };
}

function fileBytes(path: string): number {
  let total = 0;
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(path + suffix)) total += statSync(path + suffix).size;
  return total;
}

interface WriteResult {
  readonly puts: number;
  readonly seconds: number;
  readonly bytes: number;
}

async function writeAll(kind: Kind, path: string, workload: Workload, count: number): Promise<WriteResult> {
  let saver: Saver;
  let store: Store | undefined;
  let sqlite: ReturnType<SqliteSaverClass["fromConnString"]> | undefined;
  if (kind === "sqlite") {
    sqlite = (await loadSqliteSaver()).fromConnString(path);
    saver = sqlite;
  } else {
    store = await openStore({ url: `file:${path}`, durability: kind === "cairn-normal" ? "normal" : "full" });
    saver = new CairnSaver(store) as unknown as Saver;
  }
  let config: unknown = { configurable: { thread_id: THREAD, checkpoint_ns: "" } };
  const started = performance.now();
  for (const put of workload.puts.slice(0, count)) {
    config = await saver.put(config, put.checkpoint, put.metadata, put.newVersions);
  }
  const seconds = (performance.now() - started) / 1000;
  if (sqlite) {
    sqlite.db.pragma("wal_checkpoint(TRUNCATE)");
    sqlite.db.close();
  }
  if (store) await store.close(); // merges the WAL
  return { puts: count, seconds, bytes: fileBytes(path) };
}

interface ReadResult {
  readonly getTupleColdMs: number;
  readonly getTupleWarmMs: number;
  readonly listSeconds: number;
  readonly listed: number;
  readonly latestId: string;
}

/** What read-child.mjs prints. */
interface ChildRead extends ChildTimes {
  readonly latestId: string;
  readonly getTupleWarmMs?: number;
  readonly listSeconds?: number;
  readonly listed?: number;
}

/**
 * In a fresh plain-node process (read-child.mjs --reads): getTuple(latest) cold,
 * then warm (median of 5), then a full list().
 */
function readInChild(kind: Kind, path: string): ReadResult {
  const child = spawnSync(process.execPath, [READ_CHILD, kind === "sqlite" ? "sqlite" : "cairn", path, THREAD, "--reads"], {
    cwd: here,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`read child for ${kind} failed (${child.status}): ${child.stderr}`);
  const read = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as ChildRead;
  assertPlainNode(kind, read);
  return { getTupleColdMs: read.firstReadMs!, getTupleWarmMs: read.getTupleWarmMs!, listSeconds: read.listSeconds!, listed: read.listed!, latestId: read.latestId };
}

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} takes a positive integer`);
  return value;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
const ratio = (a: number, b: number) => `${a / b >= 100 ? (a / b).toFixed(0) : (a / b).toFixed(1)}x`;

interface Row {
  workload: string;
  kind: Kind;
  write: WriteResult;
  read: ReadResult;
}

/**
 * --cold-start: the agent workload written by SqliteSaver, by CairnSaver and by
 * cairn's own API (bench/workload-pass.ts, the root bench's 500-turn session), then
 * `runs` rounds of fresh plain-node processes, interleaved, each timed from spawn to
 * exit and split (node start-up, import, open, first read, close) from inside.
 */
async function coldStart(): Promise<void> {
  const steps = argument("steps", 500);
  const runs = argument("runs", 7);
  const jsonAt = process.argv.indexOf("--json");
  const dist = distState();
  const log = (line: string) => process.stderr.write(line + "\n");
  if (dist.newerThanDist.length > 0) log(`warning: ${dist.newerThanDist.length} src files are newer than dist/ (npm run build in the root)`);
  const dir = mkdtempSync(join(tmpdir(), "cairn-bench-langgraph-cold-"));
  try {
    const agent = agentPuts(steps);
    const lastId = agent.puts[agent.puts.length - 1]!.checkpoint.id;
    const paths: Record<"sqlite" | "cairn", string> = { sqlite: join(dir, "sqlite.db"), cairn: join(dir, "cairn-saver.db") };
    const bytes: Record<string, number> = {};
    for (const kind of ["sqlite", "cairn"] as const) {
      process.stderr.write(`${agent.name}: ${kind}: ${steps} puts... `);
      const write = await writeAll(kind, paths[kind], agent, steps);
      bytes[kind] = write.bytes;
      process.stderr.write(`${(write.puts / write.seconds).toFixed(1)} puts/s, ${mb(write.bytes)}\n`);
    }
    const nativePath = join(dir, "cairn.db");
    log(`${agent.name}: cairn openStore/commit: ${steps} commits...`);
    const pass = await writeAgentStore(nativePath, steps, 10);
    bytes.native = fileBytes(nativePath);
    const checkId = (r: ChildTimes | undefined) => {
      if ((r as ChildRead | undefined)?.latestId !== lastId) throw new Error(`getTuple returned ${String((r as ChildRead | undefined)?.latestId)}, expected ${lastId}`);
    };
    const variants: Variant[] = [
      { name: "node -e 0", args: ["-e", "0"] },
      {
        name: "cairn: openStore + session.latest()",
        args: [CHILD, "latest", nativePath, pass.session],
        check: (r) => {
          if (r?.seq !== steps) throw new Error(`latest() returned seq ${String(r?.seq)}, expected ${steps}`);
        },
      },
      { name: "CairnSaver: getTuple()", args: [READ_CHILD, "cairn", paths.cairn, THREAD], cwd: here, check: checkId },
      { name: "SqliteSaver: getTuple()", args: [READ_CHILD, "sqlite", paths.sqlite, THREAD], cwd: here, check: checkId },
    ];
    log(`cold start: ${variants.length} variants x ${runs} fresh plain-node processes, interleaved`);
    const timed = await alternate(variants, runs, log);
    const rows = variants.map((v) => summarize(v.name, timed.get(v.name)!));
    checkDistAfter(dist, log);
    const m = machine();
    const lines = [
      `Cold start, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${m.nproc} CPUs (${m.cpuModel}), load average ${loadavg()[0]!.toFixed(1)}`,
      `${agent.name}; databases: SqliteSaver ${mb(bytes.sqlite!)}, CairnSaver ${mb(bytes.cairn!)}, cairn ${mb(bytes.native!)}; median of ${runs} runs each`,
      distLine(dist),
      "",
      processTable(rows, "first latest/getTuple"),
      "",
    ];
    process.stdout.write(lines.join("\n") + "\n");
    if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ steps, runs, bytes, dist, machine: m, rows }, null, 2));
  } finally {
    if (process.argv.includes("--keep")) process.stderr.write(`kept ${dir}: sqlite.db, cairn-saver.db (thread ${THREAD}), cairn.db (session bench)\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes("--cold-start")) {
    await coldStart();
    return;
  }
  distState(); // the reads run cairn's compiled package: fail early if it is not built
  const steps = argument("steps", 500);
  const sqliteSteps = Math.min(argument("sqlite-steps", steps), steps);
  const small = argument("small", 2000);
  const rounds = argument("rounds", 3);
  const jsonAt = process.argv.indexOf("--json");
  const dir = mkdtempSync(join(tmpdir(), "cairn-bench-langgraph-"));
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const agent = agentPuts(steps);
    const runs: Array<{ workload: Workload; kinds: Kind[] }> = [];
    if (sqliteSteps < steps) {
      notes.push(`SqliteSaver ran the first ${sqliteSteps} of the ${steps} agent steps; CairnSaver ran those and, separately, all ${steps}.`);
      runs.push({ workload: { ...agent, name: `agent (${sqliteSteps} steps)`, puts: agent.puts.slice(0, sqliteSteps) }, kinds: ["sqlite", "cairn"] });
      runs.push({ workload: agent, kinds: ["cairn"] });
    } else {
      runs.push({ workload: agent, kinds: ["sqlite", "cairn", "cairn-normal"] });
    }
    runs.push({ workload: smallPuts(small), kinds: ["sqlite", "cairn", "cairn-normal"] });
    for (let round = 0; round < rounds; round++) {
      for (const { workload, kinds } of runs) {
      // A B A: every other round runs the savers in reverse order, so drift in the machine's load hits each alike.
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        const path = join(dir, `${kind}-${rows.length}.db`);
        const count = workload.puts.length;
        process.stderr.write(`round ${round + 1}/${rounds}: ${workload.name}: ${kind}: ${count} puts... `);
        const write = await writeAll(kind, path, workload, count);
        process.stderr.write(`${(write.puts / write.seconds).toFixed(1)} puts/s; reading in a fresh process... `);
        const read = readInChild(kind, path);
        process.stderr.write(`list ${read.listSeconds.toFixed(2)} s\n`);
        if (read.listed !== count || read.latestId !== workload.puts[count - 1]!.checkpoint.id) {
          throw new Error(`${kind} read back ${read.listed} checkpoints, latest ${read.latestId}`);
        }
        rows.push({ workload: workload.name, kind, write, read });
        rmSync(path, { force: true });
        rmSync(`${path}-wal`, { force: true });
        rmSync(`${path}-shm`, { force: true });
      }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // One row per workload and saver: the median of its rounds, figure by figure.
  const medianRows: Row[] = [];
  for (const row of rows) {
    if (medianRows.some((m) => m.workload === row.workload && m.kind === row.kind)) continue;
    const all = rows.filter((r) => r.workload === row.workload && r.kind === row.kind);
    const mid = (f: (r: Row) => number) => median(all.map(f));
    const puts = row.write.puts;
    medianRows.push({
      workload: row.workload,
      kind: row.kind,
      write: { puts, seconds: puts / mid((r) => r.write.puts / r.write.seconds), bytes: mid((r) => r.write.bytes) },
      read: {
        getTupleColdMs: mid((r) => r.read.getTupleColdMs),
        getTupleWarmMs: mid((r) => r.read.getTupleWarmMs),
        listSeconds: mid((r) => r.read.listSeconds),
        listed: row.read.listed,
        latestId: row.read.latestId,
      },
    });
  }
  const range = (r: Row, f: (r: Row) => number, digits: number) => {
    const all = rows.filter((x) => x.workload === r.workload && x.kind === r.kind).map(f);
    return all.length < 2 ? "" : ` (${Math.min(...all).toFixed(digits)}–${Math.max(...all).toFixed(digits)})`;
  };
  const lines = [
    `LangGraph savers, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}; median of ${rounds} rounds (range), A B A order`,
    "",
    "| workload | saver | puts | puts/s | getTuple(latest) cold | warm | list() all | database |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...medianRows.map(
      (r) =>
        `| ${r.workload} | ${SAVER_NAMES[r.kind]} | ${r.write.puts} | ${(r.write.puts / r.write.seconds).toFixed(1)}${range(r, (x) => x.write.puts / x.write.seconds, 0)} | ` +
        `${r.read.getTupleColdMs.toFixed(1)} ms${range(r, (x) => x.read.getTupleColdMs, 1)} | ${r.read.getTupleWarmMs.toFixed(2)} ms | ` +
        `${r.read.listSeconds.toFixed(2)} s${range(r, (x) => x.read.listSeconds, 2)} | ${mb(r.write.bytes)} |`,
    ),
    "",
  ];
  const byWorkload = new Map<string, Partial<Record<Kind, Row>>>();
  for (const row of medianRows) byWorkload.set(row.workload, { ...byWorkload.get(row.workload), [row.kind]: row });
  for (const [name, pair] of byWorkload) {
    const s = pair.sqlite;
    for (const c of [pair.cairn, pair["cairn-normal"]]) {
      if (!s || !c) continue;
      lines.push(
      `${name}: ${SAVER_NAMES[c.kind]} puts/s ${ratio(c.write.puts / c.write.seconds, s.write.puts / s.write.seconds)}, ` +
        `getTuple ${ratio(s.read.getTupleColdMs, c.read.getTupleColdMs)} faster cold / ${ratio(s.read.getTupleWarmMs, c.read.getTupleWarmMs)} warm, ` +
        `list() ${ratio(s.read.listSeconds, c.read.listSeconds)} faster, database ${ratio(s.write.bytes, c.write.bytes)} smaller`,
      );
    }
  }
  lines.push(...notes);
  process.stdout.write(lines.join("\n") + "\n");
  if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ rounds, medians: medianRows, rows, notes }, null, 2));
}

await main();
