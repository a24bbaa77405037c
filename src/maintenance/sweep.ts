/**
 * Executing a gc plan: retention, then the sweep, each in write transactions of
 * bounded size, each re-checking inside its transaction what it deletes.
 */
import type { Database } from "../storage/libsql/database.js";
import { PIECE_KINDS } from "./blob-rows.js";
import { dropsRow } from "./plan-gc.js";

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
 * Inside each transaction the retention rule is evaluated again against the
 * history as it is then: a row that became the head, or moved into the newest
 * `keepLast` because rows were added, is kept. Returns rows deleted.
 */
export async function dropHistory(
  db: Database,
  rows: ReadonlyArray<readonly [string, number]>,
  keepLast: number | undefined,
  olderThan: number | undefined,
  batch: number,
): Promise<{ rows: number; transactions: number }> {
  let deleted = 0;
  let transactions = 0;
  for (let i = 0; i < rows.length; i += batch) {
    const part = JSON.stringify(rows.slice(i, i + batch));
    const [result] = await db.writeBatch([
      {
        sql: `DELETE FROM history WHERE (session, seq) IN (
                SELECT r.session, r.seq FROM (
                  SELECT session, seq, created_at, ROW_NUMBER() OVER (PARTITION BY session ORDER BY seq DESC) AS rank
                  FROM history WHERE session IN (SELECT DISTINCT value ->> 0 FROM json_each(?3))) AS r
                WHERE ${dropsRow("r")} AND (r.session, r.seq) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?3)))`,
        args: [keepLast ?? null, olderThan ?? null, part],
      },
    ]);
    deleted += result!.rowsAffected;
    transactions++;
  }
  return { rows: deleted, transactions };
}

/**
 * The delete of one batch, in one statement inside the write transaction:
 * a blob of the batch is deleted only if, at this instant, no history row or pin
 * names it, it is not younger than the cutoff, and every edge into it comes from
 * a blob deleted with it. `kept` is the fixpoint: the batch members that fail a
 * check, and every batch member reachable from them along edges.
 * ?1 = the batch's ids (JSON), ?2 = the cutoff (created_at above it is young).
 */
const DELETE_BATCH = `WITH RECURSIVE
  batch(id) AS (SELECT value FROM json_each(?1)),
  kept(id) AS (
    SELECT b.id FROM blobs b WHERE b.id IN (SELECT id FROM batch) AND b.created_at > ?2
    UNION SELECT h.manifest FROM history h WHERE h.manifest IN (SELECT id FROM batch)
    UNION SELECT p.blob FROM pins p WHERE p.blob IN (SELECT id FROM batch)
    UNION SELECT e.dst FROM edges e WHERE e.dst IN (SELECT id FROM batch) AND e.src NOT IN (SELECT id FROM batch)
    UNION SELECT e.dst FROM kept k JOIN edges e ON e.src = k.id WHERE e.dst IN (SELECT id FROM batch))
DELETE FROM blobs WHERE id IN (SELECT id FROM batch) AND id NOT IN (SELECT id FROM kept)
RETURNING id, kind, size, stored_size`;

/** The edges of the batch's deleted blobs (by source id: a key range each). */
const DELETE_EDGES = `DELETE FROM edges WHERE src IN (SELECT value FROM json_each(?1)) AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = edges.src)`;

/**
 * Deletes the planned blobs in `order`, `batchSize` per write transaction.
 *
 * 1. Cut the top-down order into batches: every blob's garbage parents are in
 *    its batch or an earlier one.
 * 2. Per batch, one write transaction: the re-checking delete (see DELETE_BATCH),
 *    then the deleted blobs' outgoing edges.
 * 3. Blobs a batch kept are tried again in another pass while a pass makes
 *    progress (a writer that changed the graph meanwhile can leave a parent after
 *    its child); a pass that deletes nothing ends the sweep.
 * `onProgress(done, total)` is awaited after each transaction, and once before the first.
 */
export async function sweep(
  db: Database,
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
      const ids = JSON.stringify(batch);
      const [blobs, edges] = await db.writeBatch([
        { sql: DELETE_BATCH, args: [ids, cutoff] },
        { sql: DELETE_EDGES, args: [ids] },
      ]);
      result.transactions++;
      const gone = new Set<number>();
      for (const row of blobs!.rows) {
        gone.add(Number(row[0]));
        result.blobs++;
        result.storedBytes += Number(row[3]);
        if (!PIECE_KINDS.includes(String(row[1]))) result.logicalBytes += Number(row[2]);
      }
      result.edges += edges!.rowsAffected;
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
