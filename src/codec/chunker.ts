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
