/**
 * Turning results into text tables for stdout, the project's targets with a
 * met / not met verdict, and the JSON written to bench/results/latest.json.
 */
import type { AgentWorkloadResult } from "./agent-workload.js";
import type { ColdStartResult, ColdStartRow } from "./cold-start.js";
import type { ImportCostResult } from "./import-cost.js";
import { sizeLabel, type BlobCell } from "./single-blobs.js";
import type { Stage } from "./stages.js";
import { MiB, type Machine } from "./util.js";

export interface Results {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly options: Record<string, unknown>;
  readonly machine: Machine;
  readonly workload: readonly AgentWorkloadResult[];
  readonly blobs: readonly BlobCell[];
  readonly stages: readonly Stage[];
  readonly coldStart?: ColdStartResult;
  readonly importCost?: ImportCostResult;
  readonly targets: readonly TargetCheck[];
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** A plain text table with right-aligned numeric columns. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,]+( ?[%x]| ?[kMG]?i?B| ms| MB\/s)?$|^n\/a$/.test(r[i] ?? "")));
  const fmt = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}

export const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " ms";
export const num = (v: number, digits = 1): string => v.toFixed(digits);
export function bytes(v: number): string {
  if (v >= 1024 ** 3) return `${(v / 1024 ** 3).toFixed(2)} GiB`;
  if (v >= MiB) return `${(v / MiB).toFixed(2)} MiB`;
  if (v >= 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${v} B`;
}

export function targets(workload: readonly AgentWorkloadResult[], blobs: readonly BlobCell[], importCost?: ImportCostResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const main = workload.find((w) => w.profile === "fast") ?? workload[0];
  if (main) {
    const turns = `${main.turns}-turn workload, profile ${main.profile}`;
    out.push({ target: `>= 200 commits/s (${turns})`, measured: `${num(main.commitsPerSecond)} commits/s`, met: main.commitsPerSecond >= 200 });
    out.push({
      target: `database no larger than the unique payload (${turns})`,
      measured: `${bytes(main.db.total)} for ${bytes(main.uniquePayloadBytes)} (${num(main.dbOverUnique, 2)}x)`,
      met: main.dbOverUnique <= 1,
    });
    out.push({ target: "latest() within 20 ms, warm (median)", measured: ms(main.latestWarm.p50), met: main.latestWarm.p50 <= 20 });
    out.push({ target: "latest() within 20 ms, cold (first read of a fresh process)", measured: ms(main.coldFirstLatestMs), met: main.coldFirstLatestMs <= 20 });
    out.push({ target: `history() of ${main.historyRows} rows within 10 ms (median)`, measured: ms(main.history.p50), met: main.history.p50 <= 10 });
  }
  for (const kind of ["random", "text"] as const) {
    const put = blobs.find((c) => c.profile === "fast" && c.kind === kind && c.size === MiB && c.op === "put");
    const get = blobs.find((c) => c.profile === "fast" && c.kind === kind && c.size === MiB && c.op === "get");
    if (put) out.push({ target: `1 MiB put >= 125 MB/s (${kind})`, measured: `${num(put.mbPerSecond)} MB/s`, met: put.mbPerSecond >= 125 });
    if (get) out.push({ target: `verified 1 MiB get >= 400 MB/s (${kind})`, measured: `${num(get.mbPerSecond)} MB/s`, met: get.mbPerSecond >= 400 });
  }
  const entry = importCost?.subpaths.find((s) => s.subpath === ".");
  if (entry) {
    out.push({
      target: "import of the main entry loads no diff library, CLI, adapter or maintenance code",
      measured: entry.modules.unwanted.length === 0 ? "none loaded" : `loads ${entry.modules.unwanted.join(", ")}`,
      met: entry.modules.unwanted.length === 0,
    });
  }
  return out;
}

export function render(results: Results): string {
  const m = results.machine;
  const parts: string[] = [];
  parts.push(
    `Machine: ${m.cpuModel}, nproc ${m.nproc}, SHA extensions: ${m.shaExtensions ? "yes" : "no"}, ${m.memGiB} GiB RAM\n` +
      `Runtime: node ${m.node}, @libsql/client ${m.libsqlClient}, ${m.os}; temp dir ${m.tmpdir}`,
  );

  if (results.workload.length > 0) {
    const w0 = results.workload[0]!;
    parts.push(
      `A. Agent workload: ${w0.turns} turns, tool call every ${w0.toolEvery} turns (` +
        Object.entries(w0.toolEvents).map(([k, v]) => `${k} ${v}`).join(", ") +
        `), one session, file store`,
    );
    parts.push(
      table(
        ["profile", "commits/s", "loop", "p50", "p99", "max", "unique payload", "logical", "db on disk", "db/unique", "logical/db"],
        results.workload.map((w) => [
          w.profile,
          num(w.commitsPerSecond),
          ms(w.commitLoopMs),
          ms(w.commit.p50),
          ms(w.commit.p99),
          ms(w.commit.max),
          bytes(w.uniquePayloadBytes),
          bytes(w.logicalBytes),
          bytes(w.db.total),
          `${num(w.dbOverUnique, 2)}x`,
          `${num(w.logicalOverDb, 0)}x`,
        ]),
      ),
    );
    parts.push(
      table(
        ["profile", "blobs written", "bytes written", "db main file", "db -wal"],
        results.workload.map((w) => [w.profile, String(w.blobsWritten), bytes(w.bytesWritten), bytes(w.db.main), bytes(w.db.wal)]),
      ),
    );
    parts.push(`B/C. Reads of the ${w0.turns}-turn session (warm: same process, after the commits, median of ${w0.latestWarm.n}; cold: median over ${w0.cold.length} fresh processes)`);
    parts.push(
      table(
        ["profile", "state", "latest warm 1st", "latest warm p50", "latest cold 1st", "cold next p50", "cold uncached p50", "open cold", "history p50", "history 1st", "history cold 1st"],
        results.workload.map((w) => [
          w.profile,
          bytes(w.finalStateBytes),
          ms(w.latestWarmFirstMs),
          ms(w.latestWarm.p50),
          ms(w.coldFirstLatestMs),
          ms(w.coldNextLatestMs),
          ms(w.coldUncachedLatestMs),
          ms(w.coldOpenMs),
          ms(w.history.p50),
          ms(w.historyFirstMs),
          ms(w.coldFirstHistoryMs),
        ]),
      ),
    );
  }

  if (results.blobs.length > 0) {
    parts.push("D. Single blobs: logical MB/s (10^6 B/s), a fresh payload per put; every get re-hashes the blob");
    const keys = [...new Set(results.blobs.map((c) => `${c.profile}|${c.kind}|${c.size}`))];
    parts.push(
      table(
        ["profile", "payload", "size", "put MB/s", "put ms/op", "get MB/s", "get ms/op"],
        keys.map((key) => {
          const [profile, kind, size] = key.split("|");
          const find = (op: string) => results.blobs.find((c) => `${c.profile}|${c.kind}|${c.size}` === key && c.op === op);
          const put = find("put");
          const get = find("get");
          return [
            profile!,
            kind!,
            sizeLabel(Number(size)),
            put ? num(put.mbPerSecond) : "n/a",
            put ? ms(put.msPerOp) : "n/a",
            get ? num(get.mbPerSecond) : "n/a",
            get ? ms(get.msPerOp) : "n/a",
          ];
        }),
      ),
    );
  }

  if (results.stages.length > 0) {
    parts.push("E. Stages of a 1 MiB put / get, each timed alone (median of 5 rounds; slowest-fastest round)");
    parts.push(
      table(
        ["stage", "ms per call", "MB/s", "rounds MB/s", "note"],
        results.stages.map((s) => [s.what, ms(s.msPerCall), num(s.mbPerSecond), `${num(s.mbPerSecondRange[0], 0)}-${num(s.mbPerSecondRange[1], 0)}`, s.note ?? ""]),
      ),
    );
  }

  if (results.coldStart) parts.push(...renderColdStart(results.coldStart));
  if (results.importCost) parts.push(...renderImportCost(results.importCost));

  if (results.targets.length > 0) {
    parts.push("Targets");
    parts.push(table(["target", "measured", "met"], results.targets.map((t) => [t.target, t.measured, t.met ? "yes" : "NO"])));
  }
  parts.push(`Total ${results.durationSeconds.toFixed(0)} s`);
  return parts.join("\n\n") + "\n";
}

const opt = (v: number | undefined): string => (v === undefined ? "" : ms(v));

/** Rows of timed processes: whole process and, where the child reported it, its split. */
export function processTable(rows: readonly ColdStartRow[], readLabel = "first read"): string {
  return table(
    ["process", "runs", "whole process", "min-max", "node start-up", "import", "open", readLabel, "start to 1st read", "close"],
    rows.map((r) => [
      r.name,
      String(r.runs),
      ms(r.wallMs),
      `${r.wallMinMs.toFixed(0)}-${r.wallMaxMs.toFixed(0)}`,
      opt(r.bootMs),
      opt(r.importMs),
      opt(r.openMs),
      opt(r.firstReadMs),
      opt(r.toFirstReadMs),
      opt(r.closeMs),
    ]),
  );
}

export function distLine(d: { commit: string; srcChanges: readonly string[]; newerThanDist: readonly string[]; builtAt: string; contentHash: string; rebuiltDuringRun?: boolean }): string {
  return (
    `dist/ (code ${d.contentHash}) built ${d.builtAt} at commit ${d.commit}` +
    (d.srcChanges.length ? `, with ${d.srcChanges.length} uncommitted changes under src/` : "") +
    (d.newerThanDist.length ? `; WARNING: ${d.newerThanDist.length} src files are newer than dist/ (npm run build)` : "") +
    (d.rebuiltDuringRun ? "; WARNING: dist/ changed during the run" : "")
  );
}

export function renderColdStart(c: ColdStartResult): string[] {
  const cairn = c.rows[c.rows.length - 1]!;
  const againOpen = c.again.extra.againOpenMs;
  const againRead = c.again.extra.againReadMs;
  return [
    `F. Cold start: fresh plain-node processes, compiled dist/, median of ${cairn.runs} interleaved runs; ` +
      `first latest() of the ${c.turns}-turn session (${bytes(c.stateBytes)} of state, database ${bytes(c.db.total)})\n${distLine(c.dist)}`,
    processTable(c.rows, "first latest()"),
    `Same process, a second store handle after the first read (code warm, nothing of the state cached): open ${opt(againOpen)}, latest() ${opt(againRead)}` +
      (againRead !== undefined && c.again.firstReadMs !== undefined
        ? `; the first latest() of those runs took ${ms(c.again.firstReadMs)}` +
          (c.again.firstReadMs > againRead
            ? `, so about ${ms(c.again.firstReadMs - againRead)} of it is the process's first pass through the read path (compiling, warming, a young heap)`
            : ", so no measurable part of it is first-time cost")
        : ""),
    `Loaded by the cairn process (import, open, latest()): ${
      Object.entries(c.modules.packages)
        .map(([name, n]) => `${name} (${n})`)
        .join(", ") || "no package"
    }${c.modules.native.length ? `; native: ${c.modules.native.join(", ")}` : ""}; ${c.modules.ownFiles} cairn files`,
  ];
}

