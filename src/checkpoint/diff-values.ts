/**
 * The value diff engine: two decoded cairn values to RFC 6902 operations.
 *
 * - Plain objects and arrays are walked; every other value (Map, Set, Date,
 *   BigInt, Uint8Array, undefined, numbers, strings, links) is a leaf, compared
 *   whole and replaced whole. Numbers compare with Object.is (so -0 differs from
 *   0 and NaN equals NaN); Map and Set compare by their canonical encoding.
 * - A link to a moved-out string, byte array or stored value (BlobLink) is a leaf
 *   compared by tag and ref: equal refs are equal values and are never read. The
 *   async layer (diff.ts) resolves links left in operations.
 * - Arrays: the common prefix and suffix are cut off first (the usual case, a
 *   history that grew, then costs nothing more), the middle goes to rfc6902's
 *   Levenshtein diff when it is small, to jsdiff's Myers diff when it is large,
 *   and position by position when even that would be too costly.
 */
import { Pointer } from "rfc6902";
import { diffArrays as levenshteinArrays, type Diff as Rfc6902Diff } from "rfc6902/diff.js";
import type { Operation as Rfc6902Operation } from "rfc6902";
import { diffArrays as myersArrays, structuredPatch } from "diff";
import { BlobLink, encodeValue, type LinkSink } from "../codec/value-codec.js";
import { CairnError, describe } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import type { DiffOperation, DiffOptions, LineDiff, ValueComparison } from "./diff-types.js";

/**
 * Cost limits of the array diff. Internal; tests lower them to exercise every path.
 * @internal
 */
export const ARRAY_DIFF_LIMITS = {
  /** Largest middle (after cutting common prefix and suffix) n*m for rfc6902's Levenshtein. */
  levenshteinCells: 40_000,
  /** Largest n+m for it (its recursion is that deep). */
  levenshteinLength: 1_500,
  /** Most element edits jsdiff's Myers diff may find before giving up. */
  myersEdits: 1_000,
};

/** Most line edits a line diff may find before it is given up (LineDiff.complete false). */
export const LINE_DIFF_MAX_EDITS = 2_000;

/** An operation under construction (paths are rewritten while array diffs are rebased). */
export interface WorkingOperation {
  op: "add" | "remove" | "replace";
  path: string;
  value?: unknown;
  old?: unknown;
}

export interface ParsedDiffOptions {
  readonly context: number;
  readonly lineDiffMinLength: number;
}

/** Validates diff options. @throws CairnError INVALID_ARGUMENT. */
export function parseDiffOptions(options: DiffOptions | undefined): ParsedDiffOptions {
  if (options === undefined) return { context: 3, lineDiffMinLength: 1024 };
  if (typeof options !== "object" || options === null) {
    throw new CairnError("INVALID_ARGUMENT", `diff options must be an object, got ${describe(options)}`, { argument: "options" });
  }
  const int = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new CairnError("INVALID_ARGUMENT", `options.${name} must be a non-negative integer, got ${describe(value)}`, { argument: name });
    }
    return value as number;
  };
  return { context: int("context", options.context, 3), lineDiffMinLength: int("lineDiffMinLength", options.lineDiffMinLength, 1024) };
}

/**
 * A sink that moves nothing out and accepts links, so a value holding links
 * (a Map with a moved-out string in it) encodes canonically for comparison.
 */
const COMPARE_SINK: LinkSink = {
  threshold: Number.POSITIVE_INFINITY,
  moveOutString: () => undefined,
  moveOutBytes: () => {
    throw new Error("unreachable: nothing reaches an infinite threshold");
  },
  linked: () => {},
};

/** The canonical encoding of a value for comparison (links encode as their tag and ref). */
export function canonicalBytes(value: unknown): Uint8Array {
  return encodeValue(value, COMPARE_SINK);
}

/** A plain object (as cairn stores and decodes them). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Whether two cairn values are equal, as their canonical encodings would be:
 * numbers by Object.is, objects by own keys (a key holding undefined counts),
 * Maps and Sets by their canonical encoding, links by tag and ref.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== typeof b || typeof a !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) if (!Object.hasOwn(b, key) || !sameValue(a[key], b[key])) return false;
    return true;
  }
  if (a instanceof BlobLink) return b instanceof BlobLink && a.tag === b.tag && a.ref === b.ref;
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (a instanceof Map || a instanceof Set) {
    if (a.constructor !== (b as object).constructor || a.size !== (b as Map<unknown, unknown> | Set<unknown>).size) return false;
    return Buffer.compare(canonicalBytes(a), canonicalBytes(b)) === 0;
  }
  return false;
}

/**
 * The operations that turn `a` into `b`, with paths under `ptr`. Links are
 * leaves compared by ref; operations may hold links (the caller resolves them).
 */
