/**
 * Which refs a store handle knows to be stored values: blobs whose bytes decode
 * as a cairn value. Being a value is a property of the bytes, so of the ref: an
 * entry never goes stale (whether the blob is still stored is another question,
 * which the writer's edges and required refs answer).
 */
import { decodeValue } from "../codec/value-codec.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { readBlob } from "./blob-reader.js";
import type { BlobContext } from "./context.js";

/** Entries kept per store handle before the set starts over (a bound on memory, not on correctness). */
const MAX_KNOWN = 200_000;

/** Remembers that `refs` are values (this handle wrote them as values, or decoded them). */
export function rememberValues(ctx: BlobContext, refs: Iterable<Ref>): void {
  const set = ctx.knownValues;
  for (const ref of refs) {
    if (set.size >= MAX_KNOWN) set.clear();
    set.add(ref);
  }
}

/**
 * Checks that each of `refs` names a stored value: a blob whose bytes decode as
 * a cairn value, as a read of a link to it will need. Refs this handle wrote as
 * values or has decoded are not read again; any other is read (and re-hashed)
 * once and remembered.
 * Guarantee: returns only if every ref is a stored blob that decodes as a value; writes nothing.
 * @throws CairnError INVALID_ARGUMENT (details.ref, details.argument "unchanged")
 *   when a ref names stored bytes that are not a value (a blob stored with
 *   blobs.put); NOT_FOUND when one is not stored; INTEGRITY when its row is damaged.
 */
export async function requireValues(ctx: BlobContext, refs: Iterable<Ref>): Promise<void> {
  const set = ctx.knownValues;
  for (const ref of refs) {
    if (set.has(ref)) continue;
    const bytes = await readBlob(ctx, ref);
    try {
      decodeValue(bytes);
    } catch (error) {
      throw new CairnError(
        "INVALID_ARGUMENT",
        `unchanged(${ref}) must name a stored value, but blob ${ref} holds bytes that are not one (stored with blobs.put?): ${(error as Error).message}; nothing was written`,
        { argument: "unchanged", ref },
        { cause: error },
      );
    }
    rememberValues(ctx, [ref]);
  }
}
