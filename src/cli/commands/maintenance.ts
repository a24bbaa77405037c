/**
 * Maintenance commands: verify, gc, stats, export, import.
 */
import type { Command } from "commander";
import type { GcOptions, SpaceReport, VerifyFinding } from "../../index.js";
import { colors, formatBytes, formatMs } from "../format.js";
import {
  collect,
  iso,
  parseAge,
  parseDuration,
  parsePositiveInt,
  plural,
  print,
  printJson,
  progressBar,
  storeCommand,
  table,
  withStore,
  type StoreCommandOptions,
} from "./common.js";

export function registerMaintenanceCommands(program: Command): void {
  storeCommand(program.command("verify"))
    .description("re-hash every blob and check every link, manifest, history row and pin; exit 1 on findings")
    .action((opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const bar = progressBar("verify");
        let report;
        try {
          report = await store.verify({ onProgress: (done, total) => bar.update(done, total) });
        } finally {
          bar.stop();
        }
        if (opts.json) {
          printJson(report);
        } else {
          const c = report.counts;
          const checked = `${c.blobs} blobs (${c.chunkedBlobs} chunked, ${formatBytes(c.bytesHashed)} hashed), ${c.manifests} manifests, ${c.historyRows} history rows, ${c.sessions} sessions, ${c.pins} pins, ${c.edges} edges in ${formatMs(report.timings.total)}`;
          if (report.ok) {
            print(`${colors.green("ok")}: checked ${checked}`);
          } else {
            print(
              `${colors.red(`${report.findings.length} problem${report.findings.length === 1 ? "" : "s"}`)} (checked ${checked}):`,
              ...report.findings.map((f) => `  ${describeFinding(f)}`),
            );
          }
        }
        return report.ok ? 0 : 1;
      }),
    );

  storeCommand(program.command("gc"))
    .description("apply retention, then delete the blobs no session, pin or young blob reaches")
    .option("--dry-run", "only print the plan", false)
    .option("--keep-last <n>", "keep the newest n checkpoints of each session (heads always stay)", parsePositiveInt)
    .option("--older-than <age>", "drop checkpoints older than this (7d, 12h, 30m, or an ISO date); heads always stay", parseAge)
    .option("--grace <duration>", "keep blobs younger than this (default 1h; 0 only when nothing writes meanwhile)", parseDuration)
    .option("--compact", "also rewrite the database file to return every free page (once, for stores made before incremental vacuum)", false)
    .option("--no-policies", "do not apply the stored retention policies (cairn retention) this time")
    .action((opts: StoreCommandOptions & { dryRun: boolean; keepLast?: number; olderThan?: Date; grace?: number; compact: boolean; policies: boolean }) =>
      withStore(opts, async (store) => {
        const bar = progressBar(opts.dryRun ? "plan" : "gc");
        const options: GcOptions = {
          dryRun: opts.dryRun,
          ...(opts.keepLast === undefined ? {} : { keepLast: opts.keepLast }),
          ...(opts.olderThan === undefined ? {} : { olderThan: opts.olderThan }),
          ...(opts.grace === undefined ? {} : { grace: opts.grace }),
          ...(opts.compact ? { compact: true } : {}),
          ...(opts.policies ? {} : { policies: false }),
          onProgress: (done, total) => bar.update(done, total),
        };
        let report;
        try {
          report = await store.gc(options);
        } finally {
          bar.stop();
        }
        const plan = report.plan;
        if (opts.json) {
          printJson({ ...report, plan: { ...plan, startedAt: iso(plan.startedAt), cutoff: iso(plan.cutoff), olderThan: iso(plan.olderThan) } });
          return;
        }
        const rows = Object.entries(plan.byKind).map(([kind, t]) => [kind, String(t.blobs), formatBytes(t.storedBytes), formatBytes(t.logicalBytes)]);
        const kinds = rows.length === 0 ? [] : table(["KIND", "BLOBS", "STORED", "LOGICAL"], rows).map((line) => `  ${line}`);
        const policyRows = Object.entries(plan.byPolicy).map(([name, t]) => [name, String(t.historyRows), String(t.sessions), String(t.expiredSessions)]);
        const policies = policyRows.length === 0 ? [] : table(["RETENTION", "CHECKPOINTS", "SESSIONS", "EXPIRED"], policyRows).map((line) => `  ${line}`);
        if (report.dryRun || !report.result) {
          print(
            `dry run: would drop ${plural(plan.historyRows, "history row")} in ${plural(plan.sessions, "session")} and delete ${plural(plan.blobs, "blob")} ` +
              `(${formatBytes(plan.storedBytes)} stored, ${formatBytes(plan.logicalBytes)} logical); ${plural(plan.liveBlobs, "blob")} stay`,
            ...policies,
            ...kinds,
          );
        } else {
          const r = report.result;
          print(
            `dropped ${plural(r.historyRowsDropped, "history row")}, deleted ${plural(r.blobs, "blob")} (${formatBytes(r.storedBytes)} stored, ${formatBytes(r.logicalBytes)} logical) ` +
              `in ${plural(r.transactions, "transaction")}, ${formatMs(report.timings.total)}; ${plural(plan.liveBlobs + r.kept, "blob")} stay` +
              (r.kept > 0 ? ` (${r.kept} planned blobs kept: written to meanwhile)` : "") +
              (r.sessionsDropped > 0 ? `; ${plural(r.sessionsDropped, "expired session")} removed` : ""),
            ...policies,
            ...kinds,
            describeSpace(r.space),
          );
        }
      }),
    );

  storeCommand(program.command("stats"))
    .description("counts, sizes by kind, dedup and compression ratios (reads no blob bytes)")
    .action((opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const s = await store.stats();
        if (opts.json) {
          printJson(s);
          return;
        }
        const ratio = (r: number | null) => (r === null ? "-" : `${r.toFixed(2)}x`);
        print(
          `sessions     ${s.sessions}`,
          `checkpoints  ${s.checkpoints}`,
          `pins         ${s.pins}`,
          `edges        ${s.edges}`,
          `blobs        ${s.blobs.count} (${formatBytes(s.logicalBytes)} logical, ${formatBytes(s.storedBytes)} stored)`,
          `referenced   ${formatBytes(s.referencedBytes)}`,
          `dedup        ${ratio(s.dedupRatio)}`,
          `compression  ${ratio(s.compressionRatio)}`,
        );
        const rows = Object.entries(s.byKind).map(([kind, t]) => [kind, String(t.count), formatBytes(t.logicalBytes), formatBytes(t.storedBytes)]);
        if (rows.length > 0) print("", ...table(["KIND", "BLOBS", "LOGICAL", "STORED"], rows));
      }),
    );

  storeCommand(program.command("export"))
    .description("write sessions (default: all, with pins) and exactly the blobs they reach to a bundle file")
    .argument("[sessions...]", "the sessions to export; default: every session and the pins")
    .requiredOption("-o, --output <file>", "the bundle file to write (replaced if it exists)")
    .option("--session <id>", "export this session too (repeatable; the same as naming it as an argument)", collect, [])
    .action((named: string[], opts: StoreCommandOptions & { output: string; session: string[] }) =>
      withStore(opts, async (store) => {
        const sessions = [...new Set([...named, ...opts.session])];
        const bar = progressBar("export");
        let result;
        try {
          result = await store.exportBundle({
            to: opts.output,
            ...(sessions.length === 0 ? {} : { sessions }),
            onProgress: (done, total) => bar.update(done, total),
          });
        } finally {
          bar.stop();
        }
        if (opts.json) printJson({ file: opts.output, ...result });
        else
          print(
            `exported ${plural(result.sessions.length, "session")} (${plural(result.historyRows, "history row")}, ${plural(result.pins, "pin")}, ${plural(result.blobs, "blob")}) ` +
              `to ${opts.output}: ${formatBytes(result.bytes)}`,
          );
      }),
    );

  storeCommand(program.command("import"))
    .description("check a bundle whole, then write what the store lacks (idempotent)")
    .argument("<file>", "a bundle written by cairn export")
    .action((file: string, opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const bar = progressBar("import");
        let result;
        try {
          result = await store.importBundle({ from: file, onProgress: (done, total, phase) => bar.update(done, total, phase) });
        } finally {
          bar.stop();
        }
        if (opts.json) printJson({ file, ...result });
        else
          print(
            `imported ${plural(result.sessions.length, "session")} (${result.sessions.join(", ") || "none"}): ${plural(result.historyRows, "history row")}, ` +
              `${plural(result.blobs, "new blob")} (${formatBytes(result.storedBytes)}), ${result.blobsPresent} already present, ${plural(result.pins, "pin")}`,
          );
      }, { create: true }),
    );
}

