/**
 * A ref never depends on how a blob is stored: the same bytes and values give the
 * same refs, and read back the same, under every compression profile and chunking.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, type Store, type StoreOptions } from "../../src/index.js";
import { checkAsync } from "../support/seeded.js";

const layouts: StoreOptions[] = [
  { profile: "none" },
  { profile: "fast" },
  { profile: "max" },
  { profile: "fast", chunkAbove: 2048, chunking: { min: 256, avg: 1024, max: 4096 } },
  { profile: "none", chunkAbove: 65536, chunking: { min: 8192, avg: 32768, max: 131072 } },
];

describe("refs are independent of storage layout", () => {
  const stores: Store[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
  });

  it("gives the same ref and bytes under every profile and chunking", async () => {
    for (const layout of layouts) stores.push(await openStore({ url: ":memory:", ...layout }));
    const text = fc.string({ unit: "grapheme-ascii", minLength: 0, maxLength: 200 });
    const payload = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 70_000 }),
      fc.array(text, { maxLength: 400 }).map((lines) => new TextEncoder().encode(lines.join("\n").repeat(3))),
    );
    await checkAsync(
        fc.asyncProperty(payload, fc.array(text, { maxLength: 30 }), async (bytes, words) => {
          const value = { words, bytes, note: words.join(" ").repeat(50) };
          const refs = await Promise.all(stores.map((s) => s.blobs.put(bytes)));
          const valueRefs = await Promise.all(stores.map((s) => s.values.put(value)));
          expect(new Set(refs).size).toBe(1);
          expect(new Set(valueRefs).size).toBe(1);
          for (const store of stores) {
            expect(Buffer.from(await store.blobs.get(refs[0]!)).equals(Buffer.from(bytes))).toBe(true);
            expect(await store.values.get(valueRefs[0]!)).toEqual(value);
          }
        }),
        40,
      );
  });
});
