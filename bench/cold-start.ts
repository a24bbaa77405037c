/**
 * Part F: cold start. The time from a process's start to the first latest() of
 * the 500-turn session (import + open + read), in fresh processes of plain
 * `node` running the compiled package (dist/, built by `npm run build`), never
 * tsx: this file (which may run under tsx) only spawns them and reads the clock.
 *
 * Also the shared machinery of the cold-start and import-cost figures (here and in
 * bench/langgraph/run.ts): timing whole processes, alternating variants,
 * medians, and the state of dist/ against src/.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { modulesLoaded, type ModulesLoaded } from "./import-cost.js";
import type { WorkloadPassResult } from "./workload-pass.js";
import { dbFiles, freshDir, median, removeDir, ROOT, runChild, type DbFiles } from "./util.js";

/** The process being timed (plain JavaScript, no loader). */
export const CHILD = join(ROOT, "bench/cold-start-child.mjs");

/** What a timed child process printed (bench/cold-start-child.mjs, bench/langgraph/read-child.mjs). */
export interface ChildTimes {
  /** performance.now() at the script's first line: node's own start-up. */
  readonly bootMs?: number;
  readonly importMs?: number;
  readonly openMs?: number;
  /** The first latest() / getTuple(). */
  readonly firstReadMs?: number;
  /** performance.now() right after the first read: process start to first read, as the process sees it. */
  readonly toFirstReadMs?: number;
  readonly closeMs?: number;
  readonly execArgv?: readonly string[];
  readonly nodeOptions?: string;
  readonly [key: string]: unknown;
}

export interface ProcessRun<T> {
  /** Wall time from spawn() to the child's exit, ms, as the parent measures it. */
  readonly wallMs: number;
  /** The last line of its stdout as JSON, if it is a JSON object (the CLI's --help is not). */
  readonly result: T | undefined;
}

/** A command to run in fresh processes. `args` go to `node` as they are. */
export interface Variant<T = ChildTimes> {
  readonly name: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Throws if the run's output is wrong (for example the wrong seq). */
  readonly check?: (result: T | undefined) => void;
}

/** The environment of a timed child: this one's, without NODE_OPTIONS (which could load tsx or anything else). */
function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * Runs `node <args>` (process.execPath, never this process's execArgv, so never
 * tsx) and times it from spawn() to exit.
 */
export function timedProcess<T = ChildTimes>(variant: Variant<T>): Promise<ProcessRun<T>> {
  return new Promise((resolvePromise, reject) => {
    let exitedAt = 0;
    const t0 = performance.now();
    const child = spawn(process.execPath, variant.args, {
      cwd: variant.cwd ?? ROOT,
      env: childEnv(variant.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", () => (exitedAt = performance.now()));
    child.on("close", (code) => {
      const wallMs = (exitedAt || performance.now()) - t0;
      if (code !== 0) {
        reject(new Error(`node ${variant.args.join(" ")} exited with ${code}:\n${stderr}`));
        return;
      }
      const last = stdout.trim().split("\n").pop() ?? "";
      let result: T | undefined;
      if (last.startsWith("{")) {
        try {
          result = JSON.parse(last) as T;
        } catch {
          reject(new Error(`node ${variant.args.join(" ")} printed no JSON:\n${stdout}\n${stderr}`));
          return;
        }
      }
      resolvePromise({ wallMs, result });
    });
  });
}

/** Throws unless the child ran under plain node: no --import / --require / --loader, no NODE_OPTIONS. */
export function assertPlainNode(name: string, result: ChildTimes | undefined): void {
  if (!result) return;
  if ((result.execArgv?.length ?? 0) > 0 || (result.nodeOptions ?? "") !== "") {
    throw new Error(`${name}: the timed process ran with ${JSON.stringify(result.execArgv)} / NODE_OPTIONS=${result.nodeOptions}`);
  }
}

/**
 * Runs every variant `runs` times in fresh processes, interleaved (A B C, B C A,
 * C A B, ...: load drifts hit every variant alike), after one untimed run of
 * each, which warms the OS page cache (node_modules, dist/, the database) the
 * way any earlier process on the machine would have: "cold" means a fresh
 * process, not a cold disk.
 */
export async function alternate<T extends ChildTimes>(
  variants: readonly Variant<T>[],
  runs: number,
  log: (line: string) => void,
): Promise<Map<string, ProcessRun<T>[]>> {
  const out = new Map<string, ProcessRun<T>[]>(variants.map((v) => [v.name, []]));
  const one = async (variant: Variant<T>) => {
    const run = await timedProcess(variant);
    assertPlainNode(variant.name, run.result);
    variant.check?.(run.result);
    return run;
  };
  for (const variant of variants) await one(variant);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length]!;
      out.get(variant.name)!.push(await one(variant));
    }
    log(`  round ${round + 1}/${runs}`);
  }
  return out;
}

