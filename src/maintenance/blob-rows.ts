/**
 * Blob rows as maintenance reads them: fetched by ref, and turned back into
 * logical bytes within the sizes they record (never trusting a row's claims).
 */
import { Encoding } from "../blob/blob-writer.js";
import { toBytes } from "../blob/blob-reader.js";
import { decompress } from "../codec/compression.js";
import type { Database, Row } from "../db/database.js";
import { CairnError } from "../errors.js";
import { refFromBytes, type Ref } from "../hash/ref.js";

/** One stored row: the blob's ref, what it is, how it is stored, and its stored bytes. */
export interface BlobRow {
  readonly ref: Ref;
  readonly kind: string;
  readonly encoding: number;
  /** Logical bytes the row stands for. */
  readonly size: number;
  readonly data: Uint8Array;
}

/** Kinds of the rows that are pieces of a chunked blob, not blobs a caller stored. */
export const PIECE_KINDS: readonly string[] = ["chunk", "chunk-list"];

/** The same list as an SQL literal, for `kind NOT IN (...)`. */
export const PIECE_KINDS_SQL = PIECE_KINDS.map((kind) => `'${kind}'`).join(", ");

/** Refs per statement when refs travel as one JSON array (constant SQL text). */
export const REFS_PER_STATEMENT = 2000;

/** Rows for those of `refs` that are stored, keyed by ref. */
export async function fetchBlobRows(db: Database, refs: readonly Ref[]): Promise<Map<Ref, BlobRow>> {
  const out = new Map<Ref, BlobRow>();
  const unique = [...new Set(refs)];
  for (let i = 0; i < unique.length; i += REFS_PER_STATEMENT) {
    const result = await db.execute("SELECT ref, kind, encoding, size, data FROM blobs WHERE ref IN (SELECT unhex(value) FROM json_each(?))", [
      JSON.stringify(unique.slice(i, i + REFS_PER_STATEMENT)),
    ]);
    for (const row of result.rows) {
      const blob = rowFrom(row);
      out.set(blob.ref, blob);
    }
  }
  return out;
}

/** A result row `ref, kind, encoding, size, data` as a BlobRow. */
export function rowFrom(row: Row, at = 0): BlobRow {
  return {
    ref: refFromBytes(toBytes(row[at])),
    kind: String(row[at + 1]),
    encoding: Number(row[at + 2]),
    size: Number(row[at + 3]),
    data: toBytes(row[at + 4]),
  };
}

/**
 * Checks the size a row records before anything is allocated for it.
 * @throws CairnError INTEGRITY (impossible size), LIMIT_EXCEEDED (over `maxBlobBytes`).
 */
export function checkRecordedSize(row: BlobRow, maxBlobBytes: number): void {
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
 * The logical bytes of a raw or deflated row, not yet hashed.
 * Guarantee: allocates at most the recorded size, which is checked first.
 * @throws CairnError INTEGRITY (wrong length, bad DEFLATE, chunked or unknown encoding), LIMIT_EXCEEDED.
 */
export function materializeRow(row: BlobRow, maxBlobBytes: number): Uint8Array {
  checkRecordedSize(row, maxBlobBytes);
  switch (row.encoding) {
    case Encoding.RAW:
      if (row.data.byteLength !== row.size) {
        throw new CairnError("INTEGRITY", `blob ${row.ref} has ${row.data.byteLength} bytes, not its recorded ${row.size}`, { ref: row.ref });
      }
      return row.data;
    case Encoding.DEFLATE:
      return decompress(row.data, row.size, row.ref);
    default:
      throw new CairnError("INTEGRITY", `blob ${row.ref} has encoding ${row.encoding}, which is not a single row`, { ref: row.ref, encoding: row.encoding });
  }
}

/** The message of any thrown value. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
