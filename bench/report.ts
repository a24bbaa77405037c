/**
 * Turning results into text tables for stdout, the project's targets with a
 * met / not met verdict, and the JSON written to bench/results/latest.json.
 */
import type { AgentWorkloadResult } from "./agent-workload.js";
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

export function targets(workload: readonly AgentWorkloadResult[], blobs: readonly BlobCell[]): TargetCheck[] {
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

  if (results.targets.length > 0) {
    parts.push("Targets");
    parts.push(table(["target", "measured", "met"], results.targets.map((t) => [t.target, t.measured, t.met ? "yes" : "NO"])));
  }
  parts.push(`Total ${results.durationSeconds.toFixed(0)} s`);
  return parts.join("\n\n") + "\n";
}
