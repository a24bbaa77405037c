/**
 * The one error class of cairn, its closed set of codes, and the helpers that
 * build the common ones. Every failure a caller can act on is a CairnError.
 */

/** Every code a {@link CairnError} can carry. The union is closed: switch on it exhaustively. */
export type CairnErrorCode =
  /** A ref, session or sequence number that the store does not hold. */
  | "NOT_FOUND"
  /** Stored bytes whose SHA-256 is not their ref, or a stored structure that contradicts itself. */
  | "INTEGRITY"
  /** A compare-and-swap commit lost: another writer moved the head first, or a name is taken. */
  | "CONFLICT"
  /** A string that is not 64 lowercase hex digits where a ref was expected. */
  | "INVALID_REF"
  /** An argument of the wrong shape: a bad option, a negative sequence number, an empty id. */
  | "INVALID_ARGUMENT"
  /** A value cairn cannot encode (function, symbol, cycle, class instance, ill-formed string). */
  | "UNSUPPORTED_VALUE"
  /** A size, length or depth over a configured or hard limit. */
  | "LIMIT_EXCEEDED"
  /** A database written by a newer schema than this version of cairn knows. */
  | "SCHEMA_TOO_NEW"
  /** The store was closed. */
  | "CLOSED"
  /** The database refused or failed an operation (I/O, lock timeout, server error). */
  | "DATABASE";

/** Structured details attached to an error: which ref, which limit, which path. */
export type CairnErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The error every public cairn function throws for a failure a caller can act on.
 *
 * `code` is from a closed union, `details` says what exactly was wrong (expected and
 * actual hash, limit and actual size, path to an unsupported value), and `cause`
 * keeps the underlying error (a libSQL error, a decoder error) when there is one.
 * Plain misuse of the API from TypeScript (a number where an options object belongs)
 * may still raise a `TypeError`.
 *
 * @example
 * ```ts
 * try { await store.blobs.get(ref) }
 * catch (e) { if (e instanceof CairnError && e.code === "NOT_FOUND") { ... } }
 * ```
 */
export class CairnError extends Error {
  override readonly name = "CairnError";
  /** What kind of failure this is. */
  readonly code: CairnErrorCode;
  /** Structured facts about the failure. */
  readonly details: CairnErrorDetails;

  constructor(code: CairnErrorCode, message: string, details: CairnErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a {@link CairnError}, optionally with the given code. */
export function isCairnError(e: unknown, code?: CairnErrorCode): e is CairnError {
  return e instanceof CairnError && (code === undefined || e.code === code);
}

/** A short, safe description of any value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 80 ? JSON.stringify(value.slice(0, 77) + "...") : JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "symbol") return value.toString();
  if (value === null || typeof value !== "object") return String(value);
  const ctor = (value as object).constructor;
  return ctor && ctor !== Object ? `${ctor.name} instance` : "object";
}
