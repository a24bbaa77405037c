/**
 * Hostile rows, hostile values and misuse: each answered with a typed error (or
 * the right bytes), never a crash, a runaway read or a wrong ref.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, openStore, unchanged, type Store } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { encodeChunkList } from "../../src/codec/chunk-list.js";
import { hashBytes, type Ref } from "../../src/hash/ref.js";
import { tempDir } from "../support/backends.js";
import { randomPayload, sha256Hex, textPayload, uid } from "../support/random.js";

const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> =>
  promise.then(
    () => undefined,
    (e: unknown) => (e instanceof CairnError ? e.code : `not a CairnError: ${String(e)}`),
  );

const stores: Store[] = [];
const open = async (options = {}) => {
  const store = await openStore({ url: ":memory:", ...options });
  stores.push(store);
  return store;
};
const dirs: Array<{ remove(): void }> = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  dirs.forEach((d) => d.remove());
});

describe("hostile rows", () => {
  it("refuses a chunk tree whose entries do not add up to the recorded size, without expanding it", async () => {
    const store = await open({ profile: "none" });
    const chunk = randomPayload(2000);
    const chunkRef = await store.blobs.put(chunk);
    // A list node naming the same chunk 64 times, and a root naming that node 64 times: 8 MB claimed as 5 bytes.
    const node = encodeChunkList(Array.from({ length: 64 }, () => ({ type: 0 as const, ref: chunkRef, size: 2000 })));
    const nodeRef = hashBytes(node);
    const root = encodeChunkList(Array.from({ length: 64 }, () => ({ type: 1 as const, ref: nodeRef, size: 64 * 2000 })));
    const claimed = "ab".repeat(32) as Ref;
    await store[DATABASE].writeBatch([
      { sql: "INSERT INTO blobs (ref, kind, encoding, size, stored_size, created_at, data) VALUES (unhex(?), 'chunk-list', 0, ?, ?, 0, ?)", args: [nodeRef, node.length, node.length, node] },
      { sql: "INSERT INTO blobs (ref, kind, encoding, size, stored_size, created_at, data) VALUES (unhex(?), 'raw', 2, 5, ?, 0, ?)", args: [claimed, root.length, root] },
    ]);
    expect(await codeOf(store.blobs.get(claimed))).toBe("INTEGRITY");
  });

  it("stops a value whose links fan out exponentially", async () => {
    const store = await open();
    let ref = await store.values.put("leaf");
    for (let level = 0; level < 34; level++) ref = await store.values.put({ a: unchanged(ref), b: unchanged(ref) });
    expect(await codeOf(store.values.get(ref))).toBe("LIMIT_EXCEEDED");
  });

  it("gives each place a value of its own when one stored value is linked twice", async () => {
    const store = await open();
    const shared = await store.values.put({ list: [1, 2, 3], bytes: new Uint8Array(20_000).fill(7) });
    const both = await store.values.get<{ a: { list: number[]; bytes: Uint8Array }; b: { list: number[]; bytes: Uint8Array } }>(
      await store.values.put({ a: unchanged(shared), b: unchanged(shared) }),
    );
    both.a.list.push(4);
    both.a.bytes[0] = 0;
    expect(both.b.list).toEqual([1, 2, 3]);
    expect(both.b.bytes[0]).toBe(7);
  });
});

describe("misuse", () => {
  it("stores the bytes as they were when put was called, even if the caller reuses its buffer", async () => {
    const store = await open();
    const buffer = randomPayload(100_000);
    const original = Uint8Array.from(buffer);
    const pending = store.blobs.put(buffer);
    buffer.fill(0x41);
    const ref = await pending;
    expect(ref).toBe(sha256Hex(original));
    expect(Buffer.from(await store.blobs.get(ref)).equals(Buffer.from(original))).toBe(true);
    const bytes = randomPayload(30_000);
    const copy = Uint8Array.from(bytes);
    const valuePending = store.values.put({ bytes });
    bytes.fill(0);
    expect(await store.values.get(await valuePending)).toEqual({ bytes: copy });
  });

  it("gives a value the same ref whatever another store with another threshold did before", async () => {
    const text = textPayload(4000);
    const reference = await (await open()).values.put({ text });
    await (await open({ moveOutThreshold: 1024 })).values.put({ text });
    expect(await (await open()).values.put({ text })).toBe(reference);
  });

  it("never serves a large string to a store that does not hold it", async () => {
    const one = await open();
    const other = await open();
    const ref = await one.values.put({ output: textPayload(40_000) });
    expect(await codeOf(other.values.get(ref))).toBe("NOT_FOUND");
  });

  it("refuses a stored-value reference in a history row's meta", async () => {
    const store = await open();
    const session = store.session(uid());
    const ref = await store.values.put({ x: 1 });
    expect(await codeOf(session.commit({ turn: 1, snapshots: {} }, { meta: { see: unchanged(ref) } }))).toBe("UNSUPPORTED_VALUE");
    expect(await session.head()).toBe(0);
  });

  it("takes unchanged(ref) of a value written by the same checkpoint, in any slot order", async () => {
    const store = await open();
    const value = { big: textPayload(1000) };
    const ref = await (await open()).values.put(value);
    const session = store.session(uid());
    await session.commit({ turn: 1, snapshots: { a: unchanged(ref), b: value } });
    expect((await session.latest())?.snapshots).toEqual({ a: value, b: value });
  });

  it("never leaves a fork with a head but no history when the source is deleted at the same time", async () => {
    for (let i = 0; i < 10; i++) {
      const store = await open();
      const source = store.session(uid());
      for (let turn = 1; turn <= 3; turn++) await source.commit({ turn, snapshots: { execution: turn } });
      const forkId = uid();
      const [forked] = await Promise.allSettled([source.fork(forkId, { at: 2 }), source.delete()]);
      const listed = (await store.sessions.list()).find((s) => s.id === forkId);
      const head = await store.session(forkId).head();
      if (forked.status === "fulfilled") {
        expect(head).toBe(2);
        expect(listed?.head).toBe(2);
      } else {
        expect((forked.reason as CairnError).code).toBe("NOT_FOUND");
        expect(listed).toBeUndefined();
        expect(head).toBe(0);
      }
    }
  });

  it("refuses malformed read and put options and plugin revisions", async () => {
    const store = await open();
    const session = store.session(uid());
    const { ref } = await session.commit({ turn: 1, snapshots: { execution: 1, tool: 2 } });
    expect(await codeOf(session.latest({ slots: "execution" } as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(session.at(1, { slots: [1] } as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.checkpoints.get(ref, "tool" as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.blobs.put(new Uint8Array(3), "x" as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.values.put(1, 5 as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(session.commit({ turn: 2, snapshots: {}, pluginRevision: NaN }))).toBe("INVALID_ARGUMENT");
    expect(await session.head()).toBe(1);
    expect((await session.latest({ slots: ["tool"] }))?.snapshots).toEqual({ tool: 2 });
  });

  it("answers bad openStore options with INVALID_ARGUMENT and an unusable path with DATABASE", async () => {
    expect(await codeOf(openStore({ url: ":memory:", profil: "fast" } as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(openStore({ url: ":memory:", authToken: 5 } as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(openStore({ url: "file:x.db", syncUrl: "http://127.0.0.1:1", syncInterval: "x" } as never))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(openStore({ url: "file:" }))).toBe("INVALID_ARGUMENT");
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(join(dir.dir, "a-file"), "x");
    expect(await codeOf(openStore({ url: `file:${join(dir.dir, "a-file", "sub", "c.db")}` }))).toBe("DATABASE");
  });
});
