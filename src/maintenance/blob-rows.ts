/**
 * Blob rows as maintenance reads them (`ctx.storage.blobRows`: fetched by ref through the storage floor).
 * Their bytes are read back by src/blob/encoding.ts (a single row) and the one
 * chunk-tree walker, src/blob/chunk-tree.ts (a chunked blob).
 */
import { CHUNK_KIND, LIST_KIND } from "../blob/chunk-tree.js";
import type { BlobRow } from "../storage/storage.js";

export type { BlobRow };

/** Kinds of the rows that are pieces of a chunked blob, not blobs a caller stored. */
export const PIECE_KINDS: readonly string[] = [CHUNK_KIND, LIST_KIND];

/** The message of any thrown value. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
