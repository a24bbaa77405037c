/**
 * Content-defined chunking (FastCDC with normalized chunking) over a gear hash.
 *
 * Boundaries depend only on the bytes near them, so inserting or appending bytes
 * moves only the chunks around the change: the rest keep their refs and are
 * stored once. The gear table is derived from SHA-256 and is part of the format:
 * changing it changes where blobs are cut (never their refs, only their storage).
 */
import { createHash } from "node:crypto";

/** Minimum, average and maximum chunk size, in bytes. */
export interface ChunkingParams {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

/** Defaults, chosen by measurement on the agent workload (docs/design.md). */
export const DEFAULT_CHUNKING: ChunkingParams = { min: 1024, avg: 4096, max: 32768 };

const GEAR = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = createHash("sha256").update(`cairn gear ${i}`).digest().readInt32BE(0);
  return table;
})();

function topBitsMask(bits: number): number {
  return bits <= 0 ? 0 : 0xffffffff << (32 - bits);
}

/**
 * The end offset of every chunk of `bytes`, in order; the last is `bytes.length`.
 * Guarantee: every chunk but the last is between `min` and `max` bytes, and the
 * same bytes always give the same cuts.
 */
export function chunkBoundaries(bytes: Uint8Array, params: ChunkingParams = DEFAULT_CHUNKING): number[] {
  const { min, avg, max } = params;
  const bits = Math.round(Math.log2(avg));
  const maskSmall = topBitsMask(bits + 2);
  const maskLarge = topBitsMask(bits - 2);
  const cuts: number[] = [];
  const length = bytes.length;
  let start = 0;
  let cut: number;
  while (start < length) {
    const remaining = length - start;
    if (remaining <= min) {
      cuts.push(length);
      break;
    }
    const end = Math.min(start + max, length);
    const normal = Math.min(start + avg, end);
    cut = findCut(bytes, start + min, normal, end, maskSmall, maskLarge);
    cuts.push(cut);
    start = cut;
  }
  return cuts;
}

/** The first cut in [from, end): the stricter mask before `normal`, the looser one after, else `end`. */
function findCut(bytes: Uint8Array, from: number, normal: number, end: number, maskSmall: number, maskLarge: number): number {
  const gear = GEAR;
  let hash = 0;
  let i = from;
  for (; i < normal; i++) {
    hash = ((hash << 1) + gear[bytes[i]!]!) | 0;
    if ((hash & maskSmall) === 0) return i + 1;
  }
  for (; i < end; i++) {
    hash = ((hash << 1) + gear[bytes[i]!]!) | 0;
    if ((hash & maskLarge) === 0) return i + 1;
  }
  return end;
}

/** Bytes gathered before a {@link StreamChunker} scans for cuts. */
const STREAM_SCAN_BYTES = 2 * 1024 * 1024;

/**
 * Content-defined chunking over bytes that arrive in pieces: exactly the chunks
 * {@link chunkBoundaries} cuts from the whole byte sequence, holding at most a few
 * MiB. A cut depends only on the bytes from its chunk's start, so a cut found
 * before the end of what has arrived, or a cut forced at `max`, is final; the
 * bytes after the last final cut wait for more.
 *
 * One buffer serves the whole stream: the chunks are yielded as views of it,
 * each valid until the generator is resumed (copy one to keep it), and the bytes
 * not yet cut move to its front only then. A stream of any length thus leaves
 * no garbage behind here. The pieces pushed are copied in: the caller may reuse them.
 */
export class StreamChunker {
  readonly #params: ChunkingParams;
  #buffer: Uint8Array;
  #length = 0;
  /** Bytes at the front already handed out as chunks, dropped at the next compaction. */
  #consumed = 0;

  constructor(params: ChunkingParams = DEFAULT_CHUNKING) {
    this.#params = params;
    this.#buffer = new Uint8Array(STREAM_SCAN_BYTES + params.max);
  }

  /** Adds `bytes`; yields the chunks that are now complete, in order (views: see the class). */
  *push(bytes: Uint8Array): Generator<Uint8Array, void, undefined> {
    let offset = 0;
    while (offset < bytes.byteLength) {
      this.#compact();
      const n = Math.min(bytes.byteLength - offset, this.#buffer.byteLength - this.#length);
      this.#buffer.set(bytes.subarray(offset, offset + n), this.#length);
      this.#length += n;
      offset += n;
      if (this.#length === this.#buffer.byteLength) yield* this.#cut(false);
    }
  }

  /** Yields the last chunks, once every byte was pushed (views: see the class). */
  *end(): Generator<Uint8Array, void, undefined> {
    this.#compact();
    yield* this.#cut(true);
    this.#compact();
  }

  *#cut(final: boolean): Generator<Uint8Array, void, undefined> {
    const bytes = this.#buffer.subarray(0, this.#length);
    for (const cut of chunkBoundaries(bytes, this.#params)) {
      // A cut at the end of what arrived, short of max, may move once more bytes come.
      if (!final && cut === bytes.byteLength && cut - this.#consumed < this.#params.max) break;
      const from = this.#consumed;
      this.#consumed = cut;
      yield bytes.subarray(from, cut);
    }
  }

  /** Moves the bytes not yet cut to the front, once the chunks before them were used. */
  #compact(): void {
    if (this.#consumed === 0) return;
    this.#buffer.copyWithin(0, this.#consumed, this.#length);
    this.#length -= this.#consumed;
    this.#consumed = 0;
  }
}