export function diffTree(a: unknown, b: unknown, ptr: Pointer): WorkingOperation[] {
  if (Array.isArray(a) && Array.isArray(b)) return diffArray(a, b, ptr);
  if (isPlainObject(a) && isPlainObject(b)) return diffObject(a, b, ptr);
  if (sameValue(a, b)) return [];
  return [{ op: "replace", path: ptr.toString(), value: b, old: a }];
}

function diffObject(a: Record<string, unknown>, b: Record<string, unknown>, ptr: Pointer): WorkingOperation[] {
  const ops: WorkingOperation[] = [];
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  for (const key of aKeys) if (!Object.hasOwn(b, key)) ops.push({ op: "remove", path: ptr.add(key).toString(), old: a[key] });
  for (const key of bKeys) if (!Object.hasOwn(a, key)) ops.push({ op: "add", path: ptr.add(key).toString(), value: b[key] });
  for (const key of aKeys) if (Object.hasOwn(b, key)) ops.push(...diffTree(a[key], b[key], ptr.add(key)));
  return ops;
}

function diffArray(a: readonly unknown[], b: readonly unknown[], ptr: Pointer): WorkingOperation[] {
  let start = 0;
  const shortest = Math.min(a.length, b.length);
  while (start < shortest && sameValue(a[start], b[start])) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && sameValue(a[endA - 1], b[endB - 1])) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  const at = (i: number) => ptr.add(String(start + i)).toString();
  if (n === 0 && m === 0) return [];
  if (n === 0) return midB.map((value, i) => ({ op: "add", path: at(i), value }));
  if (m === 0) return midA.map((old) => ({ op: "remove", path: at(0), old }));
  if (n * m <= ARRAY_DIFF_LIMITS.levenshteinCells && n + m <= ARRAY_DIFF_LIMITS.levenshteinLength) {
    return rebaseLevenshtein(midA, midB, ptr, start);
  }
  return myers(midA, midB, ptr, start) ?? positional(midA, midB, ptr, start);
}

/**
 * rfc6902's minimal add/remove/replace sequence for the middle of an array,
 * diffed from an empty pointer and moved under `ptr` at offset `start`. Its "-"
 * (append) index becomes the explicit index, and each removal gets its old value,
 * by replaying the top-level operations on a copy of the middle.
 */
function rebaseLevenshtein(midA: unknown[], midB: unknown[], ptr: Pointer, start: number): WorkingOperation[] {
  const hook: Rfc6902Diff = (x, y, p) => diffTree(x, y, p) as unknown as Rfc6902Operation[];
  const raw = levenshteinArrays(midA, midB, new Pointer(), hook) as unknown as WorkingOperation[];
  const work = midA.slice();
  for (const op of raw) {
    const tokens = Pointer.fromJSON(op.path).tokens.slice(1);
    const first = tokens[0]!;
    const index = first === "-" ? work.length : Number(first);
    if (tokens.length === 1) {
      if (op.op === "add") work.splice(index, 0, op.value);
      else if (op.op === "remove") op.old = work.splice(index, 1)[0];
      else work[index] = op.value;
    }
    op.path = new Pointer([...ptr.tokens, String(start + index), ...tokens.slice(1)]).toString();
  }
  return raw;
}

/**
 * jsdiff's Myers diff of a large middle, on the SHA-256 of each element's
 * canonical encoding (equal exactly when the elements are), so each comparison
 * is a string compare. A removed run next to an added run is diffed pairwise.
 * Undefined when too costly (more than `myersEdits` element edits).
 */
function myers(midA: unknown[], midB: unknown[], ptr: Pointer, start: number): WorkingOperation[] | undefined {
  const keysA = elementKeys(midA);
  const keysB = elementKeys(midB);
  const changes =
    keysA && keysB
      ? myersArrays(keysA, keysB, { maxEditLength: ARRAY_DIFF_LIMITS.myersEdits })
      : myersArrays(midA, midB, { comparator: sameValue, maxEditLength: ARRAY_DIFF_LIMITS.myersEdits });
  if (changes === undefined) return undefined;
  const ops: WorkingOperation[] = [];
  let index = start;
  let ia = 0;
  let ib = 0;
  let removed: unknown[] = [];
  let added: unknown[] = [];
  const flush = () => {
    const paired = Math.min(removed.length, added.length);
    for (let i = 0; i < paired; i++) ops.push(...diffTree(removed[i], added[i], ptr.add(String(index + i))));
    for (let i = paired; i < removed.length; i++) ops.push({ op: "remove", path: ptr.add(String(index + paired)).toString(), old: removed[i] });
    for (let i = paired; i < added.length; i++) ops.push({ op: "add", path: ptr.add(String(index + i)).toString(), value: added[i] });
    index += added.length;
    removed = [];
    added = [];
  };
  for (const change of changes) {
    if (change.removed) {
      removed.push(...midA.slice(ia, ia + change.count));
      ia += change.count;
    } else if (change.added) {
      added.push(...midB.slice(ib, ib + change.count));
      ib += change.count;
    } else {
      flush();
      index += change.count;
      ia += change.count;
      ib += change.count;
    }
  }
  flush();
  return ops;
}

