/**
 * Executing a gc plan: retention, then the sweep, each in write transactions of
 * bounded size, each re-checking inside its transaction what it deletes.
 */
import type { MaintenanceStorage, RetentionRule } from "../storage/maintenance-storage.js";
import { PIECE_KINDS } from "./blob-rows.js";

/** What the sweep deleted. */
export interface SweepResult {
  readonly blobs: number;
  readonly storedBytes: number;
  readonly logicalBytes: number;
  readonly edges: number;
  /** Planned blobs left in place: found reachable or young at delete time (or already gone). */
  readonly kept: number;
  readonly transactions: number;
}

/**
 * Deletes the planned history rows, `batch` rows per write transaction.
 * Inside each transaction the retention rule (the call's rules, or the stored
 * policies) is evaluated again against the history as it is then: a row that
 * became the head, moved into the newest `keepLast` because rows were added, was
 * forked from, or whose session had a commit that ends its expiry, is kept.
 * Returns rows and sessions deleted.
 */
export async function dropHistory(
  storage: MaintenanceStorage,
  rows: ReadonlyArray<readonly [string, number]>,
  rule: RetentionRule,
  batch: number,
): Promise<{ rows: number; sessions: number; transactions: number }> {
  let deleted = 0;
  let sessions = 0;
  let transactions = 0;
  for (const part of sessionBatches(rows, batch)) {
    const done = await storage.dropHistory(part, rule);
    deleted += done.rows;
    sessions += done.sessions;
    transactions++;
  }
  return { rows: deleted, sessions, transactions };
}

/**
 * `rows` (by session, then seq) cut into batches of at most `batch` rows that
 * keep each session's rows together where the session fits in one, so an
 * expiring session goes in one transaction (a commit landing meanwhile keeps all
 * of it, not half); a session with more rows than `batch` is cut on its own.
 */
export function sessionBatches(rows: ReadonlyArray<readonly [string, number]>, batch: number): Array<ReadonlyArray<readonly [string, number]>> {
  const out: Array<Array<readonly [string, number]>> = [];
  let current: Array<readonly [string, number]> = [];
  for (let i = 0; i < rows.length; ) {
    let end = i;
    while (end < rows.length && rows[end]![0] === rows[i]![0]) end++;
    const session = rows.slice(i, end);
    if (current.length > 0 && current.length + session.length > batch) {
      out.push(current);
      current = [];
    }
    for (const row of session) {
      current.push(row);
      if (current.length === batch) {
        out.push(current);
        current = [];
      }
    }
    i = end;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Deletes the planned blobs in `order`, `batchSize` per write transaction.
 *
 * 1. Cut the top-down order into batches: every blob's garbage parents are in
 *    its batch or an earlier one.
 * 2. Per batch, one write transaction of the storage floor (sweepBatch): the
 *    re-checking delete, then the deleted blobs' outgoing edges. A blob of the
 *    batch is deleted only if, at that instant, no history row or pin names it,
 *    it is not younger than the cutoff, and every edge into it comes from a blob
 *    deleted with it.
 * 3. Blobs a batch kept are tried again in another pass while a pass makes
 *    progress (a writer that changed the graph meanwhile can leave a parent after
 *    its child); a pass that deletes nothing ends the sweep.
 * `onProgress(done, total)` is awaited after each transaction, and once before the first.
 */
export async function sweep(
  storage: MaintenanceStorage,
  order: readonly number[],
  cutoff: number,
  batchSize: number,
  onProgress: ((done: number, total: number) => unknown) | undefined,
): Promise<SweepResult> {
  const total = order.length;
  const result = { blobs: 0, storedBytes: 0, logicalBytes: 0, edges: 0, kept: 0, transactions: 0 };
  let done = 0;
  await onProgress?.(done, total);
  let pending = order;
  for (let pass = 0; pending.length > 0; pass++) {
    const skipped: number[] = [];
    let deletedThisPass = 0;
    for (let i = 0; i < pending.length; i += batchSize) {
      const batch = pending.slice(i, i + batchSize);
      const swept = await storage.sweepBatch(batch, cutoff);
      result.transactions++;
      const gone = new Set<number>();
      for (const row of swept.deleted) {
        gone.add(row.id);
        result.blobs++;
        result.storedBytes += row.storedSize;
        if (!PIECE_KINDS.includes(row.kind)) result.logicalBytes += row.size;
      }
      result.edges += swept.edges;
      deletedThisPass += gone.size;
      for (const id of batch) if (!gone.has(id)) skipped.push(id);
      if (pass === 0) {
        done += batch.length;
        await onProgress?.(done, total);
      }
    }
    if (deletedThisPass === 0 || skipped.length === 0) {
      result.kept = skipped.length;
      break;
    }
    pending = skipped;
  }
  return result;
}
