/**
 * Streaming blobs: putStream gives the ref, chunks and rows put gives for the
 * same bytes, whatever the source and however it is cut into pieces; getStream
 * gives the bytes back verified, and a corrupt row errors the stream with
 * INTEGRITY instead of ever ending it normally.
 */
import { createReadStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createClient } from "@libsql/client";
import fc from "fast-check";
import { afterAll, describe, expect, it, vi } from "vitest";
import { CairnError, openStore, type Store, type StoreOptions } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { chunkBoundaries, StreamChunker } from "../../src/codec/chunker.js";
import { decodeChunkList, encodeChunkList } from "../../src/codec/chunk-list.js";
import { backends, backendTitle, tempDir } from "../support/backends.js";
import { randomPayload, sha256Hex, textPayload } from "../support/random.js";
import { checkAsync } from "../support/seeded.js";

const MiB = 1024 * 1024;

/** `bytes` as pieces of varying sizes (some empty), from an async generator. */
async function* piecesOf(bytes: Uint8Array, sizes: readonly number[] = [1, 7, 4096, 65_536, 300_000, 0, 1_000_003]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.byteLength; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}

/** How a stream ended: its bytes and whether it closed normally, or the error it raised. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; closed: boolean; error?: unknown }> {
  const reader = stream.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return { bytes, closed: true };
      bytes += next.value.byteLength;
    }
  } catch (error) {
    return { bytes, closed: false, error };
  }
}

const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> =>
  promise.then(
    () => undefined,
    (e: unknown) => (e instanceof CairnError ? e.code : `not a CairnError: ${String(e)}`),
  );

/** Every stored row, as comparable text. */
async function rows(store: Store): Promise<string[]> {
  const result = await store[DATABASE].execute("SELECT lower(hex(ref)), kind, encoding, size, lower(hex(data)) FROM blobs ORDER BY ref");
  return result.rows.map((r) => Array.from({ length: 5 }, (_, i) => String(r[i])).join(" "));
}

async function rowCount(store: Store): Promise<number> {
  return Number((await store[DATABASE].execute("SELECT count(*) FROM blobs")).rows[0]![0]);
}

async function rootedCount(store: Store): Promise<number> {
  return Number((await store[DATABASE].execute("SELECT count(*) FROM blobs WHERE kind NOT IN ('chunk', 'chunk-list')")).rows[0]![0]);
}

const SIZES = [0, 1, 100, 8191, 8192, 8193, 100_000, MiB - 1, MiB, MiB + 1, 5 * MiB + 12_345];
const text = (size: number) => new Uint8Array(Buffer.from(textPayload(size, `seed-${size}`)));

describe("the stream chunker", () => {
  it("cuts exactly where chunkBoundaries cuts the whole bytes, however the pieces arrive", async () => {
    const params = { min: 256, avg: 1024, max: 4096 };
    await checkAsync(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40_000 }), fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 8 }), async (bytes, sizes) => {
        const chunker = new StreamChunker(params);
        const chunks: Uint8Array[] = [];
        // Each chunk is a view of the chunker's one buffer, valid until the generator resumes: copied here.
        for await (const piece of piecesOf(bytes, sizes.map((s) => s || 1))) for (const c of chunker.push(piece)) chunks.push(c.slice());
        for (const c of chunker.end()) chunks.push(c.slice());
        let at = 0;
        const cuts = chunks.map((c) => (at += c.byteLength));
        expect(cuts).toEqual(chunkBoundaries(bytes, params));
        expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
      }),
      60,
    );
    // Past the chunker's scan window, with the chunk sizes of a large put.
    const large = randomPayload(9 * MiB + 77);
    const chunker = new StreamChunker({ min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 });
    const cuts: number[] = [];
    let at = 0;
    for await (const piece of piecesOf(large)) for (const c of chunker.push(piece)) cuts.push((at += c.byteLength));
    for (const c of chunker.end()) cuts.push((at += c.byteLength));
    expect(cuts).toEqual(chunkBoundaries(large, { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }));
  });
});

