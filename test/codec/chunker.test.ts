/**
 * Content-defined chunking and the chunk-list format: determinism, size bounds,
 * golden cut offsets (format version 1), locality under edits, and strict parsing.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { chunkBoundaries, DEFAULT_CHUNKING, type ChunkingParams } from "../../src/codec/chunker.js";
import { ChunkEntryType, decodeChunkList, encodeChunkList, type ChunkEntry } from "../../src/codec/chunk-list.js";
import { CairnError } from "../../src/errors.js";
import { hashBytes } from "../../src/hash/ref.js";
import { check, prngUint32 } from "../support/seeded.js";

/** `length` pseudo-random bytes from `seed`, 4 per PRNG step, little-endian. */
function prngBytes(length: number, seed: number): Uint8Array {
  const next = prngUint32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const v = next();
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

function chunks(bytes: Uint8Array, params: ChunkingParams = DEFAULT_CHUNKING): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of chunkBoundaries(bytes, params)) {
    out.push(bytes.subarray(start, cut));
    start = cut;
  }
  return out;
}

function expectWellFormedCuts(cuts: number[], length: number, params: ChunkingParams): void {
  if (length === 0) {
    expect(cuts).toEqual([]);
    return;
  }
  expect(cuts.at(-1)).toBe(length);
  let start = 0;
  cuts.forEach((cut, i) => {
    const size = cut - start;
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(params.max);
    if (i < cuts.length - 1) expect(size).toBeGreaterThanOrEqual(params.min);
    start = cut;
  });
}

const SMALL: ChunkingParams = { min: 64, avg: 256, max: 1024 };

/**
 * GOLDEN FIXTURE: the cut offsets of prngBytes(256 KiB, 0xc0ffee) under
 * DEFAULT_CHUNKING. This pins chunking format version 1 (the gear table and the
 * cut rules). Changing it changes how every stored blob is split, and so which
 * chunks existing stores share with new writes: it must never change.
 */
const GOLDEN_SEED = 0xc0ffee;
const GOLDEN_INPUT_SHA256 = createHash("sha256").update(prngBytes(256 * 1024, GOLDEN_SEED)).digest("hex");
const GOLDEN_CUTS = [
  5655, 10869, 15751, 20010, 25023, 33496, 41658, 45627, 50109, 55167, 56371, 60933, 65379, 69950, 75585, 81982, 86745, 93133, 97302, 101651, 105758, 111710,
  117779, 122098, 126745, 131630, 136131, 142535, 148329, 150377, 154943, 159612, 164091, 170774, 175703, 178377, 183551, 187850, 193263, 206540, 212380,
  216491, 222232, 226808, 233691, 238911, 243574, 248967, 251461, 256744, 261093, 262144,
];

describe("chunker: boundaries", () => {
  it("the defaults are the ones of format version 1", () => {
    expect(DEFAULT_CHUNKING).toEqual({ min: 1024, avg: 4096, max: 32768 });
  });

  it("cuts the golden buffer at the pinned offsets (format version 1, must never change)", () => {
    const input = prngBytes(256 * 1024, GOLDEN_SEED);
    // The PRNG itself is pinned, so a wrong fixture can only mean a changed chunker.
    expect(hashBytes(input)).toBe(GOLDEN_INPUT_SHA256);
    expect(Buffer.from(input.subarray(0, 8)).toString("hex")).toBe(Buffer.from(prngBytes(8, GOLDEN_SEED)).toString("hex"));
    expect(chunkBoundaries(input)).toEqual(GOLDEN_CUTS);
    expect(chunkBoundaries(input, DEFAULT_CHUNKING)).toEqual(GOLDEN_CUTS);
  });

  it("empty input gives no chunks; input up to min gives one", () => {
    expect(chunkBoundaries(new Uint8Array(0))).toEqual([]);
    expect(chunkBoundaries(new Uint8Array(1))).toEqual([1]);
    expect(chunkBoundaries(prngBytes(DEFAULT_CHUNKING.min - 1, 1))).toEqual([DEFAULT_CHUNKING.min - 1]);
    expect(chunkBoundaries(prngBytes(DEFAULT_CHUNKING.min, 1))).toEqual([DEFAULT_CHUNKING.min]);
  });

  it("cuts long runs of one byte at max", () => {
    const zeros = new Uint8Array(3 * DEFAULT_CHUNKING.max + 10);
    const cuts = chunkBoundaries(zeros);
    expectWellFormedCuts(cuts, zeros.byteLength, DEFAULT_CHUNKING);
    // Every chunk scans the same bytes from the same state, so all but the last have one size.
    const sizes = cuts.map((c, i) => c - (cuts[i - 1] ?? 0));
    expect(new Set(sizes.slice(0, -1)).size).toBe(1);
  });

  it("is deterministic, and every chunk but the last is within [min, max]", () => {
    check(
      fc.property(fc.uint8Array({ maxLength: 8000 }), fc.boolean(), (bytes, lowEntropy) => {
        const input = lowEntropy ? bytes.map((b) => b & 0x03) : bytes;
        const cuts = chunkBoundaries(input, SMALL);
        expect(chunkBoundaries(Uint8Array.from(input), SMALL)).toEqual(cuts);
        expectWellFormedCuts(cuts, input.byteLength, SMALL);
        expect([...cuts].sort((a, b) => a - b)).toEqual(cuts);
      }),
      300,
    );
  });

  it("keeps the size bounds under the defaults on large pseudo-random inputs", () => {
    for (const seed of [1, 2, 3]) {
      const input = prngBytes(200_000 + seed * 7919, seed);
      expectWellFormedCuts(chunkBoundaries(input), input.byteLength, DEFAULT_CHUNKING);
    }
  });

  it("keeps the chunk sizes near avg on random data", () => {
    const input = prngBytes(1 << 20, 99);
    const cuts = chunkBoundaries(input);
    const mean = input.byteLength / cuts.length;
    expect(mean).toBeGreaterThan(DEFAULT_CHUNKING.avg / 2);
    expect(mean).toBeLessThan(DEFAULT_CHUNKING.avg * 2);
  });
});

