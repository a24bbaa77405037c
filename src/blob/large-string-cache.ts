/**
 * Caches between large strings and their refs.
 *
 * Writing: a process-wide map from a string to its ref. A ref is a function of
 * content alone, so the mapping holds for every store; agents hand cairn the same
 * tool outputs turn after turn inside a growing history, and a string seen before
 * is neither UTF-8 encoded nor hashed again. The Map compares string contents, so
 * an entry is exact, never a digest match.
 *
 * Reading: a per-store {@link StringCache} of strings this store handle wrote or
 * read and verified, so a large string read again is served from memory. It never
 * serves a string the store does not hold.
 */
import type { Ref } from "../hash/ref.js";

interface Entry {
  readonly ref: Ref;
  /** UTF-8 bytes of the string. */
  readonly size: number;
}

/** Strings held at most by each cache, in UTF-16 code units (2 bytes each): 32 Mi units = 64 MiB. */
const BUDGET_UNITS = 32 * 1024 * 1024;

/** A least-recently-used map bounded by the total length of the strings it holds. */
class BoundedStrings<K, V> {
  readonly #map = new Map<K, V>();
  #held = 0;

  constructor(
    private readonly budget: number,
    private readonly length: (key: K, value: V) => number,
  ) {}

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    const units = this.length(key, value);
    if (units > this.budget / 4 || this.#map.has(key)) return;
    this.#map.set(key, value);
    this.#held += units;
    for (const [oldKey, oldValue] of this.#map) {
      if (this.#held <= this.budget) break;
      this.#map.delete(oldKey);
      this.#held -= this.length(oldKey, oldValue);
    }
  }
}

const refsByString = new BoundedStrings<string, Entry>(BUDGET_UNITS, (text) => text.length);

/** The ref and UTF-8 size of `text` if this process hashed it before. */
export function cachedStringRef(text: string): Entry | undefined {
  return refsByString.get(text);
}

/** Remembers that `text` (of `size` UTF-8 bytes) has ref `ref`. The caller hashed or verified it. */
export function rememberStringRef(text: string, ref: Ref, size: number): void {
  refsByString.set(text, { ref, size });
}

/** Large strings one store handle wrote or verified, by ref. */
export class StringCache {
  readonly #strings = new BoundedStrings<Ref, string>(BUDGET_UNITS, (_ref, text) => text.length);

  /** The string with ref `ref`, if this store handle wrote or verified it. */
  get(ref: Ref): string | undefined {
    return this.#strings.get(ref);
  }

  /** Remembers a string this store holds (written in a committed transaction, or read and verified). */
  remember(ref: Ref, text: string): void {
    this.#strings.set(ref, text);
  }
}
