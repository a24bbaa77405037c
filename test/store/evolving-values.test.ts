/**
 * Growing values (a history one turn longer each commit) reuse the previous
 * version's cuts and chunk refs. That must be an optimization only: the chunks
 * stored are exactly the ones a fresh cut of the same bytes gives, and the value
 * reads back whole at every turn.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { openStore, type Store } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { chunkBoundaries, DEFAULT_CHUNKING } from "../../src/codec/chunker.js";
import { ChunkEntryType, decodeChunkList, type ChunkEntry } from "../../src/codec/chunk-list.js";
import { encodeValue } from "../../src/codec/value-codec.js";
import { hashBytes, type Ref } from "../../src/hash/ref.js";
import { tempDir } from "../support/backends.js";
import { prng } from "../../src/cli/workload.js";

/** The leaf chunk refs of a stored chunked blob, in order, read straight from its rows. */
async function leafRefs(store: Store, ref: Ref): Promise<Ref[]> {
  const db = store[DATABASE];
  const rowOf = async (r: Ref) => (await db.execute("SELECT encoding, data FROM blobs WHERE ref = unhex(?)", [r])).rows[0]!;
  const expand = async (entries: ChunkEntry[]): Promise<Ref[]> => {
    const out: Ref[] = [];
    for (const entry of entries) {
      if (entry.type === ChunkEntryType.CHUNK) out.push(entry.ref);
      else out.push(...(await expand(decodeChunkList(new Uint8Array((await rowOf(entry.ref))[1] as ArrayBuffer), entry.ref))));
    }
    return out;
  };
  const row = await rowOf(ref);
  expect(Number(row[0])).toBe(2);
  return expand(decodeChunkList(new Uint8Array(row[1] as ArrayBuffer), ref));
}

describe("evolving values", () => {
  const dir = tempDir();
  const stores: Store[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
    dir.remove();
  });

  it("are cut exactly as a fresh cut of the same bytes, turn after turn, and read back whole", async () => {
    const store = await openStore({ url: `file:${join(dir.dir, "grow.db")}` });
    stores.push(store);
    const session = store.session("grow");
    const rand = prng(7);
    const messages: Array<{ role: string; content: string }> = [];
    for (let turn = 1; turn <= 60; turn++) {
      const words = Array.from({ length: 40 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 1e6).toString(36));
      messages.push({ role: turn % 2 ? "user" : "assistant", content: words.join(" ") });
      if (turn % 7 === 0) messages[Math.floor(rand() * messages.length)]!.content += " (edited)";
      const execution = { messages: messages.map((m) => ({ ...m })), turn };
      const { ref } = await session.commit({ turn, snapshots: { execution } });
      const slot = (await store.checkpoints.manifest(ref)).slots.execution!;
      const bytes = encodeValue(execution, { threshold: 16 * 1024, moveOutString: () => undefined, moveOutBytes: () => { throw new Error("no bytes here"); }, linked: () => {} });
      expect(slot).toBe(hashBytes(bytes));
      if (bytes.length > 8 * 1024) {
        const cuts = [64, ...chunkBoundaries(bytes.subarray(64), DEFAULT_CHUNKING).map((c) => c + 64)];
        let from = 0;
        const expected = cuts.map((end) => {
          const chunk = hashBytes(bytes.subarray(from, end));
          from = end;
          return chunk;
        });
        expect(await leafRefs(store, slot)).toEqual(expected);
      }
      if (turn % 10 === 0) expect((await session.latest())?.snapshots.execution).toEqual(execution);
    }
  });

  it("are compressed chunk by chunk: the 64-byte head chunk, too small to compress, does not decide for the rest", async () => {
    const store = await openStore({ url: `file:${join(dir.dir, "squeeze.db")}` });
    stores.push(store);
    const rand = prng(11);
    // Many short messages (none moved out), so the slot itself is one large chunked value.
    const word = () => ["the", "agent", "reads", "a", "file", "and", "writes", "notes"][Math.floor(rand() * 8)];
    const messages = Array.from({ length: 3000 }, () => Array.from({ length: 12 }, word).join(" "));
    const { ref } = await store.session("squeeze").commit({ turn: 1, snapshots: { execution: { messages } } });
    const slot = (await store.checkpoints.manifest(ref)).slots.execution!;
    const leaves = await leafRefs(store, slot);
    const rows = await store[DATABASE].execute(
      "SELECT size, encoding FROM blobs WHERE ref IN (SELECT unhex(value) FROM json_each(?))",
      [JSON.stringify(leaves)],
    );
    const compressible = rows.rows.filter((r) => Number(r[0]) >= 256);
    expect(compressible.length).toBeGreaterThan(5);
    // Every chunk of this text that is large enough to compress is stored deflated (encoding 1).
    expect(compressible.map((r) => Number(r[1]))).toEqual(compressible.map(() => 1));
  });

  it("leaves no WAL behind after close(): the file on disk is the whole database", async () => {
    const path = join(dir.dir, "wal.db");
    const store = await openStore({ url: `file:${path}` });
    await store.session("w").commit({ turn: 1, snapshots: { execution: "x".repeat(100_000) } });
    await store.close();
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).toBe(true);
  });
});
