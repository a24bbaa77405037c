/** Shared helpers for the diff tests: stores, corruption, seeds and value arbitraries. */
import fc from "fast-check";
import type { Store } from "../../src/index.js";
import { CONTEXT, DATABASE } from "../../src/store.js";
import { compareCheckpoint, type CheckpointDiff, type DiffOptions, type RefLike, type ValueDiff } from "../../src/checkpoint/diff.js";
import type { Checkpoint } from "../../src/checkpoint/checkpoint.js";
import { prng } from "../support/seeded.js";
import { backends, type Backend } from "../support/backends.js";
import { expectCode } from "../support/expect-code.js";
export { backendTitle } from "../support/backends.js";
export { check, checkAsync } from "../support/seeded.js";

/** `store.diff(a, b)`, `store.diffValues(a, b)`, and the expected-checkpoint comparison (internal). */
export const storeDiff = (store: Store, a: RefLike, b: RefLike, options?: DiffOptions): Promise<CheckpointDiff> => store.diff(a, b, options);
export const storeDiffValues = (store: Store, a: RefLike, b: RefLike, options?: DiffOptions): Promise<ValueDiff> => store.diffValues(a, b, options);
export const storeCompare = (store: Store, expected: Checkpoint, received: RefLike): Promise<CheckpointDiff> =>
  compareCheckpoint(store[CONTEXT](), expected, received);

export type DiffBackend = Backend;

/**
 * Every backend of the registry, each store a database of its own: the tests
 * count and corrupt blobs of the whole store, which a shared server database would not allow.
 */
export function diffBackends(): DiffBackend[] {
  return backends({ isolated: true, prefix: "cairn-diff-" });
}

/** Overwrites the stored bytes of blob `ref` (its own row) behind the store's back. */
export async function corruptBlob(store: Store, ref: string): Promise<void> {
  const db = store[DATABASE];
  const row = await db.execute("SELECT data FROM blobs WHERE ref = unhex(?)", [ref]);
  const data = new Uint8Array(row.rows[0]![0] as ArrayBuffer);
  const broken = data.slice();
  for (let i = 0; i < broken.length; i++) broken[i] = broken[i]! ^ 0x5a;
  await db.writeBatch([{ sql: "UPDATE blobs SET data = ? WHERE ref = unhex(?)", args: [broken, ref] }]);
  await store.sync();
}

export { expectCode };

// ---- arbitraries ----

const wellFormedString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }).filter((s) => s.isWellFormed()),
);

/**
 * Object keys, with "/" and "~" common so JSON Pointer escaping is exercised.
 * "__proto__" cannot be stored; rfc6902's applier also skips "constructor" and
 * "prototype" path tokens, so the JSON interop property leaves those out.
 */
const objectKey = fc
  .oneof(wellFormedString, fc.constantFrom("a", "b", "a/b", "~", "~1", "", "0", "messages"))
  .filter((k) => k !== "__proto__" && k !== "constructor" && k !== "prototype");

const jsonLeaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
  wellFormedString,
);

const cairnLeaf = fc.oneof(
  jsonLeaf,
  fc.constant(undefined),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.uint8Array({ maxLength: 12 }),
  fc.date(), // valid and invalid dates
);

interface Trees {
  value: unknown;
  array: unknown[];
  object: Record<string, unknown>;
  map: Map<unknown, unknown>;
  set: Set<unknown>;
}

/** Nested values with `leaf` at the leaves; Maps and Sets only when `collections`. */
export function trees(leaf: fc.Arbitrary<unknown>, collections: boolean, maxDepth = 4): fc.Arbitrary<unknown> {
  return fc.letrec<Trees>((tie) => ({
    value: collections
      ? fc.oneof({ depthSize: "small", maxDepth }, leaf, tie("array"), tie("object"), tie("map"), tie("set"))
      : fc.oneof({ depthSize: "small", maxDepth }, leaf, tie("array"), tie("object")),
    array: fc.array(tie("value"), { maxLength: 6 }),
    object: fc.dictionary(objectKey, tie("value"), { maxKeys: 5 }),
    map: fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }).map((entries) => new Map(entries)),
    set: fc.array(tie("value"), { maxLength: 3 }).map((members) => new Set(members)),
  })).value;
}

export const jsonValues = trees(jsonLeaf, false);
export const cairnValues = trees(cairnLeaf, true);
/** cairn values with strings and byte arrays long enough to be moved out under a 64-byte threshold. */
export const cairnValuesWithLarge = trees(
  fc.oneof(cairnLeaf, fc.string({ unit: "grapheme", minLength: 30, maxLength: 200 }), fc.uint8Array({ minLength: 60, maxLength: 160 })),
  true,
  3,
);

/**
 * A copy of `value` with random edits: array items inserted, removed, changed;
 * object keys added, removed, changed; leaves replaced by parts of `donor`.
 * Related pairs (a, mutate(a)) make patches that reach deep, unlike two unrelated values.
 */
export function mutate(value: unknown, seed: number, donor: unknown): unknown {
  const random = prng(seed);
  const donorParts: unknown[] = [];
  const collect = (v: unknown, depth: number) => {
    donorParts.push(v);
    if (depth > 3) return;
    if (Array.isArray(v)) v.forEach((x) => collect(x, depth + 1));
    else if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) !== Map.prototype && !(v instanceof Set) && !(v instanceof Date) && !(v instanceof Uint8Array)) {
      Object.values(v).forEach((x) => collect(x, depth + 1));
    }
  };
  collect(donor, 0);
  const pick = () => donorParts[Math.floor(random() * donorParts.length)];
  const walk = (v: unknown): unknown => {
    const r = random();
    if (r < 0.08) return pick();
    if (Array.isArray(v)) {
      const out = v.map(walk);
      const edits = Math.floor(random() * 3);
      for (let i = 0; i < edits; i++) {
        const at = Math.floor(random() * (out.length + 1));
        if (random() < 0.5 && out.length > 0) out.splice(Math.min(at, out.length - 1), 1);
        else out.splice(at, 0, pick());
      }
      return out;
    }
    if (typeof v === "object" && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(v)) {
        if (random() < 0.15) continue;
        out[key] = walk(child);
      }
      if (random() < 0.3) out[`k${Math.floor(random() * 5)}`] = pick();
      return out;
    }
    return random() < 0.2 ? pick() : v;
  };
  return walk(value);
}

/** Lowercase hex of bytes. */
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