export function renderImportCost(g: ImportCostResult): string[] {
  const packages = (p: Record<string, number>) =>
    Object.entries(p)
      .map(([name, n]) => `${name} (${n})`)
      .join(", ") || "none";
  const own = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([name, n]) => `${name} ${n}`)
      .join(", ");
  return [
    `G. Import cost of each entry: fresh plain-node processes, median of ${g.nodeFloor.runs} interleaved runs\n${distLine(g.dist)}\n` +
      `Floors: node -e 0 ${ms(g.nodeFloor.wallMs)} whole process; the child script importing nothing ${ms(g.childFloor.wallMs)}; ` +
      `importing an empty module ${opt(g.emptyModule.importMs)} (${ms(g.emptyModule.wallMs)} whole process)`,
    table(
      ["entry", "file", "import", "whole process", "node_modules packages", "cairn files", "unwanted"],
      g.subpaths.map((s) => [
        s.specifier,
        s.file.replace(/^\.\//, ""),
        s.subpath === "cli" ? "n/a" : opt(s.row.importMs),
        ms(s.row.wallMs),
        String(Object.values(s.modules.packages).reduce((a, b) => a + b, 0)) + " files",
        String(s.modules.ownFiles),
        s.modules.unwanted.join(", ") || (s.subpath === "." ? "none" : ""),
      ]),
    ),
    ...g.subpaths.map(
      (s) =>
        `${s.specifier}: ${packages(s.modules.packages)}` +
        (s.modules.native.length ? `; native: ${s.modules.native.join(", ")}` : "") +
        `; cairn: ${own(s.modules.own)}; node: ${s.modules.builtins.join(" ")}`,
    ),
    "Each runtime dependency imported alone (the package and everything it loads)",
    table(
      ["dependency", "import", "whole process"],
      g.dependencies.map((d) => [d.name, opt(d.importMs), ms(d.wallMs)]),
    ),
  ];
}
