/**
 * SnapshotHistory: save the full snapshot, load the latest; only changes are stored.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { type Store } from "../../../src/index.js";
import { SnapshotHistory } from "../../../src/adapters/stores/index.js";
import { DATABASE } from "../../../src/store.js";
import { expectCode, backendTitle, storeBackends, rowCounts, storedBytes } from "./helpers.js";

interface Message {
  role: string;
  content: string;
}

/** About `size` bytes of distinct messages, each about 1 KB of random base64 (so compression cannot hide a copy). */
function conversation(size: number): Message[] {
  const messages: Message[] = [];
  for (let i = 0, total = 0; total < size; i++) {
    const content = randomBytes(750).toString("base64");
    messages.push({ role: i % 2 === 0 ? "user" : "assistant", content });
    total += content.length + 30;
  }
  return messages;
}

/** The database's size in pages, as SQLite counts it (the file's size once the WAL is merged). */
async function databaseBytes(store: Store): Promise<number> {
  const db = store[DATABASE];
  const pages = Number((await db.execute("PRAGMA page_count")).rows[0]![0]);
  const pageSize = Number((await db.execute("PRAGMA page_size")).rows[0]![0]);
  return pages * pageSize;
}

for (const backend of storeBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`SnapshotHistory on ${backendTitle(backend)}`, () => {
    afterAll(() => backend.cleanup());

    it("loads undefined before the first save, then the latest", async () => {
      const store = await backend.open();
      const history = new SnapshotHistory<{ turn: number; notes: string[] }>(store, "agent-1");
      expect(await history.load()).toBeUndefined();
      expect(await history.loadEntry()).toBeUndefined();
      const first = await history.save({ turn: 1, notes: ["a"] }, { label: "first", meta: { by: "test" } });
      expect(first.seq).toBe(1);
      await history.save({ turn: 2, notes: ["a", "b"] }, { turn: 2 });
      expect(await history.load()).toEqual({ turn: 2, notes: ["a", "b"] });
      const latest = await history.loadEntry();
      expect(latest).toMatchObject({ seq: 2, turn: 2, snapshot: { turn: 2, notes: ["a", "b"] } });
      expect(await history.loadAt(1)).toEqual({ turn: 1, notes: ["a"] });
      const entries = await history.entries();
      expect(entries.map((e) => [e.seq, e.label, e.meta])).toEqual([
        [2, undefined, undefined],
        [1, "first", { by: "test" }],
      ]);
      await expectCode(history.loadAt(3), "NOT_FOUND");
    });

    it("stores only the change when a 5 MB snapshot gains one message", async () => {
      const store = await backend.open();
      const history = new SnapshotHistory<{ messages: Message[]; memory: Record<string, string> }>(store, "long-session");
      const messages = conversation(5 * 1024 * 1024);
      const snapshot = { messages, memory: { goal: "refactor the parser" } };
      const first = await history.save(snapshot);
      expect(first.bytesWritten).toBeGreaterThan(3_500_000);
      const blobBytesBefore = await storedBytes(store);
      const dbBytesBefore = await databaseBytes(store);

      const next = { ...snapshot, messages: [...messages, { role: "user", content: "one more question, please" }] };
      const second = await history.save(next);
      const blobGrowth = (await storedBytes(store)) - blobBytesBefore;
      const dbGrowth = (await databaseBytes(store)) - dbBytesBefore;
      const fiveMb = 5 * 1024 * 1024;
      // The change costs a few chunks (the array header's, the last one's) and their list nodes:
      // measured about 9 KB against the first save's 4 MB.
      expect(second.bytesWritten).toBeLessThan(fiveMb / 100);
      expect(blobGrowth).toBe(second.bytesWritten);
      expect(dbGrowth).toBeLessThan(fiveMb / 50);

      const loaded = await history.load();
      expect(loaded!.messages).toHaveLength(messages.length + 1);
      expect(loaded!.messages.at(-1)).toEqual({ role: "user", content: "one more question, please" });
      expect(loaded!.messages[1234]).toEqual(messages[1234]);
      expect(await history.loadAt(1)).toEqual(snapshot);
    });

    it("writes no blob when the same snapshot is saved again", async () => {
      const store = await backend.open();
      const history = new SnapshotHistory(store, "same");
      const snapshot = { messages: conversation(100_000) };
      await history.save(snapshot);
      const again = await history.save(snapshot);
      expect(again).toMatchObject({ seq: 2, blobsWritten: 0, bytesWritten: 0 });
    });

    it("refuses a save from a stale head with CONFLICT", async () => {
      const store = await backend.open();
      const history = new SnapshotHistory(store, "cas");
      await history.save({ v: 1 }, { expectedHead: 0 });
      const before = await rowCounts(store);
      const conflict = await expectCode(history.save({ v: 2 }, { expectedHead: 0 }), "CONFLICT");
      expect(conflict.details).toMatchObject({ expectedHead: 0, actualHead: 1 });
      expect(await rowCounts(store)).toEqual(before);
      expect(await history.load()).toEqual({ v: 1 });
    });

    it("answers bad input with a typed error and writes nothing", async () => {
      const store = await backend.open();
      const history = new SnapshotHistory(store, "bad");
      await history.save({ ok: true });
      const before = await rowCounts(store);
      await expectCode(history.save(undefined), "INVALID_ARGUMENT");
      await expectCode(history.save({ ok: 1 }, { turn: -1 }), "INVALID_ARGUMENT");
      await expectCode(history.save({ ok: 1 }, { expectedHead: -2 }), "INVALID_ARGUMENT");
      await expectCode(history.save({ ok: 1 }, { label: "x".repeat(5000) }), "INVALID_ARGUMENT");
      await expectCode(history.save({ ok: 1 }, 7 as never), "INVALID_ARGUMENT");
      await expectCode(history.save({ fn: Symbol("s") }), "UNSUPPORTED_VALUE");
      await expectCode(history.save({ ok: 1 }, { meta: () => 1 }), "UNSUPPORTED_VALUE");
      await expectCode(history.loadAt(0), "INVALID_ARGUMENT");
      await expectCode(history.entries({ limit: -1 }), "INVALID_ARGUMENT");
      expect(await rowCounts(store)).toEqual(before);
      await expectCode(() => new SnapshotHistory(store, ""), "INVALID_ARGUMENT");
      await expectCode(() => new SnapshotHistory(null as unknown as Store, "x"), "INVALID_ARGUMENT");
    });

    if (backend.reopen) {
      it("resumes from the latest snapshot after a restart", async () => {
        const store = await backend.open();
        const history = new SnapshotHistory(store, "resume");
        for (let turn = 1; turn <= 3; turn++) await history.save({ turn });
        await store.close();
        const again = await backend.reopen!();
        expect(await new SnapshotHistory(again, "resume").load()).toEqual({ turn: 3 });
      });
    }
  });
}
