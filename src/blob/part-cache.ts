/**
 * Verified parts of chunk trees (leaf chunks and list nodes), shared by every
 * read of one store handle: a chunk that several blobs hold (the unchanged part
 * of a file read again with a line appended, one tool output inside many
 * messages) is fetched, inflated and hashed once per handle, not once per blob.
 *
 * An entry is only ever added after its bytes hashed to its ref, and a ref names
 * its content, so an entry never goes stale and is never wrong; the cache is
 * bounded by bytes (least recently used dropped first), not by correctness.
 * The bytes handed out are shared: only for readers that copy them, never change them.
 */
import type { Ref } from "../hash/ref.js";
import type { BlobRow } from "../storage/storage.js";

/** Bytes a store handle keeps of verified parts: 32 MiB. */
export const PART_CACHE_BYTES = 32 * 1024 * 1024;

/** A least-recently-used map from a part's ref to its verified bytes, bounded by their total size. */
export class PartCache {
  readonly #parts = new Map<Ref, Uint8Array>();
  /**
   * Fetches of leaf rows under way, by ref: a walk that needs a leaf another
   * walk is fetching right now (reads of one checkpoint's values run side by
   * side) waits for that fetch instead of fetching the row again.
   */
  readonly inflight = new Map<Ref, Promise<ReadonlyMap<Ref, BlobRow>>>();
  readonly #budget: number;
  #held = 0;

  constructor(budget = PART_CACHE_BYTES) {
    this.#budget = budget;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#held;
  }

  /** The verified bytes of part `ref`, if held. */
  get(ref: Ref): Uint8Array | undefined {
    const bytes = this.#parts.get(ref);
    if (bytes !== undefined) {
      this.#parts.delete(ref);
      this.#parts.set(ref, bytes);
    }
    return bytes;
  }

  /**
   * Keeps `bytes` as part `ref`. The caller hashed them to `ref`. A view into a
   * much larger buffer is copied, so an entry holds no more memory than it counts.
   */
  remember(ref: Ref, bytes: Uint8Array): void {
    if (this.#parts.has(ref) || bytes.byteLength > this.#budget / 8) return;
    const own = bytes.buffer.byteLength > bytes.byteLength * 2 ? bytes.slice() : bytes;
    this.#parts.set(ref, own);
    this.#held += own.byteLength;
    for (const [oldRef, old] of this.#parts) {
      if (this.#held <= this.#budget) break;
      this.#parts.delete(oldRef);
      this.#held -= old.byteLength;
    }
  }
}
