/**
 * stats(): what the store holds and how much sharing and compression save,
 * computed in SQL without reading any blob's bytes.
 */
import { Encoding } from "../blob/blob-writer.js";
import { CONTEXT, type Store } from "../store.js";
import { PIECE_KINDS, PIECE_KINDS_SQL } from "./blob-rows.js";

/** Rows and bytes of a group of blobs. */
export interface BlobTotals {
  /** Rows. */
  readonly count: number;
  /** Sum of the rows' logical sizes (`size`). */
  readonly logicalBytes: number;
  /** Sum of the bytes the rows hold (`stored_size`). */
  readonly storedBytes: number;
}

/** What {@link stats} reports. Every figure is defined in docs/maintenance.md. */
export interface StoreStats {
  /** Sessions with at least one checkpoint. */
  readonly sessions: number;
  /** History rows, over all sessions. */
  readonly checkpoints: number;
  readonly pins: number;
  readonly edges: number;
  /** Every row of the blobs table. */
  readonly blobs: BlobTotals;
  /** The same, by kind. */
  readonly byKind: Readonly<Record<string, BlobTotals>>;
  /** Logical bytes of every distinct blob, chunk pieces (kinds `chunk`, `chunk-list`) not counted: each distinct blob once. */
  readonly logicalBytes: number;
  /** Bytes every blob row holds (after chunk sharing and compression). */
  readonly storedBytes: number;
  /**
   * Logical bytes all checkpoints refer to, each checkpoint counted on its own:
   * for every history row, the sizes of the distinct blobs reachable from its
   * manifest (chunk pieces not counted). What a store keeping a full, uncompressed
   * copy of each checkpoint would hold.
   */
  readonly referencedBytes: number;
  /** referencedBytes / storedBytes: everything dedup, chunk sharing and compression save. null when nothing is stored. */
  readonly dedupRatio: number | null;
  /** Logical / stored bytes over raw and deflated rows (chunk lists are not compressed). null when there are none. */
  readonly compressionRatio: number | null;
}

/**
 * Counts sessions, checkpoints, pins, edges and blobs (by kind), and computes the
 * dedup and compression ratios.
 *
 * Guarantee: read-only; one read transaction, so the figures describe one state;
 * reads no blob bytes. The referenced-bytes walk visits each distinct manifest
 * once (weighted by how many history rows name it) and follows edges only into
 * non-piece blobs, so it costs about one edge visit per chunk of each manifest's
 * slot values, not a decode of anything.
 * @throws CairnError CLOSED, DATABASE.
 */
export async function stats(store: Store): Promise<StoreStats> {
  const db = store[CONTEXT]().db;
  const [counts, byKind, compression, referenced] = await db.readBatch([
    "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM history), (SELECT count(*) FROM pins), (SELECT count(*) FROM edges)",
    "SELECT kind, count(*), coalesce(sum(size), 0), coalesce(sum(stored_size), 0) FROM blobs GROUP BY kind ORDER BY kind",
    { sql: "SELECT coalesce(sum(size), 0), coalesce(sum(stored_size), 0) FROM blobs WHERE encoding IN (?, ?)", args: [Encoding.RAW, Encoding.DEFLATE] },
    // 1. Each distinct manifest a history row names, with how many rows name it.
    // 2. Walk edges from it into blobs that are not chunk pieces (a chunked blob's
    //    chunks are part of its logical size already).
    // 3. Sum the logical sizes of what each manifest reaches, times its uses.
    `WITH RECURSIVE
       roots(manifest, uses) AS (SELECT manifest, count(*) FROM history GROUP BY manifest),
       reach(root, id) AS (
         SELECT manifest, manifest FROM roots
         UNION
         SELECT r.root, e.dst FROM reach r JOIN edges e ON e.src = r.id JOIN blobs c ON c.id = e.dst
         WHERE c.kind NOT IN (${PIECE_KINDS_SQL}))
     SELECT coalesce(sum(b.size * ro.uses), 0) FROM reach r JOIN blobs b ON b.id = r.id JOIN roots ro ON ro.manifest = r.root`,
  ]);
  const row = counts!.rows[0]!;
  const kinds: Record<string, BlobTotals> = {};
  let count = 0;
  let logicalAll = 0;
  let stored = 0;
  let logical = 0;
  for (const k of byKind!.rows) {
    const totals = { count: Number(k[1]), logicalBytes: Number(k[2]), storedBytes: Number(k[3]) };
    const kind = String(k[0]);
    kinds[kind] = totals;
    count += totals.count;
    logicalAll += totals.logicalBytes;
    stored += totals.storedBytes;
    if (!PIECE_KINDS.includes(kind)) logical += totals.logicalBytes;
  }
  const referencedBytes = Number(referenced!.rows[0]![0]);
  const compressedLogical = Number(compression!.rows[0]![0]);
  const compressedStored = Number(compression!.rows[0]![1]);
  return {
    sessions: Number(row[0]),
    checkpoints: Number(row[1]),
    pins: Number(row[2]),
    edges: Number(row[3]),
    blobs: { count, logicalBytes: logicalAll, storedBytes: stored },
    byKind: kinds,
    logicalBytes: logical,
    storedBytes: stored,
    referencedBytes,
    dedupRatio: stored > 0 ? referencedBytes / stored : null,
    compressionRatio: compressedStored > 0 ? compressedLogical / compressedStored : null,
  };
}