// Megabyte blobs by the dozen: run where the database is in this process (not "server"), to keep the suite fast.
for (const backend of backends().filter((b) => !b.capabilities.has("server"))) {
  describe(`streaming blobs (${backendTitle(backend)})`, () => {
    const stores: Store[] = [];
    const open = async (options: StoreOptions = {}) => {
      const store = await backend.open(options);
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of stores) await store.close();
      await backend.cleanup();
    });

    it("gives put's ref and stores put's rows, for random and text bytes of every size", async () => {
      for (const profile of ["none", "balanced"] as const) {
        const streamed = await open({ profile });
        const put = await open({ profile });
        for (const size of SIZES) {
          for (const bytes of [randomPayload(size), text(size)]) {
            const ref = await streamed.blobs.putStream(piecesOf(bytes));
            expect(ref).toBe(sha256Hex(bytes));
            expect(await put.blobs.put(bytes)).toBe(ref);
          }
        }
        expect(await rows(streamed)).toEqual(await rows(put));
      }
    });

    it("gives put's ref under other chunkings and a large chunkAbove", async () => {
      for (const options of [
        { chunkAbove: 2048, chunking: { min: 256, avg: 1024, max: 4096 } },
        { chunkAbove: 2 * MiB, chunking: { min: 8192, avg: 32768, max: 131072 } },
        { chunking: { min: 64 * 1024, avg: 256 * 1024, max: 2 * MiB } },
      ] satisfies StoreOptions[]) {
        const streamed = await open(options);
        const put = await open(options);
        for (const size of [3000, MiB + 5, 3 * MiB]) {
          const bytes = randomPayload(size);
          expect(await streamed.blobs.putStream(piecesOf(bytes))).toBe(await put.blobs.put(bytes));
        }
        expect(await rows(streamed)).toEqual(await rows(put));
      }
    });

    it("writes no row for bytes a put stored, and dedups its chunks against other blobs", async () => {
      const store = await open();
      const bytes = randomPayload(6 * MiB);
      const ref = await store.blobs.put(bytes);
      const before = await rowCount(store);
      expect(await store.blobs.putStream(piecesOf(bytes))).toBe(ref);
      expect(await rowCount(store)).toBe(before);
      // Streamed twice: no new row either.
      expect(await store.blobs.putStream(piecesOf(bytes))).toBe(ref);
      expect(await rowCount(store)).toBe(before);
      // The same bytes with a tail: only the last chunk or two, the list nodes and the root are new.
      const longer = Buffer.concat([bytes, randomPayload(10_000)]);
      const chunksBefore = before;
      await store.blobs.putStream(piecesOf(longer));
      const added = (await rowCount(store)) - chunksBefore;
      expect(added).toBeGreaterThan(0);
      expect(added).toBeLessThan(10);
    });

    it("reads Node Readables, files, Web ReadableStreams and async iterables that reuse their buffer", async () => {
      const store = await open();
      const bytes = text(3 * MiB + 3);
      const ref = sha256Hex(bytes);
      expect(await store.blobs.putStream(Readable.from(piecesOf(bytes)))).toBe(ref);
      const { dir, remove } = tempDir();
      try {
        writeFileSync(join(dir, "big.txt"), bytes);
        expect(await store.blobs.putStream(createReadStream(join(dir, "big.txt")))).toBe(ref);
      } finally {
        remove();
      }
      const pieces = piecesOf(bytes, [100_000]);
      const web = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await pieces.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      });
      expect(await store.blobs.putStream(web)).toBe(ref);
      async function* reusing(): AsyncGenerator<Uint8Array> {
        const buffer = new Uint8Array(50_000);
        for (let at = 0; at < bytes.byteLength; at += buffer.byteLength) {
          const n = Math.min(buffer.byteLength, bytes.byteLength - at);
          buffer.set(bytes.subarray(at, at + n));
          yield buffer.subarray(0, n);
          buffer.fill(0xee); // the store must have taken what it needed
        }
      }
      expect(await store.blobs.putStream(reusing())).toBe(ref);
      expect(Buffer.from(await store.blobs.get(ref)).equals(Buffer.from(bytes))).toBe(true);
    });

    it("streams every blob back, verified, chunk by chunk", async () => {
      const store = await open();
      for (const size of [0, 1, 8193, MiB + 1, 5 * MiB + 12_345]) {
        const bytes = randomPayload(size);
        const ref = await store.blobs.putStream(piecesOf(bytes));
        const stream = await store.blobs.getStream(ref);
        const back = await collect(stream);
        expect(back.byteLength).toBe(size);
        expect(sha256Hex(back)).toBe(ref);
        // Also through a Node stream.
        const parts: Buffer[] = [];
        for await (const part of Readable.fromWeb((await store.blobs.getStream(ref)) as never)) parts.push(part as Buffer);
        expect(sha256Hex(Buffer.concat(parts))).toBe(ref);
      }
      // Blobs put whole, values and moved-out strings stream too.
      const valueRef = await store.values.put({ big: "x".repeat(100_000) });
      expect(await collect(await store.blobs.getStream(valueRef))).toEqual(await store.blobs.get(valueRef));
    });

    it("stops reading when the stream is cancelled", async () => {
      const store = await open();
      const ref = await store.blobs.putStream(piecesOf(randomPayload(20 * MiB)));
      const reader = (await store.blobs.getStream(ref)).getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      await reader.cancel();
      expect((await reader.read()).done).toBe(true);
    });

    it("refuses bad sources with a typed error, rooting nothing", async () => {
      const store = await open({ maxBlobBytes: 2 * MiB });
      for (const bad of [new Uint8Array(10), "bytes", 42, null, undefined, {}, [new Uint8Array(1)], Promise.resolve(new Uint8Array(1))]) {
        expect(await codeOf(store.blobs.putStream(bad as never))).toBe("INVALID_ARGUMENT");
      }
      const rooted = await rootedCount(store);
      async function* thenText(): AsyncGenerator<unknown> {
        yield randomPayload(MiB);
        yield randomPayload(MiB);
        yield "a string";
      }
      expect(await codeOf(store.blobs.putStream(thenText() as never))).toBe("INVALID_ARGUMENT");
      const node = new Readable({ read() {} });
      node.setEncoding("utf8");
      node.push("text");
      node.push(null);
      expect(await codeOf(store.blobs.putStream(node))).toBe("INVALID_ARGUMENT");
      // Over maxBlobBytes: refused, and a Web source is cancelled.
      let cancelled = false;
      let sent = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += 256 * 1024;
          controller.enqueue(randomPayload(256 * 1024));
        },
        cancel() {
          cancelled = true;
        },
      });
      const error = await store.blobs.putStream(endless).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe("LIMIT_EXCEEDED");
      expect((error as CairnError).details.limit).toBe(2 * MiB);
      expect(cancelled).toBe(true);
      expect(sent).toBeLessThan(4 * MiB);
      // A source that fails: its own error, nothing rooted.
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield randomPayload(1_500_000);
        throw new Error("disk on fire");
      }
      await expect(store.blobs.putStream(failing())).rejects.toThrow("disk on fire");
      expect(await rootedCount(store)).toBe(rooted);
      expect(await codeOf(store.blobs.getStream("not-a-ref"))).toBe("INVALID_REF");
      expect(await codeOf(store.blobs.getStream("ab".repeat(32)))).toBe("NOT_FOUND");
    });
  });
}

