/**
 * The canonical value codec: golden bytes and refs (on-disk format version 1),
 * fidelity and canonicality properties, moved-out values, refusals with paths,
 * and hostile bytes.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { BlobLink, decodeValue, encodeValue, EXT, LinkTag, MAX_DEPTH, type LinkSink } from "../../src/codec/value-codec.js";
import { CairnError } from "../../src/errors.js";
import { hashBytes, type Ref } from "../../src/hash/ref.js";
import { openStore, type Store } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { check, checkAsync, prng } from "../support/seeded.js";

// ---- helpers ----

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));
const utf8Length = (text: string): number => Buffer.byteLength(text, "utf8");

/** A short description of any value for failure messages (String() throws on null-prototype objects). */
function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value !== "object" || value === null) return String(value);
  return Object.prototype.toString.call(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The first difference between `actual` and `expected`, as a path and a reason, or
 * undefined when they are the same value. Stricter than toEqual: numbers with
 * Object.is (-0 is not 0, NaN is NaN), undefined-valued keys must be present on both
 * sides, types must match exactly (Uint8Array, Date, Map, Set, BlobLink, plain).
 * Map entries and Set members are matched regardless of order.
 */
function difference(actual: unknown, expected: unknown, path = ""): string | undefined {
  const at = path || "/";
  if (typeof expected !== "object" || expected === null) {
    return Object.is(actual, expected) ? undefined : `${at}: got ${show(actual)} (${typeof actual}), want ${show(expected)} (${typeof expected})`;
  }
  if (typeof actual !== "object" || actual === null) return `${at}: got ${show(actual)}, want an object`;
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array) || actual.constructor !== Uint8Array) return `${at}: want a Uint8Array`;
    return hex(actual) === hex(expected) ? undefined : `${at}: bytes ${hex(actual)} != ${hex(expected)}`;
  }
  if (expected instanceof Date) {
    if (!(actual instanceof Date)) return `${at}: want a Date`;
    return Object.is(actual.getTime(), expected.getTime()) ? undefined : `${at}: time ${actual.getTime()} != ${expected.getTime()}`;
  }
  if (expected instanceof BlobLink) {
    if (!(actual instanceof BlobLink)) return `${at}: want a BlobLink, got ${show(actual)}`;
    return actual.tag === expected.tag && actual.ref === expected.ref ? undefined : `${at}: link ${actual.tag}/${actual.ref} != ${expected.tag}/${expected.ref}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: want an array`;
    if (actual.length !== expected.length) return `${at}: length ${actual.length} != ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      if (!(i in actual)) return `${path}/${i}: hole`;
      const d = difference(actual[i], expected[i], `${path}/${i}`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected instanceof Map) {
    if (!(actual instanceof Map)) return `${at}: want a Map`;
    if (actual.size !== expected.size) return `${at}: Map size ${actual.size} != ${expected.size}`;
    const used = new Set<number>();
    const actualEntries = [...actual];
    for (const [k, v] of expected) {
      const match = actualEntries.findIndex(([ak, av], i) => !used.has(i) && difference(ak, k) === undefined && difference(av, v) === undefined);
      if (match < 0) return `${at}: no entry matches key ${show(k)}`;
      used.add(match);
    }
    return undefined;
  }
  if (expected instanceof Set) {
    if (!(actual instanceof Set)) return `${at}: want a Set`;
    if (actual.size !== expected.size) return `${at}: Set size ${actual.size} != ${expected.size}`;
    const used = new Set<number>();
    const actualMembers = [...actual];
    for (const m of expected) {
      const match = actualMembers.findIndex((am, i) => !used.has(i) && difference(am, m) === undefined);
      if (match < 0) return `${at}: no member matches ${show(m)}`;
      used.add(match);
    }
    return undefined;
  }
  if (!isPlainObject(expected)) return `${at}: the expected value is not a supported type`;
  if (!isPlainObject(actual)) return `${at}: want a plain object`;
  const actualKeys = Object.keys(actual).sort();
  const expectedKeys = Object.keys(expected).sort();
  if (actualKeys.join("\u0000") !== expectedKeys.join("\u0000")) return `${at}: keys ${JSON.stringify(actualKeys)} != ${JSON.stringify(expectedKeys)}`;
  for (const key of expectedKeys) {
    const d = difference(actual[key], expected[key], `${path}/${key}`);
    if (d) return d;
  }
  return undefined;
}

function expectSame(actual: unknown, expected: unknown): void {
  expect(difference(actual, expected)).toBeUndefined();
}

/** The CairnError `fn` throws (failing the test if it throws anything else or nothing). */
function caught(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    return error as CairnError;
  }
  throw new Error("expected a CairnError, nothing was thrown");
}

async function caughtAsync(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    return error as CairnError;
  }
  throw new Error("expected a CairnError, nothing was thrown");
}

/** `leaf` wrapped in `n` arrays: the leaf sits at depth n + 1. */
function nest(n: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < n; i++) value = [value];
  return value;
}

async function blobCount(store: Store): Promise<number> {
  const result = await store[DATABASE].execute("SELECT count(*) FROM blobs");
  return Number(result.rows[0]![0]);
}

/** A sink like the store's: strings and bytes of at least `threshold` UTF-8 bytes are moved out, named by their SHA-256. */
function recordingSink(threshold: number): LinkSink & { moved: Ref[]; links: Ref[] } {
  const moved: Ref[] = [];
  const links: Ref[] = [];
  return {
    threshold,
    moved,
    links,
    moveOutString(text) {
      const bytes = Buffer.from(text, "utf8");
      if (bytes.byteLength < threshold) return undefined;
      const ref = hashBytes(bytes);
      moved.push(ref);
      return ref;
    },
    moveOutBytes(bytes) {
      expect(bytes.byteLength).toBeGreaterThanOrEqual(threshold);
      const ref = hashBytes(bytes);
      moved.push(ref);
      return ref;
    },
    linked(ref) {
      links.push(ref);
    },
  };
}

// ---- arbitraries ----

const wellFormedString = fc.oneof(
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }).filter((s) => s.isWellFormed()),
);
/**
 * Object keys. "__proto__" is left out here: an own "__proto__" key is refused by the
 * encoder (see the UNSUPPORTED_VALUE tests), so it cannot round-trip.
 */
const objectKey = wellFormedString.filter((k) => k !== "__proto__");

const leaf = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.double(), // includes -0, NaN, Infinity, -Infinity
  fc.integer(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 64, -(2 ** 31), 2 ** 32),
  fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n }),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  wellFormedString,
  fc.uint8Array({ maxLength: 40 }),
  fc.date(), // valid and invalid (new Date(NaN)) dates
);

interface Trees {
  value: unknown;
  array: unknown[];
  object: Record<string, unknown>;
  map: Map<unknown, unknown>;
  set: Set<unknown>;
}

/** Nested values of every supported type; `leafArb` at the leaves. */
function trees(leafArb: fc.Arbitrary<unknown>, maxDepth = 4): fc.Arbitrary<unknown> {
  return fc.letrec<Trees>((tie) => ({
    value: fc.oneof({ depthSize: "small", maxDepth }, leafArb, tie("array"), tie("object"), tie("map"), tie("set")),
    array: fc.array(tie("value"), { maxLength: 5 }),
    object: fc.dictionary(objectKey, tie("value"), { maxKeys: 5 }), // also null-prototype objects
    map: fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 4 }).map((entries) => new Map(entries)),
    set: fc.array(tie("value"), { maxLength: 4 }).map((members) => new Set(members)),
  })).value;
}

const values = trees(leaf);

/** A deep copy of `value` with object keys and Map/Set insertion orders shuffled by `random`. */
function shuffled(value: unknown, random: () => number): unknown {
  const shuffle = <T>(items: T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  if (typeof value !== "object" || value === null || value instanceof Uint8Array || value instanceof Date || value instanceof BlobLink) return value;
  if (Array.isArray(value)) return value.map((v) => shuffled(v, random));
  if (value instanceof Map) return new Map(shuffle([...value]).map(([k, v]) => [shuffled(k, random), shuffled(v, random)]));
  if (value instanceof Set) return new Set(shuffle([...value]).map((v) => shuffled(v, random)));
  const out: Record<string, unknown> = {};
  for (const key of shuffle(Object.keys(value))) out[key] = shuffled((value as Record<string, unknown>)[key], random);
  return out;
}

// ---- golden fixtures ----

/**
 * GOLDEN FIXTURES. These pin on-disk format version 1: the exact canonical bytes of
 * each value and its ref (the SHA-256 of those bytes, which is also what
 * store.values.put returns). Stored data is named by these refs, so they must never
 * change. If one of these tests fails, the codec changed the format: fix the codec,
 * never the fixture.
 */
const GOLDEN: ReadonlyArray<{ name: string; value: () => unknown; hex: string; ref: string }> = [
  { name: "null", value: () => null, hex: "c0", ref: "e4ff5e7d7a7f08e9800a3e25cb774533cb20040df30b6ba10f956f9acd0eb3f7" },
  { name: "true", value: () => true, hex: "c3", ref: "ae3f4619b0413d70d3004b9131c3752153074e45725be13b9a148978895e359e" },
  { name: "false", value: () => false, hex: "c2", ref: "c557e71380112b980eaf1145fa80621130dfbdfa1e375d87ae0018b7c60ac16b" },
  { name: "0", value: () => 0, hex: "00", ref: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" },
  { name: "-0", value: () => -0, hex: "cb8000000000000000", ref: "c96935e11c5e375d4091108a92c55bc3bb27726cdbfc869b912692be20e37b99" },
  { name: "1", value: () => 1, hex: "01", ref: "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a" },
  { name: "-1", value: () => -1, hex: "ff", ref: "a8100ae6aa1940d0b663bb31cd466142ebbdbd5187131b92d93818987832eb89" },
  { name: "127", value: () => 127, hex: "7f", ref: "620bfdaa346b088fb49998d92f19a7eaf6bfc2fb0aee015753966da1028cb731" },
  { name: "128", value: () => 128, hex: "cc80", ref: "1cadf684f78b966768c729e93e1195521dfe5fef905910fe81363b3a6760eb34" },
  { name: "2**53-1", value: () => 2 ** 53 - 1, hex: "cf001fffffffffffff", ref: "7eb0a60e9a88902053db9e23bad9de3e89bd719e9df334b971d5f2961f9fd8d9" },
  { name: "1.5", value: () => 1.5, hex: "cb3ff8000000000000", ref: "00bc9b0ff7c059b7d20910a87f63c6e1c7f91c94e861abd9ba2151f5b2353c68" },
  { name: "NaN", value: () => NaN, hex: "cb7ff8000000000000", ref: "4f2730c4028225738a980abc35d59ccbfb28f73a79737ce7cb556dc1fa79460c" },
  { name: "Infinity", value: () => Infinity, hex: "cb7ff0000000000000", ref: "950c76c2165354510aa574255f37bbc6b2b79b3590cac48ceb0f21b1d48cc10f" },
  { name: "-Infinity", value: () => -Infinity, hex: "cbfff0000000000000", ref: "c293564c640bf5f8d67117f1de35f05cbc77f258caad54e16cc819cda90c0a30" },
  { name: "empty string", value: () => "", hex: "a0", ref: "c19a797fa1fd590cd2e5b42d1cf5f246e29b91684e2f87404b81dc345c7a56a0" },
  { name: "unicode string", value: () => "héllo ☃ 𝄞", hex: "af68c3a96c6c6f20e2988320f09d849e", ref: "c27c88b1dfe265138ae9020a9bfb118009c9e70f6c145f28809021f1fba2b9ff" },
  { name: "0n", value: () => 0n, hex: "d40100", ref: "903e0a735ee3d4f6f17bb8ceb5140d678e6e467e475ada0a6dd9f95d4d7e6169" },
  { name: "-12345678901234567890123n", value: () => -12345678901234567890123n, hex: "c70b0101029d42b64e76714244cb", ref: "f7356298806b2e471325c0df582d99cdec13cf72c61017156a9e70dfa568658f" },
  { name: "2n**100n", value: () => 2n ** 100n, hex: "c70e010010000000000000000000000000", ref: "6e5662519ed77469f06b1210c0737d785e94ffa1a415004c76b1e11804166f3a" },
  { name: "Uint8Array [1,2,3]", value: () => new Uint8Array([1, 2, 3]), hex: "c403010203", ref: "ac0b4300f32ed734d4c42a74d65f6968eab3949f6289f1c811a94cdafccfcef3" },
  { name: "new Date(0)", value: () => new Date(0), hex: "d6ff00000000", ref: "3031ba9fd60333215e9c298d15d6dc83cc6207ef9ceb35422d8966e14dfd6df9" },
  { name: "new Date(NaN)", value: () => new Date(NaN), hex: "c70005", ref: "e7e5b6fd28bb88a365cd80c63070d391d9dea5d2f2b8e9334a039176c072dc89" },
  { name: "undefined", value: () => undefined, hex: "c70004", ref: "a79e3f91847f09bf46a26577ea4b7f79314bcf69f7629b740494d87bacb80115" },
  { name: "[1,[2,[3]]]", value: () => [1, [2, [3]]], hex: "920192029103", ref: "ebe64a815418773ced652eb6494b74648f7aab0bac2b29e528511d57d8a40b3b" },
  { name: "{b:2,a:1}", value: () => ({ b: 2, a: 1 }), hex: "82a16101a16202", ref: "19f2a1aa9670884ef43ef46ffbe4a62ad7677228fab8d18ce4cbe47e90edf622" },
  { name: "Map b→1, a→2", value: () => new Map([["b", 1], ["a", 2]]), hex: "c7070294a16102a16201", ref: "e7b66914f4ea5bd7243836ca8ff9c29c187a37310212c02ae97f6f43f74a04ac" },
  { name: "Set {3,1,2}", value: () => new Set([3, 1, 2]), hex: "d60393010203", ref: "cacb1de97efccd8292d51156fd21f761fbbcc44f7c9661fe1f208ee205f3ab2b" },
  {
    name: "nested mix",
    value: () => ({
      z: [null, -0, 1n, new Uint8Array([9]), new Date(1700000000123)],
      m: new Map<unknown, unknown>([
        [1, new Set(["x"])],
        ["k", { u: undefined }],
      ]),
      s: "s",
      a: { n: NaN, d: new Date(NaN) },
    }),
    hex: "84a16182a164c70005a16ecb7ff8000000000000a16dd8029401c7030391a178a16b81a175c70004a173a173a17a95c0cb8000000000000000d5010001c40109d7ff1d5353006553f100",
    ref: "c57a73ab49aa7074d523341ad7880ec5151672430953e130eeccc015ee671088",
  },
];

describe("value codec: golden fixtures (format version 1, must never change)", () => {
  it.each(GOLDEN)("$name encodes to its pinned bytes and ref, and decodes back", ({ value, hex: want, ref }) => {
    const bytes = encodeValue(value());
    expect(hex(bytes)).toBe(want);
    expect(hashBytes(bytes)).toBe(ref);
    // The pinned bytes decode to the value (for every fixture, not only this build's output).
    const decoded = decodeValue(fromHex(want));
    expect(decoded.links).toEqual([]);
    expectSame(decoded.value, value());
  });

  it("store.values.put returns the pinned refs and get returns the values", async () => {
    const store = await openStore({ url: ":memory:" });
    try {
      for (const { name, value, ref } of GOLDEN) {
        expect(await store.values.put(value()), name).toBe(ref);
        expect(difference(await store.values.get(ref), value()), name).toBeUndefined();
      }
    } finally {
      await store.close();
    }
  });

  it("object key order does not change the bytes or the ref", async () => {
    expect(hex(encodeValue({ a: 1, b: 2 }))).toBe("82a16101a16202");
    expect(hex(encodeValue({ b: 2, a: 1 }))).toBe("82a16101a16202");
    const nullProto = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
    expect(hex(encodeValue(nullProto))).toBe("82a16101a16202");
    const store = await openStore({ url: ":memory:" });
    try {
      const one = await store.values.put({ a: 1, b: 2 });
      const two = await store.values.put({ b: 2, a: 1 });
      expect(one).toBe(two);
      expect(one).toBe("19f2a1aa9670884ef43ef46ffbe4a62ad7677228fab8d18ce4cbe47e90edf622");
    } finally {
      await store.close();
    }
  });

  it("Map and Set insertion order does not change the bytes", () => {
    expect(hex(encodeValue(new Map([["a", 2], ["b", 1]])))).toBe("c7070294a16102a16201");
    expect(hex(encodeValue(new Map([["b", 1], ["a", 2]])))).toBe("c7070294a16102a16201");
    for (const order of [[1, 2, 3], [3, 2, 1], [2, 3, 1]]) expect(hex(encodeValue(new Set(order)))).toBe("d60393010203");
    // Keys of different types, nested collections as keys.
    const a = new Map<unknown, unknown>([[1, "x"], ["1", "y"], [new Set([2, 1]), "z"], [null, 0]]);
    const b = new Map<unknown, unknown>([[new Set([1, 2]), "z"], [null, 0], ["1", "y"], [1, "x"]]);
    expect(hex(encodeValue(a))).toBe(hex(encodeValue(b)));
  });

  it("extension type numbers are the ones of format version 1", () => {
    expect(EXT).toEqual({ LINK: 0, BIGINT: 1, MAP: 2, SET: 3, UNDEFINED: 4, INVALID_DATE: 5 });
    expect(LinkTag).toEqual({ STRING: 0, BYTES: 1, VALUE: 2 });
    expect(MAX_DEPTH).toBe(256);
  });
});

describe("value codec: fidelity", () => {
  it("keeps undefined: {a: undefined} keeps the key, arrays keep undefined members", () => {
    // Documented behaviour: undefined is a value of its own (extension type 4), not "absent".
    const decoded = decodeValue(encodeValue({ a: undefined, b: [undefined, 1, undefined] })).value as { a?: unknown; b: unknown[] };
    expect("a" in decoded).toBe(true);
    expect(decoded.a).toBeUndefined();
    expect(decoded.b).toHaveLength(3);
    expect(0 in decoded.b && 2 in decoded.b).toBe(true);
    expect(hex(encodeValue({ a: undefined }))).not.toBe(hex(encodeValue({})));
  });

  it("keeps -0, NaN and the sign of infinities exactly", () => {
    const decoded = decodeValue(encodeValue([-0, 0, NaN, Infinity, -Infinity, new Map([["z", -0]])])).value as unknown[];
    expect(Object.is(decoded[0], -0)).toBe(true);
    expect(Object.is(decoded[1], 0)).toBe(true);
    expect(Object.is(decoded[2], NaN)).toBe(true);
    expect(decoded[3]).toBe(Infinity);
    expect(decoded[4]).toBe(-Infinity);
    expect(Object.is((decoded[5] as Map<string, number>).get("z"), -0)).toBe(true);
  });

  it("gives every NaN the same bytes, whatever its payload", () => {
    // NaNs with other bit patterns are the same JS value (Object.is(x, NaN)), so they must
    // encode like NaN, or equal values get different refs.
    const bits = new BigUint64Array([0x7ff8000000000001n, 0xfff8000000000000n, 0x7ff4000000000000n]);
    for (const nan of new Float64Array(bits.buffer)) {
      expect(Object.is(nan, NaN)).toBe(true);
      expect(hex(encodeValue(nan))).toBe("cb7ff8000000000000");
      expect(hex(encodeValue({ x: [nan] }))).toBe(hex(encodeValue({ x: [NaN] })));
    }
  });

  it("keeps integers, unsafe integers and bigints apart", () => {
    const input = [2 ** 53 - 1, 2 ** 53, -(2 ** 53 - 1), 2 ** 64, 2n ** 64n, -(2n ** 64n), 1n, -1n, 255n, 256n];
    const decoded = decodeValue(encodeValue(input)).value as unknown[];
    expectSame(decoded, input);
    expect(decoded.map((v) => typeof v)).toEqual(input.map((v) => typeof v));
  });

  it("round-trips arbitrary values through encodeValue/decodeValue", () => {
    check(
      fc.property(values, (value) => {
        const bytes = encodeValue(value);
        const decoded = decodeValue(bytes);
        expect(decoded.links).toEqual([]);
        const d = difference(decoded.value, value);
        if (d) throw new Error(`decoded value differs at ${d}`);
        // Encoding is a function of the value: the decoded copy encodes to the same bytes.
        expect(hex(encodeValue(decoded.value))).toBe(hex(bytes));
      }),
      400,
    );
  });

  it("round-trips arbitrary values (with long strings and byte arrays moved out) through a :memory: store", async () => {
    const store = await openStore({ url: ":memory:", moveOutThreshold: 64 });
    const long = fc.oneof(leaf, fc.string({ unit: "grapheme", minLength: 20, maxLength: 90 }), fc.uint8Array({ minLength: 50, maxLength: 150 }));
    try {
      await checkAsync(
        fc.asyncProperty(trees(long, 3), async (value) => {
          const ref = await store.values.put(value);
          const back = await store.values.get(ref);
          const d = difference(back, value);
          if (d) throw new Error(`stored value differs at ${d}`);
          expect(await store.values.put(back)).toBe(ref);
        }),
        60,
      );
    } finally {
      await store.close();
    }
  });

  it("with nothing moved out, the store's ref is the SHA-256 of encodeValue's bytes", async () => {
    const store = await openStore({ url: ":memory:" });
    try {
      await checkAsync(
        fc.asyncProperty(values, async (value) => {
          expect(await store.values.put(value)).toBe(hashBytes(encodeValue(value)));
        }),
        40,
      );
    } finally {
      await store.close();
    }
  });
});

describe("value codec: canonical bytes", () => {
  it("permuting object keys and Map/Set insertion order never changes the bytes", () => {
    check(
      fc.property(values, fc.integer(), (value, seed) => {
        const copy = shuffled(value, prng(seed));
        expect(hex(encodeValue(copy))).toBe(hex(encodeValue(value)));
      }),
      400,
    );
  });

  it("a Map whose keys encode alike is still canonical", () => {
    // Two distinct [] keys: Map keeps both, and the entry order must not depend on insertion.
    const one = new Map<unknown, unknown>([
      [[], 1],
      [[], 2],
    ]);
    const two = new Map<unknown, unknown>([
      [[], 2],
      [[], 1],
    ]);
    expect(hex(encodeValue(one))).toBe(hex(encodeValue(two)));
    const decoded = decodeValue(encodeValue(one)).value as Map<unknown, unknown>;
    expect([...decoded.values()].sort()).toEqual([1, 2]);
  });
});

describe("value codec: moved-out values", () => {
  const THRESHOLD = 100;

  /** What decodeValue should give for `value` under a sink of THRESHOLD: big strings and bytes become links, except inside Map keys and Sets. */
  function expectedLinks(value: unknown, inKey = false): unknown {
    if (typeof value === "string") {
      return !inKey && utf8Length(value) >= THRESHOLD ? new BlobLink(LinkTag.STRING, hashBytes(Buffer.from(value, "utf8"))) : value;
    }
    if (value instanceof Uint8Array) return !inKey && value.byteLength >= THRESHOLD ? new BlobLink(LinkTag.BYTES, hashBytes(value)) : value;
    if (typeof value !== "object" || value === null || value instanceof Date) return value;
    if (Array.isArray(value)) return value.map((v) => expectedLinks(v, inKey));
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [expectedLinks(k, true), expectedLinks(v, inKey)]));
    if (value instanceof Set) return new Set([...value].map((v) => expectedLinks(v, true)));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = expectedLinks((value as Record<string, unknown>)[key], inKey);
    return out;
  }

  it("moves out strings and byte arrays of at least the threshold, and only those", () => {
    const at = "x".repeat(THRESHOLD);
    const under = "x".repeat(THRESHOLD - 1);
    const multiByte = "é".repeat(50); // 50 UTF-16 units, 100 UTF-8 bytes: moved out
    const value = {
      at,
      under,
      multiByte,
      bytesAt: new Uint8Array(THRESHOLD).fill(7),
      bytesUnder: new Uint8Array(THRESHOLD - 1).fill(7),
      list: [at, 1],
      map: new Map<unknown, unknown>([[at, at]]), // key stays inline, value moves out
      set: new Set([at]), // members stay inline
    };
    const sink = recordingSink(THRESHOLD);
    const bytes = encodeValue(value, sink);
    const decoded = decodeValue(bytes);
    const v = decoded.value as Record<string, unknown>;
    const textRef = hashBytes(Buffer.from(at, "utf8"));
    expectSame(v.at, new BlobLink(LinkTag.STRING, textRef));
    expect(v.under).toBe(under);
    expectSame(v.multiByte, new BlobLink(LinkTag.STRING, hashBytes(Buffer.from(multiByte, "utf8"))));
    expectSame(v.bytesAt, new BlobLink(LinkTag.BYTES, hashBytes(new Uint8Array(THRESHOLD).fill(7))));
    expectSame(v.bytesUnder, new Uint8Array(THRESHOLD - 1).fill(7));
    expectSame(v.list, [new BlobLink(LinkTag.STRING, textRef), 1]);
    expectSame(v.map, new Map([[at, new BlobLink(LinkTag.STRING, textRef)]]));
    expectSame(v.set, new Set([at]));
    // Links are reported: to the sink while encoding, as sites while decoding.
    expect(decoded.links).toHaveLength(5);
    expect([...sink.links].sort()).toEqual(decoded.links.map((s) => s.link.ref).sort());
    expect([...sink.moved].sort()).toEqual([...sink.links].sort());
    // A link is 36 bytes in place of 100 or more.
    expect(bytes.byteLength).toBeLessThan(encodeValue(value).byteLength);
    // Same value, same bytes, every time.
    expect(hex(encodeValue(value, recordingSink(THRESHOLD)))).toBe(hex(bytes));
  });

  it("link sites put resolved values back in place", () => {
    const big = "y".repeat(THRESHOLD);
    const decoded = decodeValue(encodeValue({ a: [big], m: new Map([[1, big]]) }, recordingSink(THRESHOLD)));
    for (const site of decoded.links) site.replace("resolved");
    expectSame(decoded.value, { a: ["resolved"], m: new Map([[1, "resolved"]]) });
    const root = decodeValue(encodeValue(big, recordingSink(THRESHOLD)));
    expect(root.value).toBeInstanceOf(BlobLink);
    root.links[0]!.replace(big);
    expect(root.value).toBe(big);
  });

  it("links exactly the big strings and byte arrays of arbitrary values, deterministically", () => {
    const withBig = fc.oneof(
      leaf,
      fc.string({ unit: "grapheme", minLength: 30, maxLength: 120 }),
      fc.uint8Array({ minLength: 90, maxLength: 110 }),
    );
    check(
      fc.property(trees(withBig, 3), (value) => {
        const sink = recordingSink(THRESHOLD);
        const bytes = encodeValue(value, sink);
        const decoded = decodeValue(bytes);
        const d = difference(decoded.value, expectedLinks(value));
        if (d) throw new Error(`linked value differs at ${d}`);
        expect(decoded.links.map((s) => s.link.ref).sort()).toEqual([...sink.links].sort());
        expect(hex(encodeValue(value, recordingSink(THRESHOLD)))).toBe(hex(bytes));
      }),
      200,
    );
  });

  it("a BlobLink given in a value is written as a link and reported to the sink", () => {
    const ref = hashBytes(new Uint8Array([1]));
    const sink = recordingSink(THRESHOLD);
    const bytes = encodeValue({ l: new BlobLink(LinkTag.VALUE, ref) }, sink);
    expect(sink.links).toEqual([ref]);
    expect(hex(bytes)).toBe(`81a16cc72100${"02"}${ref}`);
    expectSame(decodeValue(bytes).value, { l: new BlobLink(LinkTag.VALUE, ref) });
  });
});

describe("value codec: refusals", () => {
  const cases: ReadonlyArray<{ name: string; value: () => unknown; path: string }> = [
    { name: "a function", value: () => ({ a: { b: () => 1 } }), path: "/a/b" },
    { name: "a symbol", value: () => ({ list: [1, Symbol("s")] }), path: "/list/1" },
    { name: "a class instance", value: () => ({ x: new (class Foo {})() }), path: "/x" },
    { name: "a typed array other than Uint8Array", value: () => ({ t: new Int16Array(2) }), path: "/t" },
    {
      name: "a cycle",
      value: () => {
        const root: Record<string, unknown> = { a: {} };
        (root.a as Record<string, unknown>).b = root;
        return root;
      },
      path: "/a/b",
    },
    { name: "a string with a lone surrogate", value: () => ({ s: ["ok", "\uD800"] }), path: "/s/1" },
    { name: "a long string with a lone surrogate", value: () => ({ s: "a".repeat(200) + "\uDC00" }), path: "/s" },
    { name: "an object key with a lone surrogate", value: () => ({ o: { ["k\uD800"]: 1 } }), path: "/o/k\uD800" },
    { name: "a BlobLink as a Map key", value: () => ({ m: new Map([[new BlobLink(LinkTag.STRING, hashBytes(new Uint8Array())), 1]]) }), path: "/m/BlobLink instance" },
    { name: "a BlobLink in a Set", value: () => ({ s: new Set([new BlobLink(LinkTag.BYTES, hashBytes(new Uint8Array()))]) }), path: "/s/0" },
    { name: "an own __proto__ key", value: () => ({ o: JSON.parse('{"__proto__": 1}') as unknown }), path: "/o/__proto__" },
    { name: "a key needing JSON Pointer escapes", value: () => ({ "a/b~c": { f: Symbol.iterator } }), path: "/a~1b~0c/f" },
  ];

  it.each(cases)("refuses $name with UNSUPPORTED_VALUE at its JSON Pointer", ({ value, path }) => {
    const error = caught(() => encodeValue(value()));
    expect(error.code).toBe("UNSUPPORTED_VALUE");
    expect(error.details.path).toBe(path);
    // The same with a sink, as the store encodes.
    const withSink = caught(() => encodeValue(value(), recordingSink(64)));
    expect(withSink.code).toBe("UNSUPPORTED_VALUE");
    expect(withSink.details.path).toBe(path);
  });

  it("refuses a top-level function with the root pointer", () => {
    const error = caught(() => encodeValue(() => 1));
    expect(error.code).toBe("UNSUPPORTED_VALUE");
    expect(error.details.path).toBe("");
  });

  it("encodes nesting up to MAX_DEPTH and refuses deeper nesting with LIMIT_EXCEEDED", () => {
    // The deepest node (the leaf 1) at depth MAX_DEPTH.
    expectSame(decodeValue(encodeValue(nest(MAX_DEPTH - 1, 1))).value, nest(MAX_DEPTH - 1, 1));
    expectSame(decodeValue(encodeValue(nest(MAX_DEPTH - 1, []))).value, nest(MAX_DEPTH - 1, []));
    for (const deep of [nest(MAX_DEPTH, 1), nest(MAX_DEPTH, []), nest(MAX_DEPTH + 50, { a: 1 })]) {
      const error = caught(() => encodeValue(deep));
      expect(error.code).toBe("LIMIT_EXCEEDED");
      expect(error.details.limit).toBe(MAX_DEPTH);
      expect(String(error.details.path)).toMatch(/^(\/0)+$/);
    }
    let maps: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 1; i++) maps = new Map([["k", maps]]);
    const error = caught(() => encodeValue(maps));
    expect(error.code).toBe("LIMIT_EXCEEDED");
    expect(String(error.details.path)).toMatch(/^(\/k)+$/);
  });

  it("a failed put writes nothing, not even the strings it would have moved out", async () => {
    const store = await openStore({ url: ":memory:", moveOutThreshold: 64 });
    try {
      const before = await blobCount(store);
      const big = "moved out ".repeat(100);
      const bad: unknown[] = [
        { big, bytes: new Uint8Array(500).fill(1), f: () => 1 },
        { big, s: Symbol("x") },
        { big, bad: "\uD800" },
        { big, inst: new (class Foo {})() },
        { big, deep: nest(MAX_DEPTH + 1, 1) },
        { big, m: new Map([[new BlobLink(LinkTag.STRING, hashBytes(Buffer.from(big))), 1]]) },
      ];
      for (const value of bad) {
        const error = await caughtAsync(store.values.put(value));
        expect(["UNSUPPORTED_VALUE", "LIMIT_EXCEEDED"]).toContain(error.code);
        expect(typeof error.details.path).toBe("string");
      }
      expect(await blobCount(store)).toBe(before);
      expect(await store.blobs.has(hashBytes(Buffer.from(big, "utf8")))).toBe(false);
      // The same store still works, and a good put does write.
      const ref = await store.values.put({ big });
      expect(await blobCount(store)).toBe(before + 2);
      expect(await store.values.get(ref)).toEqual({ big });
    } finally {
      await store.close();
    }
  });
});

describe("value codec: hostile bytes", () => {
  function expectTyped(bytes: Uint8Array, codes: ReadonlyArray<string> = ["INTEGRITY"]): CairnError {
    const error = caught(() => decodeValue(bytes));
    expect(codes).toContain(error.code);
    return error;
  }

  it("refuses truncated encodings with INTEGRITY", () => {
    const bytes = fromHex(GOLDEN.find((g) => g.name === "nested mix")!.hex);
    for (let length = 0; length < bytes.byteLength; length++) expectTyped(bytes.subarray(0, length));
  });

  it("refuses trailing bytes", () => {
    expectTyped(fromHex("c0c0"));
  });

  it("refuses an array header claiming 2**32-1 items in 5 bytes, without allocating them", () => {
    expectTyped(fromHex("ddffffffff"));
    expectTyped(fromHex("dfffffffff")); // the same for a map
    expectTyped(fromHex("dbffffffff")); // and a string
    expectTyped(fromHex("c6ffffffff")); // and binary
  });

  it("refuses a LINK extension of the wrong length or with an unknown tag", () => {
    expectTyped(fromHex("d40000")); // 1 byte
    expectTyped(fromHex(`c72000${"00".repeat(32)}`)); // 32 bytes
    expectTyped(fromHex(`c72200${"00".repeat(34)}`)); // 34 bytes
    expectTyped(fromHex(`c72100${"03"}${"00".repeat(32)}`)); // tag 3
  });

  it("refuses non-canonical bigint extensions", () => {
    expectTyped(fromHex("d5010000")); // leading zero byte
    expectTyped(fromHex("c70001")); // no sign byte
    expectTyped(fromHex("d40101")); // negative zero
    expectTyped(fromHex("d40102")); // sign byte 2
  });

  it("refuses Map and Set extensions that are not arrays, or Maps of odd length", () => {
    expectTyped(fromHex("d40201")); // MAP holding 1
    expectTyped(fromHex("d5029101")); // MAP of one item
    expectTyped(fromHex("d40301")); // SET holding 1
  });

  it("refuses a Map with a link key and a Set holding a link", () => {
    const link = `c72100${"00"}${"11".repeat(32)}`;
    expect(link.length / 2).toBe(36);
    expect(expectTyped(fromHex(`c7260292${link}01`)).message).toMatch(/link as a key/); // Map { link => 1 }
    expect(expectTyped(fromHex(`c7250391${link}`)).message).toMatch(/Set holds a link/); // Set { link }
    // The same link as a Map value is fine.
    expect(decodeValue(fromHex(`c7260292${"01"}${link}`)).links).toHaveLength(1);
  });

  it("refuses extension types that format version 1 does not define", () => {
    expectTyped(fromHex("d40700"));
    expectTyped(fromHex("d4f000"));
    expectTyped(fromHex("91d40700")); // nested
  });

  it("refuses 300 nested fixarrays with LIMIT_EXCEEDED, accepts MAX_DEPTH", () => {
    const nested = (n: number) => Uint8Array.from([...new Array<number>(n).fill(0x91), 0xc0]);
    const error = expectTyped(nested(300), ["LIMIT_EXCEEDED"]);
    expect(error.details.limit).toBe(MAX_DEPTH);
    // MAX_DEPTH + 1 arrays (the innermost empty) are refused, MAX_DEPTH arrays decode.
    expectTyped(Uint8Array.from([...new Array<number>(MAX_DEPTH).fill(0x91), 0x90]), ["LIMIT_EXCEEDED"]);
    expectSame(decodeValue(Uint8Array.from([...new Array<number>(MAX_DEPTH - 1).fill(0x91), 0x90])).value, nest(MAX_DEPTH - 1, []));
  });

  it("refuses deep nesting hidden inside Map extensions", () => {
    // A Map nested 300 times: each level is an ext holding [ "k", inner ].
    let inner = fromHex("c0");
    for (let i = 0; i < 300; i++) {
      const body = Uint8Array.from([0x92, 0xa1, 0x6b, ...inner]);
      const header = body.byteLength < 256 ? [0xc7, body.byteLength, 0x02] : body.byteLength < 65536 ? [0xc8, body.byteLength >> 8, body.byteLength & 0xff, 0x02] : [];
      inner = Uint8Array.from([...header, ...body]);
    }
    expectTyped(inner, ["LIMIT_EXCEEDED"]);
  });

  it("random and mutated bytes give a value or a typed CairnError, never anything else", () => {
    const seeds = values.map((v) => encodeValue(v));
    const mutated = fc.tuple(seeds, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat()).map(([bytes, edits, cut]) => {
      const out = Uint8Array.from(bytes);
      for (const [at, b] of edits) if (out.byteLength > 0) out[at % out.byteLength] = b;
      return cut % 3 === 0 ? out.subarray(0, cut % (out.byteLength + 1)) : out;
    });
    check(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
        try {
          decodeValue(bytes);
        } catch (error) {
          if (!(error instanceof CairnError)) throw new Error(`decodeValue threw a plain ${String(error)}`);
          expect(["INTEGRITY", "LIMIT_EXCEEDED"]).toContain(error.code);
        }
      }),
      1000,
    );
  });
});
