/**
 * cairn's benchmarks. `npm run bench` (or `npx tsx bench/run.ts`).
 *
 *   --turns N        turns of the agent workload (default 500; 100 with --quick)
 *   --tool-every N   a tool call every N turns (default 10)
 *   --seconds S      target seconds per single-blob cell and per stage (default 1.2; 0.2 with --quick)
 *   --quick          a smoke run: fewer turns, shorter cells, one cold process, 3 runs per cold-start variant
 *   --only LIST      comma-separated parts to run: workload, blobs, stages, coldstart, imports (default all)
 *   --runs N         fresh processes per variant in coldstart and imports (default 7)
 *   --build          run `npm run build` first (coldstart and imports time the compiled dist/)
 *   --keep           keep the temp databases (their paths are in the JSON)
 *   --out PATH       where to write the JSON (default bench/results/latest.json)
 *   --store JSON     extra openStore options for the agent workload, e.g.
 *                    '{"chunkAbove":32768,"chunking":{"min":2048,"avg":8192,"max":65536}}'
 *
 * Prints tables to stdout and writes every figure as JSON.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import { runAgentWorkload, type AgentWorkloadResult } from "./agent-workload.js";
import { distState, runColdStart, type ColdStartResult } from "./cold-start.js";
import { runImportCost, type ImportCostResult } from "./import-cost.js";
import { render, targets, type Results } from "./report.js";
import { runSingleBlobs, type BlobCell } from "./single-blobs.js";
import { runStages, type Stage } from "./stages.js";
import { KiB, machine, MiB, ROOT } from "./util.js";

interface Args {
  turns: number;
  toolEvery: number;
  seconds: number;
  quick: boolean;
  only: Set<string>;
  runs: number;
  build: boolean;
  keep: boolean;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const quick = argv.includes("--quick");
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${name} needs a value`);
    return v;
  };
  const number = (name: string, fallback: number): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
    return n;
  };
  const known = new Set(["--quick", "--keep", "--build", "--turns", "--tool-every", "--seconds", "--only", "--runs", "--out", "--store"]);
  const store = value("--store");
  if (store !== undefined) {
    JSON.parse(store);
    process.env.CAIRN_BENCH_STORE = store; // read by the workload passes, which inherit the environment
  }
  for (const a of argv) if (a.startsWith("--") && !known.has(a)) throw new Error(`unknown option ${a}`);
  const parts = ["workload", "blobs", "stages", "coldstart", "imports"];
  const only = new Set((value("--only") ?? parts.join(",")).split(",").map((s) => s.trim()));
  for (const part of only) if (!parts.includes(part)) throw new Error(`--only: unknown part ${part}`);
  return {
    turns: Math.floor(number("--turns", quick ? 100 : 500)),
    toolEvery: Math.floor(number("--tool-every", 10)),
    seconds: number("--seconds", quick ? 0.2 : 1.2),
    quick,
    only,
    runs: Math.floor(number("--runs", quick ? 3 : 7)),
    build: argv.includes("--build"),
    keep: argv.includes("--keep"),
    out: resolve(value("--out") ?? resolve(ROOT, "bench/results/latest.json")),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  const m = machine();
  log(`${m.cpuModel}, nproc ${m.nproc}, node ${m.node}`);
  if (args.build) {
    log("npm run build");
    execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }
  if (args.only.has("coldstart") || args.only.has("imports")) distState(); // fails now, not after the other parts, if dist/ is not built

  let workload: AgentWorkloadResult[] = [];
  if (args.only.has("workload")) {
    workload = await runAgentWorkload(
      {
        turns: args.turns,
        toolEvery: args.toolEvery,
        profiles: ["fast", "none"],
        repeats: 20,
        coldProcesses: args.quick ? 1 : 3,
        keep: args.keep,
      },
      log,
    );
  }

  let stages: Stage[] = [];
  if (args.only.has("stages")) {
    log("E: stages of a 1 MiB put");
    stages = await runStages(Math.min(args.seconds, 1), args.keep);
  }

  let blobs: BlobCell[] = [];
  if (args.only.has("blobs")) {
    blobs = await runSingleBlobs(
      { profiles: ["fast", "none"], sizes: [KiB, 64 * KiB, MiB], kinds: ["random", "text"], seconds: args.seconds, keep: args.keep },
      log,
    );
  }

  let coldStart: ColdStartResult | undefined;
  if (args.only.has("coldstart")) {
    coldStart = await runColdStart({ turns: args.turns, toolEvery: args.toolEvery, runs: args.runs, keep: args.keep }, log);
  }

  let importCost: ImportCostResult | undefined;
  if (args.only.has("imports")) importCost = await runImportCost({ runs: args.runs }, log);

  const results: Results = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    options: { turns: args.turns, toolEvery: args.toolEvery, seconds: args.seconds, quick: args.quick, only: [...args.only], runs: args.runs },
    machine: m,
    workload,
    blobs,
    stages,
    coldStart,
    importCost,
    targets: targets(workload, blobs, importCost),
  };
  process.stdout.write("\n" + render(results));
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${args.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