/** The hash of each element's canonical encoding, or undefined when one cannot be encoded. */
function elementKeys(items: readonly unknown[]): string[] | undefined {
  try {
    return items.map((item) => hashBytes(canonicalBytes(item)));
  } catch {
    return undefined;
  }
}

/** Position by position: always correct, minimal only when nothing moved. */
function positional(midA: unknown[], midB: unknown[], ptr: Pointer, start: number): WorkingOperation[] {
  const ops: WorkingOperation[] = [];
  const paired = Math.min(midA.length, midB.length);
  for (let i = 0; i < paired; i++) ops.push(...diffTree(midA[i], midB[i], ptr.add(String(start + i))));
  for (let i = midA.length - 1; i >= paired; i--) ops.push({ op: "remove", path: ptr.add(String(start + i)).toString(), old: midA[i] });
  for (let i = paired; i < midB.length; i++) ops.push({ op: "add", path: ptr.add(String(start + i)).toString(), value: midB[i] });
  return ops;
}

/** A line diff of two strings, trimmed to the changed hunks. */
export function lineDiff(path: string, a: string, b: string, context: number, aRef?: Ref, bRef?: Ref): LineDiff {
  const patch = structuredPatch("a", "b", a, b, undefined, undefined, { context, maxEditLength: LINE_DIFF_MAX_EDITS });
  return {
    path,
    ...(aRef !== undefined ? { aRef } : {}),
    ...(bRef !== undefined ? { bRef } : {}),
    aLength: a.length,
    bLength: b.length,
    hunks: patch === undefined ? [] : patch.hunks.map((h) => ({ oldStart: h.oldStart, oldLines: h.oldLines, newStart: h.newStart, newLines: h.newLines, lines: h.lines })),
    complete: patch !== undefined,
  };
}

/** Whether a replaced pair of strings gets a line diff. */
export function wantsLineDiff(a: unknown, b: unknown, options: ParsedDiffOptions, movedOut: boolean): a is string {
  return typeof a === "string" && typeof b === "string" && (movedOut || Math.max(a.length, b.length) >= options.lineDiffMinLength);
}

/** Freezes working operations into diff operations (fields in the RFC's order). */
export function finishOperation(op: WorkingOperation): DiffOperation {
  switch (op.op) {
    case "add":
      return { op: "add", path: op.path, value: op.value };
    case "remove":
      return "old" in op ? { op: "remove", path: op.path, old: op.old } : { op: "remove", path: op.path };
    case "replace":
      return { op: "replace", path: op.path, value: op.value, old: op.old };
  }
}

/**
 * The differences between two values in memory: an RFC 6902 patch that turns `a`
 * into `b` (apply it with {@link applyPatch}), and line diffs of the long strings
 * it replaces. Any link (`unchanged(ref)`) inside them is compared by ref and kept
 * as it is; nothing is read from a store.
 *
 * Guarantee: `applyPatch(a, patch)` equals `b` (as cairn compares values: -0 is not
 * 0, NaN is NaN, a key holding undefined is kept); `patch` is empty exactly when
 * `a` and `b` are equal. Plain objects and arrays are diffed member by member;
 * Map, Set, Date, BigInt, Uint8Array, undefined, -0 and NaN are replaced whole.
 * @throws CairnError INVALID_ARGUMENT (bad options), UNSUPPORTED_VALUE (a Map or Set holding a value cairn cannot encode).
 * @example
 * compareValues({ n: 1, tags: ["a"] }, { n: 2, tags: ["a", "b"] }).patch
 * // [{ op: "replace", path: "/n", value: 2, old: 1 }, { op: "add", path: "/tags/1", value: "b" }]
 */
export function compareValues(a: unknown, b: unknown, options?: DiffOptions): ValueComparison {
  const parsed = parseDiffOptions(options);
  const patch = diffTree(a, b, new Pointer()).map(finishOperation);
  const lineDiffs: LineDiff[] = [];
  for (const op of patch) {
    if (op.op === "replace" && wantsLineDiff(op.old, op.value, parsed, false)) lineDiffs.push(lineDiff(op.path, op.old, op.value as string, parsed.context));
  }
  return { kind: "value", equal: patch.length === 0, patch, lineDiffs };
}
