/**
 * Per-blob compression: when it pays, that the stored format is plain raw DEFLATE
 * (read here with fflate, an independent inflater), and that decompress refuses
 * bombs, impossible size claims and garbage with INTEGRITY.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { deflateSync, inflateSync } from "fflate";
import { deflateRawSync } from "node:zlib";
import { COMPRESSION_PROFILES, compress, decompress, type CompressionProfile } from "../../src/codec/compression.js";
import { CairnError } from "../../src/errors.js";
import { check, prngUint32 } from "../support/seeded.js";

function randomBytes(length: number, seed: number): Uint8Array {
  const next = prngUint32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** Compressible text: JSON-ish agent output with repeated structure. */
function text(length: number): Uint8Array {
  const words = ["tool", "result", "the", "file", "src/index.ts", "line", "error", "ok", "assistant", "user", "{", "}", ":", ","];
  const next = prngUint32(length);
  let out = "";
  while (out.length < length) out += words[next() % words.length] + (next() % 5 === 0 ? "\n" : " ");
  return new TextEncoder().encode(out.slice(0, length));
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

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

const PROFILES: CompressionProfile[] = ["fast", "balanced", "max"];

describe("compress", () => {
  it("knows the four profiles", () => {
    expect(COMPRESSION_PROFILES).toEqual(["none", "fast", "balanced", "max"]);
  });

  it('returns undefined under "none", even for very compressible input', () => {
    expect(compress(new Uint8Array(100_000), "none")).toBeUndefined();
    expect(compress(text(50_000), "none")).toBeUndefined();
  });

  it("returns undefined for tiny input, even if it would compress", () => {
    for (const profile of PROFILES) {
      expect(compress(new Uint8Array(0), profile)).toBeUndefined();
      expect(compress(new Uint8Array(255), profile)).toBeUndefined();
      expect(compress(text(200), profile)).toBeUndefined();
    }
  });

  it("returns undefined for random bytes", () => {
    for (const profile of PROFILES) {
      for (const length of [256, 1000, 32 * 1024, 200_000]) expect(compress(randomBytes(length, length), profile), `${profile} ${length}`).toBeUndefined();
    }
  });

  it("compresses text under fast, balanced and max, to at most 7/8 of its size, and decompress round-trips", () => {
    for (const length of [256, 300, 4096, 32 * 1024, 300_000]) {
      const input = text(length);
      for (const profile of PROFILES) {
        const packed = compress(input, profile);
        expect(packed, `${profile} ${length}`).toBeInstanceOf(Uint8Array);
        expect(packed!.byteLength).toBeLessThanOrEqual((input.byteLength * 7) / 8);
        expect(packed!.byteLength).toBeLessThan(input.byteLength / 2);
        expect(equalBytes(decompress(packed!, input.byteLength, "r"), input)).toBe(true);
      }
    }
    // Harder profiles never do worse on this text.
    const input = text(100_000);
    expect(compress(input, "max")!.byteLength).toBeLessThanOrEqual(compress(input, "fast")!.byteLength);
  });

  it("does not change its input", () => {
    const input = text(10_000);
    const copy = Uint8Array.from(input);
    compress(input, "max");
    expect(equalBytes(input, copy)).toBe(true);
  });

  it("round-trips arbitrary input that it chooses to compress", () => {
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 })).map(([unit, times]) => {
        const out = new Uint8Array(unit.byteLength * times);
        for (let i = 0; i < times; i++) out.set(unit, i * unit.byteLength);
        return out;
      }),
    );
    check(
      fc.property(inputs, fc.constantFrom(...PROFILES), (input, profile) => {
        const packed = compress(input, profile);
        if (packed === undefined) return;
        expect(packed.byteLength).toBeLessThanOrEqual((input.byteLength * 7) / 8);
        expect(equalBytes(decompress(packed, input.byteLength, "r"), input)).toBe(true);
        expect(equalBytes(inflateSync(packed), input)).toBe(true);
      }),
      200,
    );
  });
});

