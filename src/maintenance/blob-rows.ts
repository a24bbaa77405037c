/**
 * Blob rows as maintenance reads them: fetched by ref, and turned back into
 * logical bytes within the sizes they record (never trusting a row's claims).
 */
import { toBytes } from "../storage/libsql/libsql-storage.js";
import type { Database, Row } from "../storage/libsql/database.js";
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

export { checkRecordedSize, materializeRow } from "../blob/blob-reader.js";

/** The message of any thrown value. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
