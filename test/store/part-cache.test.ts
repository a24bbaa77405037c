/**
 * The store handle's cache of verified chunk-tree parts: a chunk several blobs
 * hold is fetched, inflated and hashed once per handle, reads running side by
 * side share one fetch, and a part that does not hash to its ref is never kept.
 */
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, openStore, type Store } from "../../src/index.js";
import { CONTEXT } from "../../src/store.js";
import { PartCache } from "../../src/blob/part-cache.js";
import type { Ref } from "../../src/hash/ref.js";
import { corrupt, flip, query } from "../maintenance/support.js";
import { randomPayload, sha256Hex } from "../support/random.js";

const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
});

/** A memory store whose storage counts the rows each fetch returns, by ref. */
async function counted(): Promise<{ store: Store; fetched: Map<Ref, number> }> {
  const store = await openStore({ url: ":memory:", profile: "fast", chunkAbove: 64 * 1024 });
  stores.push(store);
  const storage = store[CONTEXT]().storage;
  const fetched = new Map<Ref, number>();
  const blobRows = storage.blobRows.bind(storage);
  storage.blobRows = async (refs) => {
    const rows = await blobRows(refs);
    for (const ref of rows.keys()) fetched.set(ref, (fetched.get(ref) ?? 0) + 1);
    return rows;
  };
  return { store, fetched };
}

/** Chunk refs of chunked blob `ref`, as the database lists them (through its edges). */
async function chunksOf(store: Store, ref: Ref): Promise<Ref[]> {
  const rows = await query(
    store,
    "SELECT lower(hex(c.ref)) FROM blobs b JOIN edges e ON e.src = b.id JOIN blobs c ON c.id = e.dst WHERE b.ref = unhex(?) AND c.kind = 'chunk'",
    [ref],
  );
  return rows.rows.map((row) => row[0] as Ref);
}

/** 1 MiB of random bytes and the same with 100 bytes appended: two blobs sharing almost every chunk. */
function twoVersions(): [Uint8Array, Uint8Array] {
  const first = randomPayload(1024 * 1024);
  const second = new Uint8Array(first.byteLength + 100);
  second.set(first);
  second.set(randomPayload(100), first.byteLength);
  return [first, second];
}

describe("verified parts shared by the reads of a store handle", () => {
  it("fetches a chunk two blobs share once, and returns each blob's exact bytes", async () => {
    const { store, fetched } = await counted();
    const [first, second] = twoVersions();
    const a = await store.blobs.put(first);
    const b = await store.blobs.put(second);
    const chunksOfA = await chunksOf(store, a);
    const chunksOfB = await chunksOf(store, b);
    const shared = chunksOfB.filter((ref) => chunksOfA.includes(ref));
    expect(shared.length).toBeGreaterThan(4);
    expect(shared.length).toBeLessThan(chunksOfB.length);

    fetched.clear();
    expect(sha256Hex(await store.blobs.get(a))).toBe(a);
    expect(sha256Hex(await store.blobs.get(b))).toBe(b);
    for (const ref of [...chunksOfA, ...chunksOfB]) expect(fetched.get(ref)).toBe(1);
  });

  it("shares one fetch between reads running side by side", async () => {
    const { store, fetched } = await counted();
    const [first, second] = twoVersions();
    const a = await store.blobs.put(first);
    const b = await store.blobs.put(second);
    fetched.clear();
    const [bytesA, bytesB] = await Promise.all([store.blobs.get(a), store.blobs.get(b)]);
    expect(sha256Hex(bytesA)).toBe(a);
    expect(sha256Hex(bytesB)).toBe(b);
    for (const ref of new Set([...(await chunksOf(store, a)), ...(await chunksOf(store, b))])) expect(fetched.get(ref)).toBe(1);
  });

  it("a new store handle reads everything afresh", async () => {
    const { store } = await counted();
    const [first] = twoVersions();
    const a = await store.blobs.put(first);
    await store.blobs.get(a);
    expect(store[CONTEXT]().parts.bytes).toBeGreaterThan(0);
    const reopened = await openStore({ url: ":memory:" });
    stores.push(reopened);
    expect(reopened[CONTEXT]().parts.bytes).toBe(0);
  });

  it("keeps no chunk that does not hash to its ref, so every blob holding it fails", async () => {
    const { store } = await counted();
    const [first, second] = twoVersions();
    const a = await store.blobs.put(first, { kind: "raw" });
    const b = await store.blobs.put(second, { kind: "raw" });
    const chunksOfB = await chunksOf(store, b);
    const victim = (await chunksOf(store, a)).find((ref) => chunksOfB.includes(ref))!;
    expect(victim).toBeDefined();
    await corrupt(store, victim, flip(10));
    for (const ref of [a, b, a]) {
      const error = await store.blobs.get(ref).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe("INTEGRITY");
      expect((error as CairnError).details.chunk).toBe(victim);
    }
  });
});

describe("PartCache", () => {
  it("holds at most its budget, dropping the least recently used first", () => {
    const cache = new PartCache(1000);
    const ref = (i: number) => String(i).padStart(64, "0") as Ref;
    for (let i = 0; i < 8; i++) cache.remember(ref(i), new Uint8Array(100));
    expect(cache.bytes).toBe(800);
    cache.get(ref(0)); // now the most recently used
    for (let i = 8; i < 12; i++) cache.remember(ref(i), new Uint8Array(100));
    expect(cache.bytes).toBe(1000);
    expect(cache.get(ref(0))).toBeDefined();
    expect(cache.get(ref(1))).toBeUndefined();
    expect(cache.get(ref(2))).toBeUndefined();
    expect(cache.get(ref(11))).toBeDefined();
  });

  it("refuses a part larger than an eighth of its budget, and copies a view of a larger buffer", () => {
    const cache = new PartCache(800);
    cache.remember("a".repeat(64) as Ref, new Uint8Array(101));
    expect(cache.bytes).toBe(0);
    const big = new Uint8Array(10_000);
    cache.remember("b".repeat(64) as Ref, big.subarray(0, 50));
    const kept = cache.get("b".repeat(64) as Ref)!;
    expect(kept.byteLength).toBe(50);
    expect(kept.buffer.byteLength).toBe(50);
  });
});