describe("a corrupt row never ends a stream normally", () => {
  const dirs: Array<{ remove(): void }> = [];
  const stores: Store[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
    dirs.forEach((d) => d.remove());
  });

  /** A file store holding one streamed blob, and a plain connection to its file. */
  async function setUp(bytes: Uint8Array, options: StoreOptions = {}) {
    const dir = tempDir();
    dirs.push(dir);
    const url = `file:${join(dir.dir, "cairn.db")}`;
    const store = await openStore({ url, ...options });
    stores.push(store);
    const ref = await store.blobs.putStream(piecesOf(bytes));
    const client = createClient({ url });
    return { store, ref, client };
  }

  async function expectIntegrity(store: Store, ref: string, size: number) {
    const ended = await drain(await store.blobs.getStream(ref));
    expect(ended.closed).toBe(false);
    expect(ended.error).toBeInstanceOf(CairnError);
    expect((ended.error as CairnError).code).toBe("INTEGRITY");
    expect(ended.bytes).toBeLessThan(size);
    expect(await codeOf(store.blobs.get(ref))).toBe("INTEGRITY");
    return ended.error as CairnError;
  }

  it("keeps a long stream's early chunks from a gc: every 10 minutes it touches them again", async () => {
    const dir = tempDir("cairn-stream-touch-");
    const store = await openStore({ url: `file:${join(dir.dir, "cairn.db")}`, profile: "none" });
    stores.push(store);
    const bytes = randomPayload(16 * MiB);
    let gcDeleted = -1;
    // Only Date is faked: the stream's clock jumps 11 minutes after its first batches, then a
    // gc with a 5-minute grace runs from inside the source, after the next batch was written.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const start = Date.now();
      async function* source(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < bytes.byteLength; at += MiB) {
          if (at === 6 * MiB) vi.setSystemTime(start + 11 * 60_000);
          if (at === 13 * MiB) gcDeleted = (await store.gc({ grace: 5 * 60_000 })).result?.blobs ?? -1;
          yield bytes.subarray(at, at + MiB);
        }
      }
      const ref = await store.blobs.putStream(source());
      expect(gcDeleted).toBe(0);
      expect(ref).toBe(sha256Hex(bytes));
      expect(sha256Hex(await store.blobs.get(ref))).toBe(ref);
    } finally {
      vi.useRealTimers();
      dir.remove();
    }
  });

  it("errors with INTEGRITY when a chunk's bytes were changed", async () => {
    const bytes = randomPayload(4 * MiB);
    const { store, ref, client } = await setUp(bytes, { profile: "none" });
    const chunk = (await client.execute("SELECT ref, data FROM blobs WHERE kind = 'chunk' ORDER BY rowid LIMIT 1 OFFSET 20")).rows[0]!;
    const data = new Uint8Array(chunk[1] as ArrayBuffer);
    data[100] = data[100]! ^ 0xff;
    await client.execute({ sql: "UPDATE blobs SET data = ? WHERE ref = ?", args: [data, chunk[0]!] });
    client.close();
    const error = await expectIntegrity(store, ref, bytes.byteLength);
    expect(error.details.chunk).toBe(Buffer.from(chunk[0] as ArrayBuffer).toString("hex"));
  });

  it("errors with INTEGRITY when a deflated chunk no longer inflates", async () => {
    const bytes = text(3 * MiB);
    const { store, ref, client } = await setUp(bytes, { profile: "balanced" });
    const chunk = (await client.execute("SELECT ref, data FROM blobs WHERE kind = 'chunk' AND encoding = 1 ORDER BY rowid LIMIT 1 OFFSET 5")).rows[0]!;
    const data = new Uint8Array(chunk[1] as ArrayBuffer);
    data.fill(0x55, 10, 40);
    await client.execute({ sql: "UPDATE blobs SET data = ? WHERE ref = ?", args: [data, chunk[0]!] });
    client.close();
    await expectIntegrity(store, ref, bytes.byteLength);
  });

  it("holds back the last chunk until the whole hash is checked (a list that reorders valid chunks)", async () => {
    // 10 MiB: about 160 chunks, so the root lists at least three list nodes (at most 64 entries each).
    const bytes = randomPayload(10 * MiB);
    const { store, ref, client } = await setUp(bytes);
    const root = (await client.execute({ sql: "SELECT data FROM blobs WHERE ref = unhex(?)", args: [ref] })).rows[0]!;
    const entries = decodeChunkList(new Uint8Array(root[0] as ArrayBuffer), ref);
    expect(entries.length).toBeGreaterThan(1);
    // Every part is still intact and the sizes add up: only the whole hash can tell.
    [entries[0], entries[1]] = [entries[1]!, entries[0]!];
    await client.execute({ sql: "UPDATE blobs SET data = ? WHERE ref = unhex(?)", args: [encodeChunkList(entries), ref] });
    client.close();
    const error = await expectIntegrity(store, ref, bytes.byteLength);
    expect(error.details.expected).toBe(ref);
    expect(error.details.actual).not.toBe(ref);
  });
});
