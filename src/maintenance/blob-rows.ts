/**
 * Blob rows as maintenance reads them: fetched by ref through the storage floor.
 * Their bytes are read back by src/blob/encoding.ts (a single row) and the one
 * chunk-tree walker, src/blob/chunk-tree.ts (a chunked blob).
 */
import { CHUNK_KIND, LIST_KIND } from "../blob/chunk-tree.js";
import type { BlobContext } from "../blob/context.js";
import type { Ref } from "../hash/ref.js";
import type { BlobRow } from "../storage/storage.js";

export type { BlobRow };

/** Kinds of the rows that are pieces of a chunked blob, not blobs a caller stored. */
export const PIECE_KINDS: readonly string[] = [CHUNK_KIND, LIST_KIND];

/** Rows for those of `refs` that are stored, keyed by ref. */
export async function fetchBlobRows(ctx: BlobContext, refs: readonly Ref[]): Promise<Map<Ref, BlobRow>> {
  return ctx.storage.blobRows([...new Set(refs)]);
}

/** The message of any thrown value. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