/** Medians over a variant's runs. A field a child did not report is undefined. */
export interface ColdStartRow {
  readonly name: string;
  readonly runs: number;
  /** Whole process, spawn to exit (parent's clock). */
  readonly wallMs: number;
  readonly wallMinMs: number;
  readonly wallMaxMs: number;
  readonly bootMs?: number;
  readonly importMs?: number;
  readonly openMs?: number;
  readonly firstReadMs?: number;
  readonly toFirstReadMs?: number;
  readonly closeMs?: number;
  /** Any other numeric field the child reported, by name: its median. */
  readonly extra: Record<string, number>;
}

const KNOWN = ["bootMs", "importMs", "openMs", "firstReadMs", "toFirstReadMs", "closeMs"] as const;

export function summarize(name: string, runs: readonly ProcessRun<ChildTimes>[]): ColdStartRow {
  const wall = runs.map((r) => r.wallMs);
  const field = (key: string): number | undefined => {
    const values = runs.map((r) => r.result?.[key]).filter((v): v is number => typeof v === "number");
    return values.length === runs.length && values.length > 0 ? median(values) : undefined;
  };
  const extra: Record<string, number> = {};
  for (const key of Object.keys(runs[0]?.result ?? {})) {
    if ((KNOWN as readonly string[]).includes(key)) continue;
    const v = field(key);
    if (v !== undefined) extra[key] = v;
  }
  const known = Object.fromEntries(KNOWN.map((k) => [k, field(k)]).filter(([, v]) => v !== undefined)) as Partial<Record<(typeof KNOWN)[number], number>>;
  return { name, runs: runs.length, wallMs: median(wall), wallMinMs: Math.min(...wall), wallMaxMs: Math.max(...wall), ...known, extra };
}

/** What dist/ was built from: the commit, uncommitted changes under src/, and src files newer than the build. */
export interface DistState {
  readonly commit: string;
  /** `git status --short src`, one line per change. */
  readonly srcChanges: string[];
  /** Source files modified after the oldest compiled file: dist/ may not be their build. */
  readonly newerThanDist: string[];
  readonly builtAt: string;
  /** SHA-256 of every compiled .js file (paths and contents), first 16 hex digits: what was measured. */
  readonly contentHash: string;
  /** Set after the run (see {@link checkDistAfter}): dist/ changed while the figures were taken. */
  rebuiltDuringRun?: boolean;
}

/** Marks `before` if dist/'s code changed since it was read (a `npm run build` of changed src mid-run), and logs it. */
export function checkDistAfter(before: DistState, log: (line: string) => void): void {
  let after: DistState | undefined;
  try {
    after = distState();
  } catch {
    // dist/ removed mid-run
  }
  before.rebuiltDuringRun = after?.contentHash !== before.contentHash;
  if (before.rebuiltDuringRun) log(`WARNING: dist/ changed during the run (${before.contentHash} -> ${after?.contentHash ?? "missing"}): rerun for clean figures`);
}

function files(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path, suffix));
    else if (entry.name.endsWith(suffix)) out.push(path);
  }
  return out;
}

/**
 * Checks that dist/ exists (`npm run build`) and reports how it relates to src/.
 * @throws if dist/index.js is missing.
 */
export function distState(): DistState {
  let compiled: string[];
  try {
    compiled = files(join(ROOT, "dist"), ".js");
  } catch {
    compiled = [];
  }
  if (!compiled.includes(join(ROOT, "dist/index.js"))) {
    throw new Error("dist/index.js is missing: run `npm run build` first (the cold-start figures time the compiled package under plain node)");
  }
  const builtAt = Math.min(...compiled.map((f) => statSync(f).mtimeMs));
  const hash = createHash("sha256");
  for (const f of [...compiled].sort()) hash.update(`${relative(ROOT, f)}\0`).update(readFileSync(f)).update("\0");
  const newerThanDist = files(join(ROOT, "src"), ".ts")
    .filter((f) => statSync(f).mtimeMs > builtAt)
    .map((f) => relative(ROOT, f));
  const git = (...args: string[]): string => {
    try {
      return execFileSync("git", ["-C", ROOT, ...args], { encoding: "utf8" }).trimEnd();
    } catch {
      return "";
    }
  };
  return {
    commit: git("log", "-1", "--format=%h %s").replace(/^(\S+) (.{0,60}).*$/, (_, hash: string, subject: string) => `${hash} ("${subject}…")`),
    srcChanges: git("status", "--short", "src").split("\n").filter(Boolean),
    newerThanDist,
    builtAt: new Date(builtAt).toISOString(),
    contentHash: hash.digest("hex").slice(0, 16),
  };
}