describe("chunker: locality", () => {
  it("appending bytes keeps every cut outside the last max bytes", () => {
    check(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 1, max: 3000 }), (seed, length, extra) => {
        const base = prngBytes(length, seed);
        const grown = concat(base, prngBytes(extra, seed + 1));
        const before = chunkBoundaries(base, SMALL);
        const after = chunkBoundaries(grown, SMALL);
        const stable = before.filter((cut) => cut <= length - SMALL.max);
        expect(after.slice(0, stable.length)).toEqual(stable);
      }),
      200,
    );
  });

  it("appending to a 256 KiB buffer keeps all its cuts but the last few", () => {
    const base = prngBytes(256 * 1024, GOLDEN_SEED);
    const grown = concat(base, prngBytes(50_000, 7));
    const after = chunkBoundaries(grown);
    const stable = GOLDEN_CUTS.filter((cut) => cut <= base.byteLength - DEFAULT_CHUNKING.max);
    expect(stable.length).toBeGreaterThan(GOLDEN_CUTS.length - 10);
    expect(after.slice(0, stable.length)).toEqual(stable);
  });

  it("inserting bytes near the start leaves at least 80% of the chunks identical", () => {
    const hexSet = (bytes: Uint8Array) => new Set(chunks(bytes).map((c) => Buffer.from(c).toString("hex")));
    for (const [seed, at, inserted] of [
      [GOLDEN_SEED, 100, 10],
      [5, 3000, 1],
      [6, 0, 5000],
    ] as const) {
      const base = prngBytes(256 * 1024, seed);
      const edited = concat(base.subarray(0, at), prngBytes(inserted, seed + 1000), base.subarray(at));
      const before = hexSet(base);
      const after = hexSet(edited);
      const shared = [...before].filter((c) => after.has(c)).length;
      expect(shared / before.size).toBeGreaterThanOrEqual(0.8);
    }
  });

  it("inserting bytes in the middle resynchronizes: later cuts are the old ones shifted", () => {
    const base = prngBytes(256 * 1024, GOLDEN_SEED);
    const at = 100_000;
    const inserted = 777;
    const edited = concat(base.subarray(0, at), prngBytes(inserted, 3), base.subarray(at));
    const after = new Set(chunkBoundaries(edited));
    const later = GOLDEN_CUTS.filter((cut) => cut > at + DEFAULT_CHUNKING.max);
    const kept = later.filter((cut) => after.has(cut + inserted)).length;
    expect(kept / later.length).toBeGreaterThanOrEqual(0.9);
    // Cuts well before the edit do not move at all.
    for (const cut of GOLDEN_CUTS.filter((c) => c < at - DEFAULT_CHUNKING.max)) expect(after.has(cut)).toBe(true);
  });
});

