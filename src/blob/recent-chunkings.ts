/**
 * The last few blobs cut into chunks, kept so that the next version of a growing
 * value (a message history one turn longer) reuses their cuts and chunk refs.
 *
 * A cut depends only on where its chunk starts and on the bytes from `min` past
 * that start up to the cut. So when those bytes are equal in the new version, the
 * cut is the same, and when the whole chunk is equal, so is its ref: both are
 * confirmed by comparing bytes, never assumed.
 */
import type { Ref } from "../hash/ref.js";

export interface Chunking {
  readonly kind: string;
  /** The chunking settings' minimum: cuts made under other settings are not reused. */
  readonly min: number;
  readonly bytes: Uint8Array;
  /** End offset of each chunk. */
  readonly cuts: readonly number[];
  readonly refs: readonly Ref[];
}

const MAX_ENTRIES = 32;
const BUDGET_BYTES = 64 * 1024 * 1024;
const recent: Chunking[] = [];
let held = 0;

function equalRange(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  return from >= to || Buffer.compare(a.subarray(from, to), b.subarray(from, to)) === 0;
}

/**
 * The chunks of `bytes` that a recent chunking of the same kind confirms, in order
 * from the start: their cuts and, where the whole chunk is unchanged, their refs.
 */
export function reuseCuts(kind: string, bytes: Uint8Array, min: number): { cuts: number[]; refs: Array<Ref | undefined> } {
  for (let k = recent.length - 1; k >= 0; k--) {
    const old = recent[k]!;
    if (old.kind !== kind || old.min !== min) continue;
    const cuts: number[] = [];
    const refs: Array<Ref | undefined> = [];
    let start = 0;
    for (let i = 0; i < old.cuts.length; i++) {
      const end = old.cuts[i]!;
      if (end > bytes.length) break;
      // The old blob's last chunk ended because the bytes did, not at a content cut.
      if (end === old.bytes.length && end !== bytes.length) break;
      const scanFrom = Math.min(start + min, end);
      if (!equalRange(bytes, old.bytes, scanFrom, end)) break;
      cuts.push(end);
      refs.push(equalRange(bytes, old.bytes, start, scanFrom) ? old.refs[i] : undefined);
      start = end;
    }
    if (cuts.length > 0) return { cuts, refs };
  }
  return { cuts: [], refs: [] };
}

/** Remembers a chunking for the next version of the same value. */
export function rememberChunking(chunking: Chunking): void {
  recent.push(chunking);
  held += chunking.bytes.byteLength;
  while (recent.length > MAX_ENTRIES || (held > BUDGET_BYTES && recent.length > 1)) {
    held -= recent.shift()!.bytes.byteLength;
  }
}
