/**
 * A write plan: the blobs one transaction will store, staged in memory with
 * their refs and the refs they link to. Everything CPU-bound (encoding, hashing)
 * happens while a plan is built, before any transaction opens.
 */
import { hashBytes, type Ref } from "../hash/ref.js";
import { encodeValue, type LinkSink } from "../codec/value-codec.js";
import { cachedStringRef, rememberStringRef } from "./large-string-cache.js";

/** A blob staged for writing, in its logical (uncompressed, unchunked) form. */
export interface PlannedBlob {
  readonly ref: Ref;
  readonly kind: string;
  /** Logical size in bytes. */
  readonly size: number;
  /** The logical bytes, produced only if the store turns out to lack the blob. */
  readonly bytes: () => Uint8Array;
  /** Refs this blob links to: edges to record when it is written. */
  readonly children: readonly Ref[];
  /**
   * An encoded value, likely to come back next turn a little longer (a history):
   * its chunking is remembered so the next version reuses cuts and chunk refs.
   */
  readonly evolving?: boolean;
  /** For a moved-out string: the string itself, for the store's read cache once it commits. */
  readonly text?: string;
}

/** Kind given to strings and byte arrays moved out of a value. */
export const MOVED_OUT_KIND = "large-value";

/** The blobs one transaction will store, plus refs it relies on the store already having. */
export class WritePlan {
  readonly blobs = new Map<Ref, PlannedBlob>();
  /** Refs linked from planned blobs but not planned: they must already be stored. */
  readonly required = new Set<Ref>();
  /**
   * Refs nothing in the transaction guards (no new row links to them, no history
   * row names them): the writer always asks the store about these.
   */
  readonly roots = new Set<Ref>();
  /** Refs staged here as encoded values (addValue). */
  readonly values = new Set<Ref>();
  /**
   * Refs linked as values (`unchanged(ref)` in a slot or inside a value) that are
   * not staged here: each must name a stored value, checked before anything is written.
   */
  readonly requiredValues = new Set<Ref>();

  /** Marks `ref` as a root of the write: see {@link roots}. */
  markRoot(ref: Ref): Ref {
    this.roots.add(ref);
    return ref;
  }

  /** Stages `bytes` under `kind`; returns their ref. Staging the same bytes twice keeps one. */
  addBytes(bytes: Uint8Array, kind: string, children: readonly Ref[] = [], evolving = false): Ref {
    // Hash a private copy: the caller may reuse its buffer before the write lands.
    if (!evolving) bytes = bytes.slice();
    const ref = hashBytes(bytes);
    if (!this.blobs.has(ref)) this.blobs.set(ref, { ref, kind, size: bytes.byteLength, bytes: () => bytes, children, evolving });
    return ref;
  }

  /**
   * Encodes `value` (moving strings and byte arrays of `threshold` bytes or more out
   * into blobs of their own) and stages the result; returns the value's ref.
   * @throws CairnError UNSUPPORTED_VALUE or LIMIT_EXCEEDED, with nothing staged.
   */
  addValue(value: unknown, kind: string, threshold: number): Ref {
    const movedOut: PlannedBlob[] = [];
    const children: Ref[] = [];
    const sink: LinkSink = {
      threshold,
      moveOutString: (text) => {
        const cached = cachedStringRef(text);
        if (cached) {
          if (cached.size < threshold) return undefined;
          movedOut.push({ ref: cached.ref, kind: MOVED_OUT_KIND, size: cached.size, bytes: () => Buffer.from(text, "utf8"), children: [], text });
          return cached.ref;
        }
        const bytes = Buffer.from(text, "utf8");
        if (bytes.byteLength < threshold) return undefined;
        if (!text.isWellFormed()) return undefined; // the encoder refuses it with a path
        const ref = hashBytes(bytes);
        rememberStringRef(text, ref, bytes.byteLength);
        movedOut.push({ ref, kind: MOVED_OUT_KIND, size: bytes.byteLength, bytes: () => bytes, children: [], text });
        return ref;
      },
      moveOutBytes: (original) => {
        const bytes = original.slice(); // a private copy: the caller may reuse its buffer
        const ref = hashBytes(bytes);
        movedOut.push({ ref, kind: MOVED_OUT_KIND, size: bytes.byteLength, bytes: () => bytes, children: [] });
        return ref;
      },
      linked: (ref) => children.push(ref),
    };
    const bytes = encodeValue(value, sink);
    for (const blob of movedOut) if (!this.blobs.has(blob.ref)) this.blobs.set(blob.ref, blob);
    const unique = [...new Set(children)];
    const ref = this.addBytes(bytes, kind, unique, true);
    this.values.add(ref);
    const moved = new Set(movedOut.map((b) => b.ref));
    for (const child of unique) {
      if (!this.blobs.has(child)) this.required.add(child);
      // Every link but a moved-out one is a value link (`unchanged(ref)`, a manifest's slot).
      if (!moved.has(child) && !this.values.has(child)) this.requiredValues.add(child);
    }
    return ref;
  }

  /** Records that the transaction relies on `ref` being stored already. */
  requireStored(ref: Ref): void {
    if (!this.blobs.has(ref)) this.required.add(ref);
  }

  /** Records that the transaction relies on `ref` being a stored value (an `unchanged(ref)` slot). */
  requireValue(ref: Ref): void {
    this.requireStored(ref);
    if (!this.values.has(ref)) this.requiredValues.add(ref);
  }
}

