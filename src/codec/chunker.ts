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
export const DEFAULT_CHUNKING: ChunkingParams = { min: 2048, avg: 8192, max: 65536 };

const GEAR = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = createHash("sha256").update(`cairn gear ${i}`).digest().readUInt32BE(0);
  return table;
})();

function topBitsMask(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
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
  while (start < length) {
    const remaining = length - start;
    if (remaining <= min) {
      cuts.push(length);
      break;
    }
    const end = Math.min(start + max, length);
    const normal = Math.min(start + avg, end);
    let hash = 0;
    let i = start + min;
    let cut = end;
    for (; i < normal; i++) {
      hash = ((hash << 1) + GEAR[bytes[i]!]!) >>> 0;
      if ((hash & maskSmall) === 0) {
        cut = i + 1;
        break;
      }
    }
    if (cut === end && i >= normal) {
      for (; i < end; i++) {
        hash = ((hash << 1) + GEAR[bytes[i]!]!) >>> 0;
        if ((hash & maskLarge) === 0) {
          cut = i + 1;
          break;
        }
      }
    }
    cuts.push(cut);
    start = cut;
  }
  return cuts;
}
