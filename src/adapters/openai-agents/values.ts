/**
 * Detached copies and canonical digests of the values the OpenAI Agents adapter
 * stores: session items and history transactions.
 *
 * The copy accepts exactly what cairn can store (plain objects, arrays, strings,
 * numbers, booleans, null, undefined, BigInt, Date, Map, Set, Uint8Array), so
 * the adapter can keep its own copy of what it committed, and refuses the rest
 * before anything is written. The digest names a value independently of object
 * key order and of Buffer versus Uint8Array: equal digests mean structurally
 * equal values.
 */
import { createHash, type Hash } from "node:crypto";
import { CairnError, describe } from "../../errors.js";
import { MAX_DEPTH } from "../../index.js";

function pointer(path: string, key: string | number): string {
  return `${path}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

function unsupported(path: string, value: unknown, why: string): CairnError {
  return new CairnError("UNSUPPORTED_VALUE", `cannot store ${describe(value)} at ${path || "/"}: ${why}`, { path: path || "/" });
}

/**
 * A deep copy of `value` that shares nothing mutable with it. Buffers become
 * plain Uint8Arrays (as cairn reads them back), array holes become undefined.
 * @throws CairnError UNSUPPORTED_VALUE (functions, symbols, class instances,
 *   cycles, a `__proto__` key) or LIMIT_EXCEEDED (nesting deeper than cairn's limit),
 *   with `details.path` a JSON Pointer to the offending value.
 */
export function detach<T>(value: T, path = ""): T {
  const ancestors = new Set<object>();
  const copy = (v: unknown, at: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) {
      throw new CairnError("LIMIT_EXCEEDED", `value nests deeper than ${MAX_DEPTH} levels at ${at || "/"}`, { path: at || "/", limit: MAX_DEPTH });
    }
    if (v === null || v === undefined) return v;
    switch (typeof v) {
      case "string":
        if (!(v as string).isWellFormed()) throw unsupported(at, v, "the string holds a lone surrogate (not well-formed Unicode)");
        return v;
      case "number":
      case "boolean":
      case "bigint":
        return v;
      case "object":
        break;
      default:
        throw unsupported(at, v, "functions and symbols cannot be stored");
    }
    const object = v as object;
    if (object instanceof Uint8Array) return new Uint8Array(object);
    if (object instanceof Date) return new Date(object.getTime());
    if (ancestors.has(object)) throw unsupported(at, v, "the value contains a cycle");
    ancestors.add(object);
    try {
      if (object instanceof Map) {
        const out = new Map<unknown, unknown>();
        let i = 0;
        for (const [k, x] of object) {
          const key = typeof k === "string" ? k : i;
          out.set(copy(k, pointer(at, key), depth + 1), copy(x, pointer(at, key), depth + 1));
          i++;
        }
        return out;
      }
      if (object instanceof Set) {
        const out = new Set<unknown>();
        let i = 0;
        for (const x of object) out.add(copy(x, pointer(at, i++), depth + 1));
        return out;
      }
      const proto = Object.getPrototypeOf(object);
      if (Array.isArray(object) && proto === Array.prototype) {
        const out = new Array<unknown>(object.length);
        for (let i = 0; i < object.length; i++) out[i] = copy(object[i], pointer(at, i), depth + 1);
        return out;
      }
      if (proto !== Object.prototype && proto !== null) {
        throw unsupported(at, v, "only plain objects, arrays, Map, Set, Date and Uint8Array can be stored");
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(object)) {
        if (!key.isWellFormed()) throw unsupported(pointer(at, key), key, "the key holds a lone surrogate (not well-formed Unicode)");
        if (key === "__proto__") throw unsupported(pointer(at, key), key, "the key __proto__ cannot be stored");
        out[key] = copy((object as Record<string, unknown>)[key], pointer(at, key), depth + 1);
      }
      return out;
    } finally {
      ancestors.delete(object);
    }
  };
  return copy(value, path, 0) as T;
}

/**
 * The canonical digest (hex SHA-256) of a value that {@link detach} accepts:
 * object keys sorted, Map entries and Set members ordered by their own digests,
 * -0 distinct from 0, Buffer and Uint8Array alike. An object key whose value is
 * undefined counts as absent, as in the SDK's own (JSON-based) item comparisons,
 * so a transaction rebuilt from a RunState's JSON still matches the original.
 * Guarantee: two values get the same digest exactly when they are structurally
 * equal in that sense.
 */
export function digest(value: unknown): string {
  const hash = createHash("sha256");
  feed(hash, value);
  return hash.digest("hex");
}

function text(hash: Hash, tag: string, s: string): void {
  hash.update(`${tag}${Buffer.byteLength(s, "utf8")}:`);
  hash.update(s, "utf8");
}

function feed(hash: Hash, v: unknown): void {
  if (v === undefined) return void hash.update("u");
  if (v === null) return void hash.update("n");
  switch (typeof v) {
    case "boolean":
      return void hash.update(v ? "T" : "F");
    case "number":
      return void hash.update(`d${Object.is(v, -0) ? "-0" : String(v)};`);
    case "bigint":
      return void hash.update(`i${v.toString(16)};`);
    case "string":
      return text(hash, "s", v);
    default:
      break;
  }
  if (v instanceof Uint8Array) {
    hash.update(`b${v.byteLength}:`);
    return void hash.update(v);
  }
  if (v instanceof Date) return void hash.update(`D${v.getTime()};`);
  if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => digest(k) + digest(x)).sort();
    hash.update(`m${entries.length}:`);
    for (const e of entries) hash.update(e);
    return;
  }
  if (v instanceof Set) {
    const members = [...v].map((x) => digest(x)).sort();
    hash.update(`S${members.length}:`);
    for (const m of members) hash.update(m);
    return;
  }
  if (Array.isArray(v)) {
    hash.update(`a${v.length}:`);
    for (let i = 0; i < v.length; i++) feed(hash, v[i]);
    return;
  }
  const record = v as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  hash.update(`o${keys.length}:`);
  for (const key of keys) {
    text(hash, "k", key);
    feed(hash, record[key]);
  }
}
