/**
 * Session.dropCheckpoints: removes exactly the named history rows in one write
 * transaction, moves the head to the newest remaining row, deletes a session it
 * empties, ignores unknown seqs, and writes nothing on bad input. On every
 * backend of the registry (a file in a temp dir, :memory:, and where sqld runs,
 * a private server and a replica of it), each store a database of its own so
 * verify, stats and gc see only this test's rows.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Session, Store } from "../../src/index.js";
import { backends, backendTitle } from "../support/backends.js";
import { expectCode } from "../support/expect-code.js";

/** Commits turns 1..n, each with a snapshot of its own (a blob no other turn has). */
async function commitTurns(session: Session, n: number, tag = session.id): Promise<string[]> {
  const refs: string[] = [];
  for (let turn = 1; turn <= n; turn++) {
    const { ref } = await session.commit({ turn, snapshots: { execution: { turn, text: `${tag} turn ${turn} `.repeat(40) } } }, { label: `t${turn}`, commitId: `turn-${turn}` });
    refs.push(ref);
  }
  return refs;
}

async function seqs(session: Session): Promise<number[]> {
  return (await session.history()).map((row) => row.seq);
}

async function listedHead(store: Store, id: string): Promise<number | undefined> {
  return (await store.sessions.list()).find((info) => info.id === id)?.head;
}

for (const backend of backends({ isolated: true, prefix: "cairn-drop-" })) {
  describe.skipIf(backend.unavailable !== undefined)(`Session.dropCheckpoints on ${backendTitle(backend)}`, () => {
    afterAll(() => backend.cleanup());

    it("removes rows in the middle: the others keep their seqs and the head, their blobs stay until gc", async () => {
      const store = await backend.open();
      const session = store.session("middle");
      const refs = await commitTurns(session, 5);
      const other = store.session("other");
      await commitTurns(other, 2);
      const blobsBefore = (await store.stats()).blobs.count;

      expect(await session.dropCheckpoints([2, 3])).toBe(2);
      expect(await seqs(session)).toEqual([5, 4, 1]);
      expect(await session.head()).toBe(5);
      expect(await listedHead(store, "middle")).toBe(5);
      expect((await session.latest())?.seq).toBe(5);
      await expectCode(session.at(2), "NOT_FOUND");
      expect((await session.at(4)).snapshots.execution).toMatchObject({ turn: 4 });
      // Not collected yet: the dropped checkpoint is still readable by ref.
      expect((await store.checkpoints.manifest(refs[1]!)).turn).toBe(2);
      expect((await store.stats()).blobs.count).toBe(blobsBefore);
      expect((await store.verify()).findings).toEqual([]);

      await store.gc({ grace: 0 });
      await expectCode(store.checkpoints.manifest(refs[1]!), "NOT_FOUND");
      await expectCode(store.checkpoints.manifest(refs[2]!), "NOT_FOUND");
      expect((await store.stats()).blobs.count).toBeLessThan(blobsBefore);
      for (const seq of [1, 4, 5]) expect((await session.at(seq)).snapshots.execution).toMatchObject({ turn: seq });
      expect(await seqs(other)).toEqual([2, 1]);
      expect((await other.latest())?.snapshots.execution).toMatchObject({ turn: 2 });
      expect((await store.verify()).findings).toEqual([]);
    });

    it("dropping the head makes the newest remaining row the head, and the next commit follows it", async () => {
      const store = await backend.open();
      const session = store.session("head");
      await commitTurns(session, 4);
      expect(await session.dropCheckpoints([4, 3])).toBe(2);
      expect(await session.head()).toBe(2);
      expect(await listedHead(store, "head")).toBe(2);
      const latest = await session.latest();
      expect(latest?.seq).toBe(2);
      expect(latest?.snapshots.execution).toMatchObject({ turn: 2 });
      expect((await store.verify()).findings).toEqual([]);

      // The dropped head's seq and commit id are free again: a new commit, not a replay.
      const next = await session.commit({ turn: 3, snapshots: { execution: { turn: "3 again" } } }, { commitId: "turn-4", expectedHead: 2 });
      expect(next).toMatchObject({ seq: 3, replayed: false });
      expect(await seqs(session)).toEqual([3, 2, 1]);
      expect((await session.latest())?.snapshots.execution).toEqual({ turn: "3 again" });
      expect((await store.verify()).findings).toEqual([]);
    });

    it("dropping every row deletes the session, as delete() does", async () => {
      const store = await backend.open();
      const session = store.session("all");
      await commitTurns(session, 3);
      expect(await session.dropCheckpoints([3, 1, 2])).toBe(3);
      expect(await session.head()).toBe(0);
      expect(await session.latest()).toBeUndefined();
      expect(await session.history()).toEqual([]);
      expect(await listedHead(store, "all")).toBeUndefined();
      expect((await store.stats()).sessions).toBe(0);
      expect((await store.verify()).findings).toEqual([]);
      expect((await session.commit({ turn: 1, snapshots: { execution: "fresh" } })).seq).toBe(1);
      expect((await store.verify()).findings).toEqual([]);
    });

    it("ignores seqs the session does not have and counts a repeated seq once", async () => {
      const store = await backend.open();
      const session = store.session("unknown");
      await commitTurns(session, 3);
      expect(await session.dropCheckpoints([99, 2, 2])).toBe(1);
      expect(await seqs(session)).toEqual([3, 1]);
      expect(await session.dropCheckpoints([2, 7])).toBe(0);
      expect(await session.dropCheckpoints([])).toBe(0);
      expect(await seqs(session)).toEqual([3, 1]);

      const missing = store.session("never-committed");
      expect(await missing.dropCheckpoints([1])).toBe(0);
      expect(await listedHead(store, "never-committed")).toBeUndefined();
      expect((await store.verify()).findings).toEqual([]);
    });

    it("rejects bad input with INVALID_ARGUMENT and writes nothing", async () => {
      const store = await backend.open();
      const session = store.session("bad");
      await commitTurns(session, 3);
      const before = await session.history();
      for (const bad of [[1.5], [-1], [0], [Number.NaN], [1, "2"], [2, -3], "1", 2, null, undefined, [2 ** 60]]) {
        const error = await expectCode(session.dropCheckpoints(bad as never), "INVALID_ARGUMENT");
        expect(error.message).toMatch(/seqs/);
      }
      expect(await session.history()).toEqual(before);
      expect(await session.head()).toBe(3);
    });

    it("keeps a commit that lands while it runs: the head is always a row that exists", async () => {
      const store = await backend.open();
      const session = store.session("race");
      await commitTurns(session, 3);
      const [dropped, committed] = await Promise.all([
        session.dropCheckpoints([1, 2, 3]),
        session.commit({ turn: 9, snapshots: { execution: { turn: 9 } } }),
      ]);
      expect(dropped).toBe(3);
      const rows = await seqs(session);
      // Either order: the commit landed after the drop (seq 1 of a new session) or before it (seq 4, kept).
      expect(rows).toEqual([committed.seq]);
      expect(await session.head()).toBe(committed.seq);
      expect(await listedHead(store, "race")).toBe(committed.seq);
      expect((await session.latest())?.snapshots.execution).toEqual({ turn: 9 });
      expect((await store.verify()).findings).toEqual([]);
    });
  });
}
