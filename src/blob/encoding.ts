/**
 * The row encodings: how one blob row holds its bytes. Part of the on-disk format.
 *
 * This module is the only place that switches over an encoding. A new codec
 * (another compression) touches src/codec/compression.ts and this file, nothing
 * else: writers ask {@link compressedForm} for a stored form, readers ask
 * {@link materializeRow} for the logical bytes of a single row, and the chunk
 * tree (src/blob/chunk-tree.ts) asks {@link isChunked} before it walks a row's list.
 */
import { compress, decompress, type CompressionProfile } from "../codec/compression.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";

/** How a blob's bytes are stored. Part of the on-disk format: values are never reused. */
export const Encoding = {
  /** `data` is the logical bytes. */
  RAW: 0,
  /** `data` is raw DEFLATE (RFC 1951) of the logical bytes. */
  DEFLATE: 1,
  /** `data` is a chunk list (src/codec/chunk-list.ts): the blob is the concatenation of its entries. */
  CHUNKED: 2,
} as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/** An encoding's public name (`store.blobs.info`, stats). */
export type EncodingName = "raw" | "deflate" | "chunked";

const NAMES: readonly EncodingName[] = ["raw", "deflate", "chunked"];

/** The name of `encoding`; an unknown value (a newer or hostile row) reads as `raw`. */
export function encodingName(encoding: number): EncodingName {
  return NAMES[encoding] ?? "raw";
}

/** Whether a row's data is a chunk list rather than bytes. */
export function isChunked(row: { readonly encoding: number }): boolean {
  return row.encoding === Encoding.CHUNKED;
}

/** How a single row holds its bytes, as chosen by {@link compressedForm}. */
export interface StoredForm {
  readonly encoding: Encoding;
  readonly data: Uint8Array;
}

/**
 * The compressed form of `bytes` under `profile`, or undefined when compression
 * does not pay (the row is then stored {@link Encoding.RAW} as it is).
 */
export function compressedForm(bytes: Uint8Array, profile: CompressionProfile): StoredForm | undefined {
  const packed = compress(bytes, profile);
  return packed ? { encoding: Encoding.DEFLATE, data: packed } : undefined;
}

/** The fields of a stored row the reader needs. */
export interface RowBytes {
  readonly ref: Ref;
  readonly encoding: number;
  readonly size: number;
  readonly data: Uint8Array;
}

/**
 * Checks a row's recorded logical size before anything is allocated for it.
 * @throws CairnError INTEGRITY (an impossible size), LIMIT_EXCEEDED (over `maxBlobBytes`).
 */
export function checkRecordedSize(row: Pick<RowBytes, "ref" | "size">, maxBlobBytes: number): void {
  if (!Number.isSafeInteger(row.size) || row.size < 0) {
    throw new CairnError("INTEGRITY", `blob ${row.ref} records an impossible size ${row.size}`, { ref: row.ref, size: row.size });
  }
  if (row.size > maxBlobBytes) {
    throw new CairnError("LIMIT_EXCEEDED", `blob ${row.ref} records ${row.size} bytes, over the ${maxBlobBytes}-byte limit`, {
      ref: row.ref,
      limit: maxBlobBytes,
      actual: row.size,
    });
  }
}

/**
 * The logical bytes of a single (raw or deflated) row, not yet hashed.
 * Guarantee: allocates at most the recorded size, which is checked first.
 * @throws CairnError INTEGRITY (wrong length, bad DEFLATE, a chunked or unknown encoding), LIMIT_EXCEEDED.
 */
export function materializeRow(row: RowBytes, maxBlobBytes: number): Uint8Array {
  checkRecordedSize(row, maxBlobBytes);
  switch (row.encoding) {
    case Encoding.RAW:
      if (row.data.byteLength !== row.size) {
        throw new CairnError("INTEGRITY", `blob ${row.ref} has ${row.data.byteLength} bytes, not its recorded ${row.size}`, { ref: row.ref });
      }
      return row.data;
    case Encoding.DEFLATE:
      return decompress(row.data, row.size, row.ref);
    case Encoding.CHUNKED:
      throw new CairnError("INTEGRITY", `blob ${row.ref} is chunked, not a single row`, { ref: row.ref, encoding: row.encoding });
    default:
      throw new CairnError("INTEGRITY", `blob ${row.ref} has unknown encoding ${row.encoding}`, { ref: row.ref, encoding: row.encoding });
  }
}
