/**
 * Per-blob compression: raw DEFLATE, chosen by a profile and kept only when it pays.
 *
 * The stored format is plain raw DEFLATE (RFC 1951), readable by any inflater
 * (fflate, pako, zlib). It is written and read with node:zlib, which measured
 * 3.5x faster than fflate to compress and 4x faster to inflate on this project's
 * machines (see docs/design.md).
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { CairnError } from "../errors.js";

/** How hard to compress. `none` stores every blob raw. */
export type CompressionProfile = "none" | "fast" | "balanced" | "max";

export const COMPRESSION_PROFILES: readonly CompressionProfile[] = ["none", "fast", "balanced", "max"];

const LEVELS: Record<CompressionProfile, number> = { none: 0, fast: 1, balanced: 6, max: 9 };

/** Blobs smaller than this are never worth a compressed copy. */
/** Smaller inputs are never compressed: DEFLATE's overhead eats the gain. */
export const MIN_COMPRESSIBLE = 256;
/** A compressed copy is kept only if it saves at least 1/8 of the raw size. */
const MAX_KEPT_RATIO = 7 / 8;
/** The largest expansion DEFLATE allows (about 1032:1); a stored size claiming more is hostile. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Compresses `bytes` under `profile` and returns the compressed bytes, or
 * undefined when compression does not pay.
 *
 * Synchronous on purpose: blobs are compressed a chunk (at most 32 KiB by
 * default) at a time, and for such sizes node:zlib's async path measured 5x
 * slower than the sync one (thread hand-off and stream setup per call). The
 * window is sized to the input, which makes small inputs cheaper to set up.
 * Guarantee: a returned copy is at most 7/8 of the input.
 */
export function compress(bytes: Uint8Array, profile: CompressionProfile): Uint8Array | undefined {
  if (profile === "none" || bytes.byteLength < MIN_COMPRESSIBLE) return undefined;
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(bytes.byteLength))));
  const out = deflateRawSync(bytes, { level: LEVELS[profile], windowBits, memLevel: windowBits < 13 ? 4 : 8 });
  return out.byteLength <= bytes.byteLength * MAX_KEPT_RATIO ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : undefined;
}

/**
 * Inflates raw DEFLATE `data` that must expand to exactly `size` bytes.
 * Guarantee: never produces more than `size` bytes, whatever `data` holds.
 * @throws CairnError INTEGRITY when the data is not valid DEFLATE, expands past
 *   `size`, or `size` is more than DEFLATE can expand to.
 */
export function decompress(data: Uint8Array, size: number, ref: string): Uint8Array {
  if (size > data.byteLength * MAX_DEFLATE_RATIO + 64) {
    throw new CairnError("INTEGRITY", `blob ${ref} claims ${size} bytes from ${data.byteLength} compressed bytes, more than DEFLATE can expand to`, {
      ref,
      size,
      storedSize: data.byteLength,
    });
  }
  let out: Buffer;
  try {
    out = inflateRawSync(data, { maxOutputLength: Math.max(size, 1) });
  } catch (error) {
    throw new CairnError("INTEGRITY", `blob ${ref} does not inflate to its recorded ${size} bytes`, { ref, size }, { cause: error });
  }
  if (out.byteLength !== size) {
    throw new CairnError("INTEGRITY", `blob ${ref} inflates to ${out.byteLength} bytes, not its recorded ${size}`, { ref, size, actualSize: out.byteLength });
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
