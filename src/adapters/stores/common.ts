/**
 * What the session stores share: reaching the store's storage floor, argument
 * checks that throw INVALID_ARGUMENT, and small values kept inline in a row.
 */
import { decodeValue, encodeValue, type LinkSink } from "../../codec/value-codec.js";
import { CairnError, describe } from "../../errors.js";
import type { SessionStoresStorage } from "../../storage/session-stores-storage.js";
import { CONTEXT, type Store } from "../../store.js";

/** Checks that `store` is an opened cairn store. @throws CairnError INVALID_ARGUMENT. */
export function checkStore(store: Store): Store {
  if (typeof store !== "object" || store === null || !(CONTEXT in store) || typeof store.session !== "function") {
    throw new CairnError("INVALID_ARGUMENT", `expected a store from openStore(), got ${describe(store)}`, { argument: "store" });
  }
  return store;
}

/** The session stores' rows of `store` (checked by {@link checkStore}). @throws CairnError CLOSED once the store is closed. */
export function sessionStoresOf(store: Store): SessionStoresStorage {
  return store[CONTEXT]().adapters.sessionStores;
}

/** An INVALID_ARGUMENT error for `name`. */
export function bad(name: string, want: string, actual: unknown): CairnError {
  return new CairnError("INVALID_ARGUMENT", `${name} must be ${want}, got ${describe(actual)}`, { argument: name, actual: describe(actual) });
}

/** A non-empty, well-formed string of at most `max` characters. */
export function parseText(value: unknown, name: string, max: number): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max || !value.isWellFormed()) {
    throw bad(name, `a non-empty string of at most ${max} characters`, value);
  }
  return value;
}

/** An integer from `min` to Number.MAX_SAFE_INTEGER (or `max`). */
export function parseInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw bad(name, `an integer from ${min} to ${max}`, value);
  }
  return value as number;
}

/** A point in time as milliseconds since the epoch: a valid Date or a safe integer; `now` when absent. */
export function parseTime(value: unknown, name: string, now: number): number {
  if (value === undefined) return now;
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) throw bad(name, "a valid Date or milliseconds since the epoch", value);
    return time;
  }
  if (Number.isSafeInteger(value)) return value as number;
  throw bad(name, "a valid Date or milliseconds since the epoch", value);
}

/** An options argument: undefined or a plain object. */
export function parseOptions<T extends object>(value: T | undefined, name = "options"): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(name, "an options object", value);
  return value;
}

/** Refuses links (`unchanged(ref)`) inside an inline value: a row is not a root that keeps a blob alive. */
const NO_LINKS: LinkSink = {
  threshold: Number.POSITIVE_INFINITY,
  moveOutString: () => undefined,
  moveOutBytes: () => {
    throw new Error("unreachable: nothing reaches an infinite threshold");
  },
  linked: () => {
    throw new CairnError("UNSUPPORTED_VALUE", "a stored-value reference (unchanged(ref)) cannot be kept inline in a row", { path: "" });
  },
};

/**
 * Encodes a small value to keep inline in a row, as canonical MessagePack.
 * @throws CairnError UNSUPPORTED_VALUE (with details.path under `name`), LIMIT_EXCEEDED
 *   when the encoding is longer than `maxBytes`.
 */
export function encodeInline(value: unknown, name: string, maxBytes: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = encodeValue(value, NO_LINKS);
  } catch (error) {
    if (error instanceof CairnError && typeof error.details.path === "string") {
      const path = `/${name}${error.details.path}`;
      throw new CairnError(error.code, error.message.replace(` at ${error.details.path || "/"}`, ` at ${path}`), { ...error.details, path }, { cause: error.cause });
    }
    throw error;
  }
  if (bytes.byteLength > maxBytes) {
    throw new CairnError("LIMIT_EXCEEDED", `${name} encodes to ${bytes.byteLength} bytes, over the limit of ${maxBytes}`, {
      argument: name,
      limit: maxBytes,
      actual: bytes.byteLength,
    });
  }
  return bytes;
}

/** Decodes a value kept inline by {@link encodeInline}. @throws CairnError INTEGRITY when the row holds a link or bad bytes. */
export function decodeInline(data: unknown): unknown {
  if (data === null || data === undefined) return undefined;
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer);
  const decoded = decodeValue(bytes);
  if (decoded.links.length > 0) throw new CairnError("INTEGRITY", "an inline value holds a link to a blob", {});
  return decoded.value;
}
