/**
 * stats(): what the store holds and how much sharing and compression save,
 * computed by the storage floor without reading any blob's bytes.
 */
import { Encoding } from "../blob/encoding.js";
import type { BlobContext } from "../blob/context.js";
import { PIECE_KINDS } from "./blob-rows.js";

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
export async function stats(ctx: BlobContext): Promise<StoreStats> {
  const counts = await ctx.maintenance.counts({ pieceKinds: PIECE_KINDS, compressedEncodings: [Encoding.RAW, Encoding.DEFLATE] });
  const kinds: Record<string, BlobTotals> = {};
  let count = 0;
  let logicalAll = 0;
  let stored = 0;
  let logical = 0;
  for (const k of counts.byKind) {
    const totals = { count: k.count, logicalBytes: k.logicalBytes, storedBytes: k.storedBytes };
    kinds[k.kind] = totals;
    count += totals.count;
    logicalAll += totals.logicalBytes;
    stored += totals.storedBytes;
    if (!PIECE_KINDS.includes(k.kind)) logical += totals.logicalBytes;
  }
  const referencedBytes = counts.referencedBytes;
  const compressedLogical = counts.compressed.logicalBytes;
  const compressedStored = counts.compressed.storedBytes;
  return {
    sessions: counts.sessions,
    checkpoints: counts.historyRows,
    pins: counts.pins,
    edges: counts.edges,
    blobs: { count, logicalBytes: logicalAll, storedBytes: stored },
    byKind: kinds,
    logicalBytes: logical,
    storedBytes: stored,
    referencedBytes,
    dedupRatio: stored > 0 ? referencedBytes / stored : null,
    compressionRatio: compressedStored > 0 ? compressedLogical / compressedStored : null,
  };
}