/** One line for people. */
export function describeFinding(f: VerifyFinding): string {
  const type = colors.red(f.type);
  switch (f.type) {
    case "corrupt-blob":
      return `${type} ${f.ref} (${f.kind}): ${f.reason}${f.actual ? ` (hashes to ${f.actual})` : ""}`;
    case "malformed-chunk-list":
    case "undecodable-manifest":
      return `${type} ${f.ref}: ${f.reason}`;
    case "missing-blob":
      return `${type} ${f.ref}: a ${f.role} of ${f.referencedBy}`;
    case "missing-edge":
    case "extra-edge":
      return `${type} ${f.src} -> ${f.dst}`;
    case "undecodable-value":
      return `${type} ${f.ref} (${f.kind}): ${f.reason}`;
    case "not-a-value":
      return `${type} ${f.ref}, linked as a value by ${f.referencedBy}: ${f.reason}`;
    case "dangling-edge":
      return `${type} ${f.src ?? `#${f.srcId}`} -> ${f.dst ?? `#${f.dstId}`}`;
    case "missing-manifest":
      return `${type} ${f.session}@${f.seq}`;
    case "dangling-pin":
      return `${type} ${f.name}`;
    case "inconsistent-session":
      return `${type} ${f.session}: head ${f.head}, newest row ${f.actualHead}`;
  }
}

/** One line on what a gc did about space: freed in the database, returned to the file system. */
function describeSpace(space: SpaceReport): string {
  const file = space.fileBytes === undefined ? "" : `; the file ${formatBytes(space.fileBytes.before)} -> ${formatBytes(space.fileBytes.after)}`;
  const how = space.method === "rebuild" ? " (database rewritten)" : "";
  const line = `space: ${formatBytes(space.freeBytes)} free in the database, ${formatBytes(space.returnedBytes)} returned to the file system${how}${file}`;
  return space.note === undefined ? line : `${line}\n  ${space.note}`;
}