describe("chunk list", () => {
  const ref = (i: number) => hashBytes(Uint8Array.of(i & 0xff, i >> 8));
  const entriesArb = fc.array(
    fc.record({
      type: fc.constantFrom<0 | 1>(ChunkEntryType.CHUNK, ChunkEntryType.LIST),
      ref: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => hashBytes(b)),
      // The varint holds up to 7 groups of 7 bits (sizes below 2**49, far beyond any blob).
      size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 2 ** 49 - 1 })),
    }),
    { maxLength: 300 },
  );

  function integrity(fn: () => unknown): CairnError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe("INTEGRITY");
      return error as CairnError;
    }
    throw new Error("expected a CairnError INTEGRITY, nothing was thrown");
  }

  it("pins the byte layout: [format 1][varint count] then [type][32-byte ref][varint size]", () => {
    const entries: ChunkEntry[] = [
      { type: 0, ref: ref(1), size: 300 },
      { type: 1, ref: ref(2), size: 5 },
    ];
    const bytes = encodeChunkList(entries);
    expect(Buffer.from(bytes).toString("hex")).toBe(`0102` + `00${ref(1)}ac02` + `01${ref(2)}05`);
    expect(decodeChunkList(bytes, "owner")).toEqual(entries);
    expect(Buffer.from(encodeChunkList([])).toString("hex")).toBe("0100");
    expect(decodeChunkList(Uint8Array.of(1, 0), "owner")).toEqual([]);
  });

  it("round-trips arbitrary entries", () => {
    check(
      fc.property(entriesArb, (entries) => {
        const bytes = encodeChunkList(entries);
        expect(decodeChunkList(bytes, "owner")).toEqual(entries);
        expect(decodeChunkList(Uint8Array.from(bytes), "owner")).toEqual(entries);
      }),
      200,
    );
  });

  it("round-trips a count that needs a multi-byte varint", () => {
    const entries: ChunkEntry[] = Array.from({ length: 200 }, (_, i) => ({ type: 0, ref: ref(i), size: i * 1000 }));
    const bytes = encodeChunkList(entries);
    expect(Buffer.from(bytes.subarray(0, 3)).toString("hex")).toBe("01c801");
    expect(decodeChunkList(bytes, "owner")).toEqual(entries);
  });

  it("rejects a bad format byte, and empty input", () => {
    const good = encodeChunkList([{ type: 0, ref: ref(1), size: 10 }]);
    for (const format of [0, 2, 0xff]) {
      const bad = Uint8Array.from(good);
      bad[0] = format;
      const error = integrity(() => decodeChunkList(bad, "owner"));
      expect(error.details.ref).toBe("owner");
    }
    integrity(() => decodeChunkList(new Uint8Array(0), "owner"));
  });

  it("rejects truncated lists at every length", () => {
    const good = encodeChunkList([
      { type: 0, ref: ref(1), size: 100_000 },
      { type: 1, ref: ref(2), size: 7 },
    ]);
    for (let length = 0; length < good.byteLength; length++) integrity(() => decodeChunkList(good.subarray(0, length), "owner"));
  });

  it("rejects trailing bytes", () => {
    const good = encodeChunkList([{ type: 0, ref: ref(1), size: 10 }]);
    integrity(() => decodeChunkList(concat(good, Uint8Array.of(0)), "owner"));
    integrity(() => decodeChunkList(Uint8Array.of(1, 0, 0), "owner"));
  });

  it("rejects a count larger than the bytes allow, before reading entries", () => {
    const error = integrity(() => decodeChunkList(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0x0f), "owner"));
    expect(error.message).toMatch(/claims/);
    const one = encodeChunkList([{ type: 0, ref: ref(1), size: 10 }]);
    const two = Uint8Array.from(one);
    two[1] = 2;
    integrity(() => decodeChunkList(two, "owner"));
  });

  it("rejects an unknown entry type and an over-long varint", () => {
    const good = encodeChunkList([{ type: 0, ref: ref(1), size: 10 }]);
    const badType = Uint8Array.from(good);
    badType[2] = 2;
    expect(integrity(() => decodeChunkList(badType, "owner")).message).toMatch(/type 2/);
    const longVarint = concat(Uint8Array.of(1, 1, 0), Buffer.from(ref(1), "hex"), Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
    expect(integrity(() => decodeChunkList(longVarint, "owner")).message).toMatch(/varint too long/);
  });

  it("gives a value or INTEGRITY for arbitrary and mutated bytes, never another error", () => {
    const mutated = fc
      .tuple(entriesArb.map((e) => encodeChunkList(e.slice(0, 5))), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat())
      .map(([bytes, at, b, cut]) => {
        const out = Uint8Array.from(bytes);
        out[at % out.byteLength] = b;
        return cut % 2 === 0 ? out.subarray(0, cut % (out.byteLength + 1)) : out;
      });
    check(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), mutated), (bytes) => {
        try {
          for (const e of decodeChunkList(bytes, "owner")) {
            expect([0, 1]).toContain(e.type);
            expect(e.ref).toMatch(/^[0-9a-f]{64}$/);
            expect(Number.isSafeInteger(e.size) && e.size >= 0).toBe(true);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(CairnError);
          expect((error as CairnError).code).toBe("INTEGRITY");
        }
      }),
      500,
    );
  });
});
