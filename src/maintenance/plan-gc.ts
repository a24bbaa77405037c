/**
 * Planning a gc: which history rows retention drops, and which blobs are
 * unreachable from every root once they are gone, in the order they may be
 * deleted (every blob after all unreachable blobs that link to it).
 */
import type { MaintenanceStorage, RetentionRule } from "../storage/maintenance-storage.js";
import { PIECE_KINDS } from "./blob-rows.js";
import { topologicalOrder } from "./topological.js";

/** Rows and bytes of a group of blobs a gc removes. */
export interface GcTotals {
  readonly blobs: number;
  /** Bytes the rows hold. */
  readonly storedBytes: number;
  /** Logical sizes of the removed blobs other than chunk pieces (each piece is part of a chunked blob's size). */
  readonly logicalBytes: number;
}

/** What a gc will do: returned as is by a dry run, and executed (with re-checks) by a real one. */
export interface GcPlan {
  readonly startedAt: Date;
  /** Blobs created after this instant (startedAt - grace) are roots. */
  readonly cutoff: Date;
  /** The grace period, ms. */
  readonly grace: number;
  readonly keepLast: number | undefined;
  readonly olderThan: Date | undefined;
  /** Whether the stored retention policies apply (the call gave neither keepLast nor olderThan, and did not turn them off). */
  readonly policies: boolean;
  /** History rows retention drops. */
  readonly historyRows: number;
  /** Sessions that lose history rows (never their head, unless a policy expires the whole session). */
  readonly sessions: number;
  /** Sessions a policy expires: every checkpoint dropped, and the session removed. */
  readonly expiredSessions: number;
  /** What each stored policy drops, by its scope ("default", "session:<id>", "prefix:<p>"); the call's own rules are "gc options". */
  readonly byPolicy: Readonly<Record<string, { readonly sessions: number; readonly historyRows: number; readonly expiredSessions: number }>>;
  /** Unreachable blobs older than the grace period: what the sweep deletes, all kinds together. */
  readonly blobs: number;
  readonly storedBytes: number;
  readonly logicalBytes: number;
  readonly byKind: Readonly<Record<string, GcTotals>>;
  /** Blobs that stay (reachable from a root, or young). */
  readonly liveBlobs: number;
  /** Write transactions the sweep needs (retention and blobs). */
  readonly transactions: number;
}

/** A plan and the work behind it. */
export interface GcWork {
  readonly plan: GcPlan;
  /** History rows to drop, [session, seq]. */
  readonly dropRows: ReadonlyArray<readonly [string, number]>;
  /** The rule the plan was made with (dropHistory re-checks each row against it). */
  readonly rule: RetentionRule;
  /** Unreachable blob ids, each after every unreachable blob that links to it. */
  readonly order: readonly number[];
}

export interface GcSettings {
  readonly startedAt: number;
  readonly grace: number;
  readonly keepLast: number | undefined;
  readonly olderThan: number | undefined;
  readonly policies: boolean;
  readonly batchSize: number;
  readonly historyBatch: number;
}

/**
 * Plans a gc.
 *
 * 1. In one read transaction (the storage floor's mark): the history rows
 *    retention drops, and the blobs no root (history rows retention keeps, pins,
 *    blobs created after the cutoff) reaches along edges: the garbage.
 * 2. Read the edges among garbage (by source id, a key lookup) and order the
 *    garbage so every blob comes after every garbage blob linking to it (Kahn's
 *    algorithm; a cycle, impossible for content-addressed links, goes last).
 * Nothing is decoded: the plan follows edges only.
 */
export async function planGc(storage: MaintenanceStorage, settings: GcSettings): Promise<GcWork> {
  const cutoff = settings.startedAt - settings.grace;
  // 1. Retention and mark, one snapshot.
  const rule: RetentionRule = { keepLast: settings.keepLast, olderThan: settings.olderThan, policies: settings.policies, now: settings.startedAt };
  const { dropRows, dropScopes, expired, garbage, blobs } = await storage.mark(rule, cutoff);
  const expiredSet = new Set(expired);
  const byPolicy: Record<string, { sessions: number; historyRows: number; expiredSessions: number }> = {};
  const sessionsByPolicy = new Map<string, Set<string>>();
  dropRows.forEach(([session], i) => {
    const name = policyName(dropScopes[i] ?? null);
    const totals = (byPolicy[name] ??= { sessions: 0, historyRows: 0, expiredSessions: 0 });
    totals.historyRows++;
    const seen = sessionsByPolicy.get(name) ?? new Set<string>();
    sessionsByPolicy.set(name, seen);
    if (!seen.has(session)) {
      seen.add(session);
      totals.sessions++;
      if (expiredSet.has(session)) totals.expiredSessions++;
    }
  });
  const ids: number[] = [];
  const byKind: Record<string, { blobs: number; storedBytes: number; logicalBytes: number }> = {};
  let storedBytes = 0;
  let logicalBytes = 0;
  for (const row of garbage) {
    const kind = row.kind;
    const logical = PIECE_KINDS.includes(kind) ? 0 : row.size;
    const stored = row.storedSize;
    ids.push(row.id);
    const totals = (byKind[kind] ??= { blobs: 0, storedBytes: 0, logicalBytes: 0 });
    totals.blobs++;
    totals.storedBytes += stored;
    totals.logicalBytes += logical;
    storedBytes += stored;
    logicalBytes += logical;
  }
  // 2. Order: parents before children.
  const order = await topDown(storage, ids);
  const plan: GcPlan = {
    startedAt: new Date(settings.startedAt),
    cutoff: new Date(cutoff),
    grace: settings.grace,
    keepLast: settings.keepLast,
    olderThan: settings.olderThan === undefined ? undefined : new Date(settings.olderThan),
    policies: settings.policies && settings.keepLast === undefined && settings.olderThan === undefined,
    historyRows: dropRows.length,
    sessions: new Set(dropRows.map(([session]) => session)).size,
    expiredSessions: expired.length,
    // The default first, then by name.
    byPolicy: Object.fromEntries(Object.entries(byPolicy).sort(([a], [b]) => (a === "default" ? -1 : b === "default" ? 1 : a < b ? -1 : a > b ? 1 : 0))),
    blobs: ids.length,
    storedBytes,
    logicalBytes,
    byKind,
    liveBlobs: blobs - ids.length,
    transactions: Math.ceil(dropRows.length / settings.historyBatch) + Math.ceil(ids.length / settings.batchSize),
  };
  return { plan, dropRows, rule, order };
}

/** How a plan names a stored policy's scope: "default", "session:<id>", "prefix:<p>"; the call's own rules: "gc options". */
export function policyName(scope: string | null): string {
  if (scope === null) return "gc options";
  if (scope === "") return "default";
  return scope.startsWith("s:") ? `session:${scope.slice(2)}` : `prefix:${scope.slice(2)}`;
}

/** `ids` ordered so each comes after every id in `ids` that has an edge to it. */
async function topDown(storage: MaintenanceStorage, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  // Edges go from the linking blob to the linked one: parents first. A cycle (impossible) goes last.
  const { order, cyclic } = topologicalOrder(ids, await storage.edgesFromIds(ids));
  return [...order, ...cyclic];
}
