/**
 * gc(): retention, then mark from the roots along edges, then sweep what no
 * root reaches and is older than the grace period. A dry run returns the plan;
 * a real run returns the same plan and what executing it did.
 */

import type { BlobContext } from "../blob/context.js";
import { isCairnError } from "../errors.js";
import { optionalBoolean, optionalCallback, optionalDuration, optionalInt, optionalTime, optionsObject, since } from "./options.js";
import { planGc, type GcPlan } from "./plan-gc.js";
import { dropHistory, sweep, type SweepResult } from "./sweep.js";

/** Options for {@link gc}. */
export interface GcOptions {
  /** Plan only: report what would go, delete nothing. */
  readonly dryRun?: boolean;
  /**
   * Apply the retention policies stored in the store (`store.retention`) to the
   * sessions they cover. Default true. Ignored for this run when `keepLast` or
   * `olderThan` is given: the call's rules then apply to every session instead.
   */
  readonly policies?: boolean;
  /** Retention: keep the newest N checkpoints (history rows) of each session. At least 1. */
  readonly keepLast?: number;
  /** Retention: drop history rows created before this instant (a Date or epoch ms). */
  readonly olderThan?: Date | number;
  /** Blobs created less than this many ms before the gc started are roots. Default 1 hour. */
  readonly grace?: number;
  /** Blobs per delete transaction. Default 500. */
  readonly batchSize?: number;
  /**
   * Also rewrite the database (SQLite's VACUUM) to return every free page to the
   * file system. Needed once for a store created before schema 4 (SQLite
   * keeps its auto_vacuum=NONE once tables exist); the rewrite switches it
   * over, and later gcs return pages on their own. Takes time in proportion to
   * what the database keeps, and up to that much free disk space meanwhile.
   * Default false.
   */
  readonly compact?: boolean;
  /** Awaited before the first and after each sweep transaction: planned blobs processed of the total. */
  readonly onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** What a real gc did: what its sweep deleted, and the history rows retention dropped. */
export interface GcResult extends SweepResult {
  readonly historyRowsDropped: number;
  /** Sessions removed because a policy expired them (every checkpoint dropped). */
  readonly sessionsDropped: number;
  /** The space the database freed and gave back to the file system. */
  readonly space: SpaceReport;
}

/** What a gc did about space: freed inside the database, and returned to the file system. */
export interface SpaceReport {
  /** Bytes of free pages inside the database after the sweep (what it freed, and any left free before). */
  readonly freeBytes: number;
  /** Bytes the database shrank by: free pages given back to the file system. */
  readonly returnedBytes: number;
  /**
   * How they were given back: "incremental" (the store's auto-vacuum), "rebuild"
   * (`compact`: the database rewritten), or "none" (see `note`).
   */
  readonly method: "incremental" | "rebuild" | "none";
  /** Why nothing was given back, when `method` is "none" and there was free space. */
  readonly note?: string;
  /** The database file and its WAL on disk when the gc started and when it ended (a local file only). */
  readonly fileBytes?: { readonly before: number; readonly after: number };
}

/** What {@link gc} returns: the plan, and (unless a dry run) what executing it did. */
export interface GcReport {
  readonly dryRun: boolean;
  readonly plan: GcPlan;
  readonly result: GcResult | undefined;
  /** Milliseconds per step. */
  readonly timings: { readonly plan: number; readonly retention: number; readonly sweep: number; readonly reclaim: number; readonly total: number };
}

/** The default grace period: one hour. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;
const DEFAULT_BATCH = 500;
const HISTORY_BATCH = 500;

/**
 * Collects garbage: applies retention (the call's `keepLast` / `olderThan`, or
 * else the policies stored in the store), then deletes every blob that no root
 * reaches and that is older than the grace period, then gives the freed pages
 * back to the file system where the store allows it.
 *
 * Roots are history rows (those retention keeps), pins, and blobs created less
 * than `grace` ms before the gc started; everything reachable from a root along
 * edges is kept. The mark is one query of the storage floor over edges; no
 * blob is decoded.
 *
 * Guarantee: never deletes a blob reachable from a root or younger than the
 * grace period, at the instant it is deleted, whatever runs concurrently: each
 * delete transaction re-checks its blobs (no history row or pin names them, no
 * edge reaches them from a blob that stays, not young). Never leaves a stored
 * blob linking to a deleted one, so a commit that finds a blob can rely on all
 * it links to. Retention never drops a session's head, nor a checkpoint a
 * session was forked from (forks made at schema 4 and later record it); only a
 * policy's expiry removes a whole session, when its newest checkpoint is older
 * than `expireAfter` at the start of the gc and still is when its rows are
 * deleted. Transactions are bounded
 * (`batchSize` blobs, 500 history rows). The dry run computes exactly the plan
 * a real run starts from.
 * @throws CairnError INVALID_ARGUMENT (bad options, with nothing read or written), CLOSED, DATABASE.
 */
export async function gc(ctx: BlobContext, options?: GcOptions): Promise<GcReport> {
  const opts = optionsObject<GcOptions>(options, "gc", ["dryRun", "policies", "keepLast", "olderThan", "grace", "batchSize", "compact", "onProgress"]);
  const policies = optionalBoolean("policies", opts.policies) ?? true;
  const compact = optionalBoolean("compact", opts.compact) ?? false;
  const dryRun = optionalBoolean("dryRun", opts.dryRun) ?? false;
  const keepLast = optionalInt("keepLast", opts.keepLast, 1);
  const olderThan = optionalTime("olderThan", opts.olderThan);
  const grace = optionalDuration("grace", opts.grace) ?? DEFAULT_GRACE_MS;
  const batchSize = optionalInt("batchSize", opts.batchSize, 1, 10_000) ?? DEFAULT_BATCH;
  const onProgress = optionalCallback<(done: number, total: number) => void | Promise<void>>("onProgress", opts.onProgress);
  const started = performance.now();

  // 1. Plan: retention rows and the mark, in one snapshot; garbage ordered top-down.
  const work = await planGc(ctx.maintenance, { startedAt: Date.now(), grace, keepLast, olderThan, policies, batchSize, historyBatch: HISTORY_BATCH });
  const planMs = since(started);
  if (dryRun) return { dryRun, plan: work.plan, result: undefined, timings: { plan: planMs, retention: 0, sweep: 0, reclaim: 0, total: since(started) } };
  const fileBytesBefore = (await ctx.maintenance.spaceUsage()).fileBytes;

  // 2. Retention: drop the planned history rows (re-checked in each transaction).
  let t = performance.now();
  const history = await dropHistory(ctx.maintenance, work.dropRows, work.rule, HISTORY_BATCH);
  const retentionMs = since(t);

  // 3. Sweep: delete the garbage top-down in bounded, re-checking transactions.
  t = performance.now();
  const swept = await sweep(ctx.maintenance, work.order, work.plan.cutoff.getTime(), batchSize, onProgress);
  // The writer trusts refs it saw stored recently; none may name a deleted blob now.
  if (swept.blobs > 0) ctx.knownStored.clear();
  const sweepMs = since(t);

  // 4. Space: the freed pages back to the file system.
  t = performance.now();
  const space = await reclaim(ctx, compact, fileBytesBefore);
  return {
    dryRun,
    plan: work.plan,
    result: {
      historyRowsDropped: history.rows,
      sessionsDropped: history.sessions,
      blobs: swept.blobs,
      storedBytes: swept.storedBytes,
      logicalBytes: swept.logicalBytes,
      edges: swept.edges,
      kept: swept.kept,
      transactions: history.transactions + swept.transactions,
      space,
    },
    timings: { plan: planMs, retention: retentionMs, sweep: sweepMs, reclaim: since(t), total: since(started) },
  };
}

/**
 * Gives free pages back: incrementally where the store allows it, by a rebuild
 * when asked (`compact`), else says how. A backend that refuses is reported,
 * not thrown: the gc's deletes are done by then.
 */
async function reclaim(ctx: BlobContext, compact: boolean, fileBytesBefore: number | undefined): Promise<SpaceReport> {
  const before = await ctx.maintenance.spaceUsage();
  const freeBytes = before.freePages * before.pageSize;
  const report = (returnedBytes: number, how: SpaceReport["method"], note: string | undefined, fileBytesAfter: number | undefined): SpaceReport => ({
    freeBytes,
    returnedBytes,
    method: how,
    ...(note === undefined ? {} : { note }),
    ...(fileBytesBefore === undefined || fileBytesAfter === undefined ? {} : { fileBytes: { before: fileBytesBefore, after: fileBytesAfter } }),
  });
  if (before.vacuum === "unavailable") {
    const note = "a libSQL server does not take VACUUM over its protocol (nor does a replica, whose file is the primary's copy): its free pages are reused by later writes";
    return report(0, "none", freeBytes === 0 ? undefined : note, before.fileBytes);
  }
  const method = compact ? "rebuild" : before.vacuum === "incremental" && before.freePages > 0 ? "incremental" : "none";
  if (method === "none") {
    const note =
      freeBytes === 0
        ? undefined
        : "this store was created before schema 4, without incremental vacuum: gc with compact (cairn gc --compact) rewrites it once and returns these pages; later gcs return them on their own";
    return report(0, "none", note, before.fileBytes);
  }
  try {
    await ctx.maintenance.reclaimSpace(method);
  } catch (error) {
    if (!isCairnError(error, "DATABASE")) throw error;
    return report(0, "none", `the database refused to return free pages: ${error.message}`, (await ctx.maintenance.spaceUsage()).fileBytes);
  }
  const after = await ctx.maintenance.spaceUsage();
  return report(Math.max(0, (before.pageCount - after.pageCount) * before.pageSize), method, undefined, after.fileBytes);
}
