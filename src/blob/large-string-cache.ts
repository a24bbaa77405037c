/**
 * A process-wide cache between large strings and their refs.
 *
 * A ref is a function of content alone, so the mapping holds for every store.
 * Agents hand cairn the same tool outputs turn after turn inside a growing
 * history: with this cache, a string seen before is neither UTF-8 encoded nor
 * hashed again, and a string read back (already verified) is not read again.
 * Entries are exact: the Map compares string contents, never a digest.
 */
import type { Ref } from "../hash/ref.js";

interface Entry {
  readonly ref: Ref;
  /** UTF-8 bytes of the string. */
  readonly size: number;
}

/** Strings held at most, in UTF-16 code units (2 bytes each): 64 Mi units = 128 MiB. */
let budget = 64 * 1024 * 1024;
let held = 0;
const byString = new Map<string, Entry>();
const byRef = new Map<Ref, string>();

/** The ref and UTF-8 size of `text` if it was hashed or verified before. */
export function cachedStringRef(text: string): Entry | undefined {
  const entry = byString.get(text);
  if (entry) {
    byString.delete(text);
    byString.set(text, entry);
  }
  return entry;
}

/** A verified string with ref `ref`, if cached. */
export function cachedString(ref: Ref): string | undefined {
  return byRef.get(ref);
}

/** Remembers that `text` (of `size` UTF-8 bytes) has ref `ref`. The caller hashed or verified it. */
export function rememberString(text: string, ref: Ref, size: number): void {
  if (text.length > budget / 4 || byString.has(text)) return;
  byString.set(text, { ref, size });
  byRef.set(ref, text);
  held += text.length;
  for (const [oldest, entry] of byString) {
    if (held <= budget) break;
    byString.delete(oldest);
    byRef.delete(entry.ref);
    held -= oldest.length;
  }
}

/** Sets the cache budget in UTF-16 code units (0 turns the cache off) and empties it. */
export function setLargeStringCacheBudget(units: number): void {
  budget = units;
  byString.clear();
  byRef.clear();
  held = 0;
}
