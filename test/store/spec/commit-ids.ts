/**
 * Conformance spec, commit identity: a commit id names one history row of a
 * session, so committing again under it (a retry after an answer that never
 * came, from this handle, another one, or a later process) returns the first
 * commit instead of appending twice or failing against itself.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../support/backends.js";
import { expectCode } from "../../support/expect-code.js";
import { uid } from "../../support/random.js";

/** Registers this spec's tests for `backend`. */
export function commitIdsSpec(backend: Backend): void {
  describe("commit ids", () => {
    it("answers a repeated commit id with the first commit's seq and ref, appending nothing", async () => {
      const store = await backend.open();
      const session = store.session(uid());
      const checkpoint = { turn: 1, snapshots: { execution: { step: 1, note: "x".repeat(5000) } } };
      const first = await session.commit(checkpoint, { commitId: "turn-1" });
      expect(first).toMatchObject({ seq: 1, commitId: "turn-1", replayed: false });
      // Again as a plain retry, and as a retry with the head it saw before (which has moved since).
      const again = await session.commit(checkpoint, { commitId: "turn-1" });
      const withHead = await session.commit(checkpoint, { commitId: "turn-1", expectedHead: 0 });
      for (const replay of [again, withHead]) expect(replay).toMatchObject({ seq: 1, ref: first.ref, commitId: "turn-1", replayed: true, blobsWritten: 0 });
      expect(await session.head()).toBe(1);
      const next = await session.commit({ turn: 2, snapshots: { execution: { step: 2 } } }, { commitId: "turn-2", expectedHead: 1 });
      expect(next).toMatchObject({ seq: 2, replayed: false });
      expect((await session.history()).map((e) => [e.seq, e.commitId])).toEqual([
        [2, "turn-2"],
        [1, "turn-1"],
      ]);
    });

    it("refuses a commit id already used for another checkpoint with CONFLICT, writing nothing", async () => {
      const store = await backend.open();
      const session = store.session(uid());
      const first = await session.commit({ turn: 1, snapshots: { execution: { a: 1 } } }, { commitId: "op" });
      const error = await expectCode(session.commit({ turn: 1, snapshots: { execution: { a: 2 } } }, { commitId: "op" }), "CONFLICT");
      expect(error.details).toMatchObject({ commitId: "op", committedSeq: 1, committedRef: first.ref });
      expect(await session.head()).toBe(1);
    });

    it("scopes a commit id to its session, keeps it through a fork, and checks its type", async () => {
      const store = await backend.open();
      const a = store.session(uid());
      const b = store.session(uid());
      const checkpoint = { turn: 1, snapshots: { execution: { same: true } } };
      const inA = await a.commit(checkpoint, { commitId: "shared" });
      const inB = await b.commit(checkpoint, { commitId: "shared" });
      expect([inA.replayed, inB.replayed]).toEqual([false, false]);
      const forked = await a.fork(uid());
      expect(await forked.commit(checkpoint, { commitId: "shared" })).toMatchObject({ seq: 1, replayed: true });
      for (const bad of ["", 7, "x".repeat(2049), "\ud800"]) {
        await expectCode(a.commit(checkpoint, { commitId: bad as never }), "INVALID_ARGUMENT");
      }
      expect(await a.head()).toBe(1);
    });

    // Registered only where the database outlives its handle (not memory).
    if (backend.reopen) it("answers the same commit id the same way from another store handle", async () => {
      const store = await backend.open();
      const id = uid();
      const checkpoint = { turn: 3, snapshots: { execution: { resumed: true } } };
      const first = await store.session(id).commit(checkpoint, { commitId: "after-restart" });
      const other = await backend.reopen!(undefined, store);
      expect(await other.session(id).commit(checkpoint, { commitId: "after-restart" })).toMatchObject({ seq: first.seq, ref: first.ref, replayed: true });
    });

    it("gives every commit to a libSQL server an id of its own", async () => {
      const store = await backend.open();
      const result = await store.session(uid()).commit({ turn: 1, snapshots: { execution: {} } });
      if (backend.capabilities.has("server")) expect(result.commitId).toMatch(/^[0-9a-f-]{36}$/);
      else expect(result.commitId).toBeUndefined();
    });
  });
}
