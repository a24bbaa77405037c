/**
 * gc(): retention, then mark from the roots along edges, then sweep what no
 * root reaches and is older than the grace period. A dry run returns the plan;
 * a real run returns the same plan and what executing it did.
 */

import type { BlobContext } from "../blob/context.js";
import { optionalBoolean, optionalCallback, optionalDuration, optionalInt, optionalTime, optionsObject, since } from "./options.js";
import { planGc, type GcPlan } from "./plan-gc.js";
import { dropHistory, sweep, type SweepResult } from "./sweep.js";

/** Options for {@link gc}. */
export interface GcOptions {
  /** Plan only: report what would go, delete nothing. */
  readonly dryRun?: boolean;
  /** Retention: keep the newest N checkpoints (history rows) of each session. At least 1. */
  readonly keepLast?: number;
  /** Retention: drop history rows created before this instant (a Date or epoch ms). */
  readonly olderThan?: Date | number;
  /** Blobs created less than this many ms before the gc started are roots. Default 1 hour. */
  readonly grace?: number;
  /** Blobs per delete transaction. Default 500. */
  readonly batchSize?: number;
  /** Awaited before the first and after each sweep transaction: planned blobs processed of the total. */
  readonly onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** What a real gc did: what its sweep deleted, and the history rows retention dropped. */
export interface GcResult extends SweepResult {
  readonly historyRowsDropped: number;
}

/** What {@link gc} returns: the plan, and (unless a dry run) what executing it did. */
export interface GcReport {
  readonly dryRun: boolean;
  readonly plan: GcPlan;
  readonly result: GcResult | undefined;
  /** Milliseconds per step. */
  readonly timings: { readonly plan: number; readonly retention: number; readonly sweep: number; readonly total: number };
}

/** The default grace period: one hour. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;
const DEFAULT_BATCH = 500;
const HISTORY_BATCH = 500;

/**
 * Collects garbage: applies retention, then deletes every blob that no root
 * reaches and that is older than the grace period.
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
 * it links to. Retention never drops a session's head. Transactions are bounded
 * (`batchSize` blobs, 500 history rows). The dry run computes exactly the plan
 * a real run starts from.
 * @throws CairnError INVALID_ARGUMENT (bad options, with nothing read or written), CLOSED, DATABASE.
 */
export async function gc(ctx: BlobContext, options?: GcOptions): Promise<GcReport> {
  const opts = optionsObject<GcOptions>(options, "gc", ["dryRun", "keepLast", "olderThan", "grace", "batchSize", "onProgress"]);
  const dryRun = optionalBoolean("dryRun", opts.dryRun) ?? false;
  const keepLast = optionalInt("keepLast", opts.keepLast, 1);
  const olderThan = optionalTime("olderThan", opts.olderThan);
  const grace = optionalDuration("grace", opts.grace) ?? DEFAULT_GRACE_MS;
  const batchSize = optionalInt("batchSize", opts.batchSize, 1, 10_000) ?? DEFAULT_BATCH;
  const onProgress = optionalCallback<(done: number, total: number) => void | Promise<void>>("onProgress", opts.onProgress);
  const started = performance.now();

  // 1. Plan: retention rows and the mark, in one snapshot; garbage ordered top-down.
  const work = await planGc(ctx.maintenance, { startedAt: Date.now(), grace, keepLast, olderThan, batchSize, historyBatch: HISTORY_BATCH });
  const planMs = since(started);
  if (dryRun) return { dryRun, plan: work.plan, result: undefined, timings: { plan: planMs, retention: 0, sweep: 0, total: since(started) } };

  // 2. Retention: drop the planned history rows (re-checked in each transaction).
  let t = performance.now();
  const history = await dropHistory(ctx.maintenance, work.dropRows, keepLast, olderThan, HISTORY_BATCH);
  const retentionMs = since(t);

  // 3. Sweep: delete the garbage top-down in bounded, re-checking transactions.
  t = performance.now();
  const swept = await sweep(ctx.maintenance, work.order, work.plan.cutoff.getTime(), batchSize, onProgress);
  // The writer trusts refs it saw stored recently; none may name a deleted blob now.
  if (swept.blobs > 0) ctx.knownStored.clear();
  return {
    dryRun,
    plan: work.plan,
    result: {
      historyRowsDropped: history.rows,
      blobs: swept.blobs,
      storedBytes: swept.storedBytes,
      logicalBytes: swept.logicalBytes,
      edges: swept.edges,
      kept: swept.kept,
      transactions: history.transactions + swept.transactions,
    },
    timings: { plan: planMs, retention: retentionMs, sweep: since(t), total: since(started) },
  };
}
