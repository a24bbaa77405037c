/**
 * Recently hashed chunks, so that a chunk cut again from the next version of a
 * growing value costs a byte comparison instead of a SHA-256.
 *
 * A hit is confirmed by comparing every byte with the remembered chunk, so the
 * memo can never return the ref of different bytes; the fingerprint only picks
 * which chunks to compare.
 */
import { hashBytes, type Ref } from "../hash/ref.js";

interface Remembered {
  readonly bytes: Uint8Array;
  readonly ref: Ref;
}

const BUDGET_BYTES = 32 * 1024 * 1024;
let held = 0;
const memo = new Map<string, Remembered>();

function fingerprint(bytes: Uint8Array): string {
  const n = bytes.length;
  let h = 0x811c9dc5 ^ n;
  const step = Math.max(1, Math.floor(n / 61));
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  for (let i = Math.max(0, n - 16); i < n; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return `${n}:${h >>> 0}`;
}

/** The ref of `bytes`: from the memo when the same bytes were hashed recently, else by SHA-256. */
export function chunkRef(bytes: Uint8Array): Ref {
  const key = fingerprint(bytes);
  const seen = memo.get(key);
  if (seen && Buffer.compare(seen.bytes, bytes) === 0) {
    memo.delete(key);
    memo.set(key, seen);
    return seen.ref;
  }
  const ref = hashBytes(bytes);
  if (seen) {
    memo.delete(key);
    held -= seen.bytes.byteLength;
  }
  memo.set(key, { bytes: bytes.slice(), ref });
  held += bytes.byteLength;
  for (const [oldKey, old] of memo) {
    if (held <= BUDGET_BYTES) break;
    memo.delete(oldKey);
    held -= old.bytes.byteLength;
  }
  return ref;
}
