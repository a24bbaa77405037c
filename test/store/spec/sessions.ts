/** Conformance spec, sessions: sequence numbers, compare-and-swap heads, history pages, forks and deletes, bad ids. */
import { describe, expect, it } from "vitest";
import { CairnError } from "../../../src/index.js";
import { DATABASE } from "../../../src/store.js";
import type { Backend } from "../../support/backends.js";
import { expectCode } from "../../support/expect-code.js";
import { textPayload, uid } from "../../support/random.js";

/** Registers this spec's tests for `backend` (inside its describe block; `backend.cleanup` closes what they open). */
export function sessionsSpec(backend: Backend): void {
  describe("sessions", () => {
    it("numbers commits from 1 and resumes from the latest", async () => {
      const store = await backend.open();
      const session = store.session(uid());
      expect(await session.latest()).toBeUndefined();
      expect(await session.head()).toBe(0);
      for (let turn = 1; turn <= 5; turn++) {
        const { seq } = await session.commit({ turn, snapshots: { execution: { turn } } }, { label: `turn ${turn}`, meta: { cost: turn } });
        expect(seq).toBe(turn);
      }
      const latest = await session.latest();
      expect(latest?.seq).toBe(5);
      expect(latest?.snapshots.execution).toEqual({ turn: 5 });
      expect((await session.at(2)).snapshots.execution).toEqual({ turn: 2 });
      await expectCode(session.at(9), "NOT_FOUND");
      await expectCode(session.at(0), "INVALID_ARGUMENT");
    });

    it("makes expectedHead a compare-and-swap: one writer wins, the other gets CONFLICT", async () => {
      const store = await backend.open();
      const session = store.session(uid());
      await session.commit({ turn: 1, snapshots: { execution: 1 } }, { expectedHead: 0 });
      const results = await Promise.allSettled([
        session.commit({ turn: 2, snapshots: { execution: "a" } }, { expectedHead: 1 }),
        session.commit({ turn: 2, snapshots: { execution: "b" } }, { expectedHead: 1 }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(CairnError);
      expect(lost[0]!.reason.code).toBe("CONFLICT");
      expect(lost[0]!.reason.details).toMatchObject({ expectedHead: 1, actualHead: 2 });
      expect(await session.head()).toBe(2);
      await expectCode(session.commit({ turn: 3, snapshots: {} }, { expectedHead: 7 }), "CONFLICT");
      expect(await session.head()).toBe(2);
      await expectCode(session.commit({ turn: 3, snapshots: {} }, { expectedHead: -1 }), "INVALID_ARGUMENT");
    });

    it("pages through history newest first without reading blobs", async () => {
      const store = await backend.open();
      const session = store.session(uid());
      for (let turn = 1; turn <= 12; turn++) await session.commit({ turn, snapshots: { execution: { turn } } }, { label: `t${turn}` });
      const page1 = await session.history({ limit: 5 });
      expect(page1.map((h) => h.seq)).toEqual([12, 11, 10, 9, 8]);
      const page2 = await session.history({ limit: 5, before: page1.at(-1)!.seq });
      expect(page2.map((h) => h.seq)).toEqual([7, 6, 5, 4, 3]);
      expect((await session.history()).length).toBe(12);
      expect(page1[0]!.label).toBe("t12");
      expect(page1[0]!.turn).toBe(12);
      expect(page1[0]!.createdAt).toBeInstanceOf(Date);
      expect((await store.checkpoints.get(page1[0]!.ref)).snapshots.execution).toEqual({ turn: 12 });
    });

    it("forks sharing every blob, and deletes a history", async () => {
      const store = await backend.open();
      const id = uid();
      const session = store.session(id);
      for (let turn = 1; turn <= 4; turn++) await session.commit({ turn, snapshots: { tool: { out: textPayload(30_000, "fork") }, execution: { turn } } });
      const count = async () => Number((await store[DATABASE].execute("SELECT count(*) FROM blobs")).rows[0]![0]);
      const before = await count();
      const forkId = uid();
      const fork = await session.fork(forkId, { at: 2 });
      expect(await count()).toBe(before);
      expect((await fork.latest())?.seq).toBe(2);
      expect((await fork.latest())?.snapshots.execution).toEqual({ turn: 2 });
      expect((await fork.commit({ turn: 3, snapshots: { execution: "forked" } })).seq).toBe(3);
      expect((await session.latest())?.seq).toBe(4);
      await expectCode(session.fork(forkId), "CONFLICT");
      await expectCode(session.fork(uid(), { at: 99 }), "NOT_FOUND");
      const ids = (await store.sessions.list()).map((s) => s.id);
      expect(ids).toEqual(expect.arrayContaining([id, forkId]));
      expect(await session.delete()).toBe(4);
      expect(await session.latest()).toBeUndefined();
      expect((await store.sessions.list()).map((s) => s.id)).not.toContain(id);
      expect((await fork.latest())?.snapshots.execution).toEqual("forked");
    });

    it("refuses bad session ids and options", async () => {
      const store = await backend.open();
      expect(() => store.session("")).toThrow(CairnError);
      expect(() => store.session(5 as never)).toThrow(CairnError);
      const session = store.session(uid());
      await expectCode(session.history({ limit: -1 }), "INVALID_ARGUMENT");
      await expectCode(session.commit({ turn: 1, snapshots: {} }, { label: 5 as never }), "INVALID_ARGUMENT");
      await expectCode(session.commit({ turn: 1, snapshots: {} }, { meta: { f: () => 0 } }), "UNSUPPORTED_VALUE");
      expect(await session.head()).toBe(0);
    });
  });
}
