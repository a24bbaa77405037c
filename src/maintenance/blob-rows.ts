/**
 * Blob rows as maintenance reads them: fetched by ref through the storage floor,
 * and turned back into logical bytes within the sizes they record (never
 * trusting a row's claims).
 */
import type { BlobContext } from "../blob/context.js";
import type { Ref } from "../hash/ref.js";
import type { BlobRow } from "../storage/storage.js";

export type { BlobRow };

/** Kinds of the rows that are pieces of a chunked blob, not blobs a caller stored. */
export const PIECE_KINDS: readonly string[] = ["chunk", "chunk-list"];

/** Rows for those of `refs` that are stored, keyed by ref. */
export async function fetchBlobRows(ctx: BlobContext, refs: readonly Ref[]): Promise<Map<Ref, BlobRow>> {
  return ctx.storage.blobRows([...new Set(refs)]);
}

export { checkRecordedSize, materializeRow } from "../blob/blob-reader.js";

/** The message of any thrown value. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
