/**
 * Reading blobs back: one row, or a chunk tree walked by the one walker
 * (src/blob/chunk-tree.ts), inflated within the recorded sizes and re-hashed
 * before anything is returned.
 */
import { CairnError } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import type { BlobRow } from "../storage/storage.js";
import { collectChunkTree, walkChunkTree, type FetchRows, type TreeChunk } from "./chunk-tree.js";
import type { BlobContext } from "./context.js";
import { checkRecordedSize, encodingName, isChunked, materializeRow, type EncodingName } from "./encoding.js";

/** What a stored blob is, without its bytes. */
export interface BlobInfo {
  readonly ref: Ref;
  readonly kind: string;
  /** Logical bytes. */
  readonly size: number;
  /** Bytes in its own row (for a chunked blob, the chunk list only). */
  readonly storedSize: number;
  readonly encoding: EncodingName;
}

/**
 * Reads the blob `ref` and returns its logical bytes.
 * Guarantee: the returned bytes hash to `ref`; no allocation exceeds the size the
 * row records, and that size is checked against `ctx.maxBlobBytes` first.
 * @throws CairnError NOT_FOUND, INTEGRITY (with expected and actual hash), LIMIT_EXCEEDED.
 */
export async function readBlob(ctx: BlobContext, ref: Ref): Promise<Uint8Array> {
  const row = await rootRow(ctx, ref);
  if (isChunked(row)) {
    // The whole is hashed; each part once per store handle, as it enters the handle's part cache.
    return collectChunkTree(row, { fetch: fetchRows(ctx), maxBlobBytes: ctx.maxBlobBytes, verifyParts: false, parts: ctx.parts });
  }
  const bytes = materializeRow(row, ctx.maxBlobBytes);
  const actual = hashBytes(bytes);
  if (actual !== ref) throw new CairnError("INTEGRITY", `blob ${ref} is corrupt: its bytes hash to ${actual}`, { ref, expected: ref, actual });
  return bytes;
}

/**
 * Leaves fetched per query by a chunk-by-chunk read (about 1 MiB of a large
 * blob's 64 KiB chunks): the walk holds one window and the batch held back
 * before it, so a smaller window keeps what a stream holds, and what the garbage
 * collector has to catch up with, small (on @libsql/client, 1 GiB through getStream measured 76 MiB
 * of extra resident memory with windows of 128, 57 MiB with 16, at the same speed).
 */
const STREAM_WINDOW = 16;

/**
 * The logical bytes of blob `ref`, chunk by chunk, in order: each chunk checked
 * against its own ref before it is yielded, and the last one held back until the
 * whole hash is checked against `ref` (see {@link walkChunkTree}). The row is
 * read and its recorded size checked before this returns.
 * @throws CairnError NOT_FOUND, LIMIT_EXCEEDED, INTEGRITY (here or from the iteration).
 */
export async function readBlobChunks(ctx: BlobContext, ref: Ref): Promise<{ size: number; chunks: AsyncGenerator<TreeChunk, unknown, undefined> }> {
  const row = await rootRow(ctx, ref);
  checkRecordedSize(row, ctx.maxBlobBytes);
  return { size: row.size, chunks: walkChunkTree(row, { fetch: fetchRows(ctx), maxBlobBytes: ctx.maxBlobBytes, window: STREAM_WINDOW }) };
}

/** Metadata of the blob `ref`, or undefined when it is not stored. Reads no blob bytes. */
export async function blobInfo(ctx: BlobContext, ref: Ref): Promise<BlobInfo | undefined> {
  const row = await ctx.storage.blobRowInfo(ref);
  if (!row) return undefined;
  return { ref, kind: row.kind, encoding: encodingName(row.encoding), size: row.size, storedSize: row.storedSize };
}

async function rootRow(ctx: BlobContext, ref: Ref): Promise<BlobRow> {
  const row = (await ctx.storage.blobRows([ref])).get(ref);
  if (!row) throw new CairnError("NOT_FOUND", `no blob with ref ${ref}`, { ref });
  return row;
}

/** The storage floor's rows, as the walker fetches them. */
function fetchRows(ctx: BlobContext): FetchRows {
  return (refs) => ctx.storage.blobRows(refs);
}
