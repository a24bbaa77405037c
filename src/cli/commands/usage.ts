/**
 * `cairn du`: where the bytes are. Per session the stored bytes only it reaches
 * (what deleting it and a gc would free) and those it shares, the store's totals,
 * and the largest blobs with the sessions and pins that reach them.
 */
import { InvalidArgumentError, type Command } from "commander";
import type { DuOptions, DuReport, LargeBlob } from "../../index.js";
import { formatBytes } from "../format.js";
import { iso, plural, print, printJson, storeCommand, table, usage, withStore, type StoreCommandOptions } from "./common.js";

/** Sessions and pins named per large blob in the table (the JSON has the library's ten and the counts). */
const REACHERS_SHOWN = 3;

/** An integer from 0 to 1000 (`--top`). */
function parseTop(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 1000) throw new InvalidArgumentError(`expected an integer from 0 to 1000, got ${JSON.stringify(text)}`);
  return n;
}

export function registerUsageCommands(program: Command): void {
  storeCommand(program.command("du"))
    .description("where the bytes are: per session what only it holds (what deleting it and a gc free) and what it shares; the largest blobs and who reaches them")
    .argument("[session]", "only this session (its figures are still exact against the rest of the store)")
    .option("--prefix <prefix>", "only sessions whose id starts with this")
    .option("--top <n>", "how many of the largest blobs to list (0: none)", parseTop, 10)
    .action((session: string | undefined, opts: StoreCommandOptions & { prefix?: string; top: number }) =>
      withStore(opts, async (store) => {
        if (session !== undefined && opts.prefix !== undefined) throw usage("cairn du takes a session or --prefix, not both");
        const options: DuOptions = {
          top: opts.top,
          ...(session === undefined ? {} : { session }),
          ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
        };
        const report = await store.du(options);
        if (opts.json) {
          printJson({ ...report, sessions: report.sessions.map((s) => ({ ...s, lastCommitAt: iso(s.lastCommitAt) })) });
          return;
        }
        print(...describeUsage(report));
      }),
    );
}

/** The report for people: sessions by exclusive bytes (largest first), the totals, the largest blobs. */
export function describeUsage(report: DuReport): string[] {
  const sessions = [...report.sessions].sort((a, b) => b.exclusiveBytes - a.exclusiveBytes || b.sharedBytes - a.sharedBytes || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const lines: string[] = [];
  if (sessions.length === 0) lines.push("no sessions");
  else
    lines.push(
      ...table(
        ["EXCLUSIVE", "SHARED", "CHECKPOINTS", "LAST COMMIT", "SESSION"],
        sessions.map((s) => [formatBytes(s.exclusiveBytes), formatBytes(s.sharedBytes), String(s.checkpoints), s.lastCommitAt?.toISOString() ?? "-", s.id]),
      ),
    );
  const t = report.totals;
  const matched = t.matchedSessions === t.sessions ? plural(t.sessions, "session") : `${t.matchedSessions} of ${plural(t.sessions, "session")}`;
  lines.push(
    "",
    `${matched}, ${plural(t.checkpoints, "checkpoint")}, ${plural(t.pins, "pin")}; ${formatBytes(t.storedBytes)} stored in ${plural(t.blobs, "blob")} ` +
      `(${formatBytes(t.logicalBytes)} logical)`,
    `  reached by history  ${formatBytes(t.historyBytes)}`,
    `  by pins only        ${formatBytes(t.pinnedOnlyBytes)}`,
    `  garbage             ${formatBytes(t.garbageBytes)} in ${plural(t.garbageBlobs, "blob")} (no root reaches it: gc deletes it once older than its grace)`,
  );
  if (report.largest.length > 0) {
    lines.push(
      "",
      ...table(
        ["STORED", "LOGICAL", "KIND", "REF", "REACHED BY"],
        report.largest.map((b) => [formatBytes(b.storedBytes), formatBytes(b.logicalBytes), b.kind, b.ref, reachedBy(b)]),
      ),
    );
  }
  return lines;
}

/** "a, b, c and 4 more sessions; pin p": the first few of each, with the rest counted; "nothing (garbage)" for none. */
function reachedBy(blob: LargeBlob): string {
  const list = (names: readonly string[], count: number, word: string, prefix = "") => {
    const shown = names.slice(0, REACHERS_SHOWN).map((n) => prefix + n);
    return count > shown.length ? `${shown.join(", ")} and ${count - shown.length} more (${plural(count, word)})` : shown.join(", ");
  };
  const parts: string[] = [];
  if (blob.sessionCount > 0) parts.push(list(blob.sessions, blob.sessionCount, "session"));
  if (blob.pinCount > 0) parts.push(list(blob.pins, blob.pinCount, "pin", "pin:"));
  return parts.length === 0 ? "nothing (garbage)" : parts.join("; ");
}