/**
 * Writes the agent workload (bench/agent-workload.ts's, profile fast) into
 * session `session` of a new file store at `dbPath`, in a child process, and
 * merges its WAL. Returns the pass's figures.
 */
export function writeAgentStore(dbPath: string, turns: number, toolEvery: number, session = "bench"): Promise<WorkloadPassResult> {
  return runChild<WorkloadPassResult>("bench/workload-pass.ts", [dbPath, "fast", String(turns), String(toolEvery), session, "1"]);
}

export interface ColdStartOptions {
  readonly turns: number;
  readonly toolEvery: number;
  /** Timed processes per variant. */
  readonly runs: number;
  readonly keep: boolean;
}

export interface ColdStartResult {
  readonly turns: number;
  readonly toolEvery: number;
  readonly dbPath: string;
  readonly db: DbFiles;
  /** Size of the state latest() returns. */
  readonly stateBytes: number;
  readonly dist: DistState;
  /** node -e 0; node running the child script with nothing to import; cairn import + openStore + latest(). */
  readonly rows: ColdStartRow[];
  /**
   * The same cairn process with --again: after the first read, a second store
   * handle opens and reads again, code warm and nothing of the state cached
   * (extra.againOpenMs, extra.againReadMs): the first read minus this is the
   * process's first-time cost (compiling and warming the read path).
   */
  readonly again: ColdStartRow;
  /** Everything the cairn process loaded by the time it exits (import, open, latest()): one more run, with bench/module-log.mjs. */
  readonly modules: ModulesLoaded;
}

export const FLOOR = "node -e 0";
export const CHILD_FLOOR = "node, child script, no import";
export const CAIRN_LATEST = "cairn: import + openStore + latest()";

export async function runColdStart(options: ColdStartOptions, log: (line: string) => void): Promise<ColdStartResult> {
  const dist = distState();
  if (dist.newerThanDist.length > 0) log(`F: warning: ${dist.newerThanDist.length} src files are newer than dist/ (run npm run build): ${dist.newerThanDist.slice(0, 5).join(", ")}`);
  const dir = freshDir("coldstart");
  const dbPath = `${dir}/cairn.db`;
  try {
    log(`F: cold start: writing ${options.turns} turns -> ${dbPath}`);
    const pass = await writeAgentStore(dbPath, options.turns, options.toolEvery);
    const db = dbFiles(dbPath);
    const checkSeq = (r: ChildTimes | undefined) => {
      if (r?.seq !== options.turns) throw new Error(`cold start: latest() returned seq ${String(r?.seq)}, expected ${options.turns}`);
    };
    const variants: Variant[] = [
      { name: FLOOR, args: ["-e", "0"] },
      { name: CHILD_FLOOR, args: [CHILD, "import"] },
      { name: CAIRN_LATEST, args: [CHILD, "latest", dbPath, pass.session], check: checkSeq },
    ];
    log(`F: ${variants.length} variants x ${options.runs} fresh processes, interleaved`);
    const runs = await alternate(variants, options.runs, log);
    log(`F: the same with a second store handle (--again) x ${options.runs}`);
    const again = await alternate([{ name: "again", args: [CHILD, "latest", dbPath, pass.session, "--again"], check: checkSeq }], options.runs, log);
    const modules = await modulesLoaded([CHILD, "latest", dbPath, pass.session], false);
    checkDistAfter(dist, log);
    return {
      turns: options.turns,
      toolEvery: options.toolEvery,
      dbPath,
      db,
      stateBytes: pass.finalStateBytes,
      dist,
      rows: variants.map((v) => summarize(v.name, runs.get(v.name)!)),
      again: summarize("again", again.get("again")!),
      modules,
    };
  } finally {
    if (!options.keep) removeDir(dir);
  }
}
