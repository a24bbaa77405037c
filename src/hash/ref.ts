/**
 * The Ref type: the name of a blob, the lowercase hex SHA-256 of its logical bytes.
 * Parsing, formatting and hashing live here and nowhere else.
 */
import { createHash } from "node:crypto";
import { CairnError } from "../errors.js";

/** Lowercase hex SHA-256 of a blob's logical bytes. Branded so a plain string is never taken for one. */
export type Ref = string & { readonly __cairnRef: true };

const REF_PATTERN = /^[0-9a-f]{64}$/;

/** True when `value` is a well-formed ref (64 lowercase hex digits). */
export function isRef(value: unknown): value is Ref {
  return typeof value === "string" && value.length === 64 && REF_PATTERN.test(value);
}

/**
 * Checks that `value` is a ref and returns it typed as one.
 * @throws CairnError INVALID_REF when it is not 64 lowercase hex digits.
 */
export function parseRef(value: unknown, what = "ref"): Ref {
  if (isRef(value)) return value;
  const shown = typeof value === "string" ? JSON.stringify(value.length > 80 ? value.slice(0, 77) + "..." : value) : typeof value;
  throw new CairnError("INVALID_REF", `${what} must be 64 lowercase hex digits (a SHA-256), got ${shown}`, { value: shown });
}

/** SHA-256 of `bytes`, as a ref. Guarantee: the same bytes always give the same ref. */
export function hashBytes(bytes: Uint8Array): Ref {
  return createHash("sha256").update(bytes).digest("hex") as Ref;
}

/** The 32 raw bytes of a ref, as stored in the database. */
export function refToBytes(ref: Ref): Uint8Array {
  return Buffer.from(ref, "hex");
}

/** The ref for 32 raw bytes read from the database or a chunk list. */
export function refFromBytes(bytes: Uint8Array): Ref {
  if (bytes.byteLength !== 32) {
    throw new CairnError("INTEGRITY", `a stored ref has ${bytes.byteLength} bytes instead of 32`, { length: bytes.byteLength });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, 32).toString("hex") as Ref;
}