describe("the stored format is plain raw DEFLATE", () => {
  it("fflate's inflateSync decodes what compress produced to the same bytes", () => {
    for (const length of [256, 1000, 5000, 32 * 1024, 70_000, 300_000]) {
      const input = text(length);
      for (const profile of PROFILES) {
        const packed = compress(input, profile)!;
        expect(equalBytes(inflateSync(packed), input), `${profile} ${length}`).toBe(true);
      }
    }
  });

  it("decompress reads raw DEFLATE written by another implementation (fflate)", () => {
    const input = text(20_000);
    for (const level of [1, 6, 9] as const) {
      const packed = deflateSync(input, { level });
      expect(equalBytes(decompress(packed, input.byteLength, "r"), input)).toBe(true);
    }
  });

  it("decompresses an empty stream to zero bytes", () => {
    const empty = deflateRawSync(new Uint8Array(0));
    expect(decompress(new Uint8Array(empty), 0, "r").byteLength).toBe(0);
  });
});

describe("decompress: hostile input", () => {
  // 1 MiB of zeros: about 1 KiB of DEFLATE.
  const bomb = compress(new Uint8Array(1 << 20), "max")!;

  it("refuses data that inflates past its recorded size (a bomb), never returning more", () => {
    expect(bomb.byteLength).toBeLessThan(2000);
    for (const size of [0, 1, 1000, (1 << 20) - 1]) {
      const error = integrity(() => decompress(bomb, size, "bomb-ref"));
      expect(error.details.ref).toBe("bomb-ref");
      expect(error.details.size).toBe(size);
    }
    expect(decompress(bomb, 1 << 20, "bomb-ref").byteLength).toBe(1 << 20);
  });

  it("refuses data that inflates to fewer bytes than recorded", () => {
    const input = text(10_000);
    const packed = compress(input, "fast")!;
    const error = integrity(() => decompress(packed, input.byteLength + 1, "r"));
    expect(error.details.size).toBe(input.byteLength + 1);
  });

  it("refuses a size claim beyond what DEFLATE can expand to, before inflating", () => {
    const error = integrity(() => decompress(new Uint8Array(10), 1_000_000_000, "r"));
    // The claim is refused from the sizes alone: no inflate was attempted (no cause) and the stored size is reported.
    expect(error.details).toMatchObject({ ref: "r", size: 1_000_000_000, storedSize: 10 });
    expect(error.cause).toBeUndefined();
    integrity(() => decompress(bomb, bomb.byteLength * 2000, "r"));
    integrity(() => decompress(new Uint8Array(0), 1_000_000, "r"));
  });

  it("refuses garbage and truncated streams", () => {
    integrity(() => decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 10, "r"));
    integrity(() => decompress(randomBytes(1000, 1), 5000, "r"));
    const input = text(9000);
    const packed = compress(input, "balanced")!;
    integrity(() => decompress(packed.subarray(0, packed.byteLength - 3), input.byteLength, "r"));
    integrity(() => decompress(packed.subarray(0, 1), input.byteLength, "r"));
  });

  it("arbitrary data with any size claim gives exactly that many bytes or INTEGRITY", () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([raw, at, b]) => {
        const packed = new Uint8Array(deflateRawSync(raw));
        packed[at % packed.byteLength] = b;
        return packed;
      }),
      fc.constant(bomb),
    );
    check(
      fc.property(data, fc.oneof(fc.nat({ max: 5000 }), fc.nat()), (bytes, size) => {
        let out: Uint8Array;
        try {
          out = decompress(bytes, size, "r");
        } catch (error) {
          expect(error).toBeInstanceOf(CairnError);
          expect((error as CairnError).code).toBe("INTEGRITY");
          return;
        }
        expect(out.byteLength).toBe(size);
      }),
      300,
    );
  });
});
