/**
 * The adapter's value helpers: detached copies refuse what cairn cannot store,
 * and the digest that names history transactions ignores key order and
 * representation details but nothing else.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CairnError } from "../../../src/index.js";
import { detach, digest } from "../../../src/adapters/openai-agents/values.js";

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
  return undefined;
};

describe("digest", () => {
  it("ignores key order, Buffer versus Uint8Array, and undefined-valued keys", () => {
    expect(digest({ a: 1, b: [1, "x"] })).toBe(digest({ b: [1, "x"], a: 1 }));
    expect(digest({ d: Buffer.from([1, 2, 3]) })).toBe(digest({ d: new Uint8Array([1, 2, 3]) }));
    expect(digest({ a: 1, id: undefined })).toBe(digest({ a: 1 }));
    expect(digest(new Map([["x", 1], ["y", 2]]))).toBe(digest(new Map([["y", 2], ["x", 1]])));
    expect(digest(new Set([1, 2]))).toBe(digest(new Set([2, 1])));
  });

  it("tells apart values that differ", () => {
    const distinct = [0, -0, 1, "1", 1n, true, null, undefined, "", [], {}, [undefined], [null], new Uint8Array([1]), [1], { a: "" }, { "": "a" }, new Date(0), ["ab"], ["a", "b"]];
    expect(new Set(distinct.map(digest)).size).toBe(distinct.length);
  });

  it("equals for equal JSON values, whatever their key order (property)", () => {
    fc.assert(
      // Through JSON first: fc.jsonValue() may hold -0, which JSON text cannot (and cairn keeps).
      fc.property(fc.jsonValue().map((raw) => JSON.parse(JSON.stringify(raw)) as unknown), (value) => {
        const shuffled = JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
          v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        ) as unknown;
        expect(digest(shuffled)).toBe(digest(value));
      }),
    );
  });
});

describe("detach", () => {
  it("copies deeply, sharing nothing mutable", () => {
    const bytes = new Uint8Array([1, 2]);
    const original = { a: [{ b: bytes }], d: new Date(5), m: new Map([["k", { v: 1 }]]) };
    const copy = detach(original);
    expect(copy).toEqual(original);
    bytes[0] = 9;
    original.m.get("k")!.v = 2;
    expect(copy.a[0]!.b[0]).toBe(1);
    expect(copy.m.get("k")!.v).toBe(1);
  });

  it("refuses what cairn cannot store, with a path", () => {
    class Thing {}
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => detach({ a: new Thing() }))).toBe("UNSUPPORTED_VALUE");
    expect(codeOf(() => detach({ a: () => 1 }))).toBe("UNSUPPORTED_VALUE");
    expect(codeOf(() => detach(cyclic))).toBe("UNSUPPORTED_VALUE");
    expect(codeOf(() => detach({ s: "\udc00" }))).toBe("UNSUPPORTED_VALUE");
    expect(codeOf(() => detach(JSON.parse('{"__proto__": 1}')))).toBe("UNSUPPORTED_VALUE");
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(codeOf(() => detach(deep))).toBe("LIMIT_EXCEEDED");
    let caught: unknown;
    try {
      detach({ items: [{ ok: 1 }, { bad: new Thing() }] }, "/x");
    } catch (error) {
      caught = error;
    }
    expect((caught as CairnError).details.path).toBe("/x/items/1/bad");
  });
});
