/**
 * UsageLedger: token usage per session, atomically with a checkpoint commit or on its own.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Store } from "../../../src/index.js";
import { UsageLedger, type UsageInput } from "../../../src/adapters/stores/index.js";
import { DATABASE } from "../../../src/store.js";
import { expectCode, backendTitle, storeBackends, rowCounts } from "./helpers.js";

const call = (model: string, input: number, output: number, extra: Partial<UsageInput> = {}): UsageInput => ({
  source: "agent",
  model,
  inputTokens: input,
  outputTokens: output,
  ...extra,
});

for (const backend of storeBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`UsageLedger on ${backendTitle(backend)}`, () => {
    afterAll(() => backend.cleanup());

    it("records usage on its own and reads it back", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      const recorded = await ledger.record("s1", [
        call("gpt-4.1", 1000, 200, { cachedTokens: 512, meta: { requestId: "req_1", costUsd: 0.0042 }, time: 1_700_000_000_000 }),
        call("o3", 300, 900, { reasoningTokens: 700, source: "planner" }),
      ]);
      expect(recorded.map((e) => e.seq)).toEqual([undefined, undefined]);
      expect(recorded[1]!.id).toBeGreaterThan(recorded[0]!.id);
      const single = await ledger.record("s1", call("gpt-4.1", 10, 1));
      expect(single).toHaveLength(1);
      const entries = await ledger.entries({ session: "s1" });
      expect(entries).toEqual([...recorded, ...single].map((e) => ({ ...e })));
      expect(entries[0]).toMatchObject({
        session: "s1",
        source: "agent",
        model: "gpt-4.1",
        inputTokens: 1000,
        outputTokens: 200,
        cachedTokens: 512,
        reasoningTokens: 0,
        meta: { requestId: "req_1", costUsd: 0.0042 },
        time: new Date(1_700_000_000_000),
      });
      expect(entries[1]).toMatchObject({ source: "planner", reasoningTokens: 700, cachedTokens: 0, meta: undefined });
    });

    it("records usage in the commit's transaction, tagged with its seq", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      const first = await ledger.commit("run", { turn: 1, snapshots: { execution: { step: 1 } } }, [call("gpt-4.1", 100, 10), call("gpt-4.1-mini", 50, 5)], {
        expectedHead: 0,
        label: "turn 1",
      });
      const session = store.session("run");
      const second = await ledger.commit(session, { turn: 2, snapshots: { execution: { step: 2 } } }, call("gpt-4.1", 200, 20), { expectedHead: 1 });
      expect([first.seq, second.seq]).toEqual([1, 2]);
      expect((await session.latest())?.snapshots.execution).toEqual({ step: 2 });
      expect((await session.history()).map((h) => h.label)).toEqual([undefined, "turn 1"]);
      const entries = await ledger.entries({ session: "run" });
      expect(entries.map((e) => [e.seq, e.model, e.inputTokens])).toEqual([
        [1, "gpt-4.1", 100],
        [1, "gpt-4.1-mini", 50],
        [2, "gpt-4.1", 200],
      ]);
      // a commit with no usage is just a commit
      expect((await ledger.commit("run", { turn: 3, snapshots: {} }, [])).seq).toBe(3);
      expect(await ledger.entries({ session: "run" })).toHaveLength(3);
    });

    it("leaves no usage entry when the commit fails", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      await ledger.commit("atomic", { turn: 1, snapshots: { execution: "a" } }, call("gpt-4.1", 1, 1), { expectedHead: 0 });
      const before = await rowCounts(store);
      // a stale expected head: another writer already committed seq 1
      const conflict = await expectCode(
        ledger.commit("atomic", { turn: 2, snapshots: { execution: "b".repeat(50_000) } }, [call("gpt-4.1", 5000, 500), call("o3", 1, 1)], {
          expectedHead: 0,
        }),
        "CONFLICT",
      );
      expect(conflict.details).toMatchObject({ expectedHead: 0, actualHead: 1 });
      // a checkpoint that cannot be encoded
      await expectCode(ledger.commit("atomic", { turn: 2, snapshots: { execution: { f: () => 1 } } }, call("gpt-4.1", 7, 7)), "UNSUPPORTED_VALUE");
      // usage that is bad: the checkpoint is not committed either
      await expectCode(ledger.commit("atomic", { turn: 2, snapshots: { execution: "c" } }, [call("gpt-4.1", 7, 7), call("gpt-4.1", -1, 7)]), "INVALID_ARGUMENT");
      expect(await rowCounts(store)).toEqual(before);
      expect(await store.session("atomic").head()).toBe(1);
      expect((await ledger.entries()).map((e) => e.inputTokens)).toEqual([1]);
      expect(await ledger.totals({ session: "atomic" })).toMatchObject({ entries: 1, inputTokens: 1, outputTokens: 1 });
    });

    it("leaves no checkpoint when recording the usage fails inside the commit's transaction", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      await ledger.commit("both-ways", { turn: 1, snapshots: { execution: "a" } }, call("gpt-4.1", 1, 1));
      // Make the database itself refuse one usage row, after the history row is inserted (a real
      // trigger, not TEMP: a temp trigger would live on one pooled connection only).
      await store[DATABASE].execute(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON usage WHEN NEW.model = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
      );
      const before = await rowCounts(store);
      const error = await expectCode(
        ledger.commit("both-ways", { turn: 2, snapshots: { execution: "new ".repeat(20_000) } }, [call("gpt-4.1", 9, 9), call("boom", 1, 1)]),
        "DATABASE",
      );
      expect(error.message).toMatch(/boom refused/);
      expect(await rowCounts(store)).toEqual(before);
      expect(await store.session("both-ways").head()).toBe(1);
      expect((await store.session("both-ways").latest())?.snapshots.execution).toBe("a");
    });

    it("totals per session, per model and per source", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      await ledger.record("s1", [call("gpt-4.1", 100, 10, { cachedTokens: 40 }), call("o3", 20, 200, { reasoningTokens: 150, source: "planner" })]);
      await ledger.commit("s2", { turn: 1, snapshots: {} }, [call("gpt-4.1", 1000, 100), call("gpt-4.1", 1, 2)]);
      await ledger.record("s2", call("o3", 5, 50, { reasoningTokens: 30 }));
      expect(await ledger.totals()).toEqual({
        entries: 5,
        inputTokens: 1126,
        outputTokens: 362,
        cachedTokens: 40,
        reasoningTokens: 180,
        totalTokens: 1488,
      });
      expect(await ledger.totals({ session: "s2", model: "gpt-4.1" })).toMatchObject({ entries: 2, inputTokens: 1001, outputTokens: 102 });
      expect(await ledger.totals({ session: "nobody" })).toEqual({ entries: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 0 });
      const bySession = await ledger.totalsBy("session");
      expect([...bySession.keys()]).toEqual(["s1", "s2"]);
      expect(bySession.get("s1")).toMatchObject({ entries: 2, inputTokens: 120, outputTokens: 210, totalTokens: 330 });
      expect(bySession.get("s2")).toMatchObject({ entries: 3, inputTokens: 1006, outputTokens: 152, reasoningTokens: 30 });
      const byModel = await ledger.totalsBy("model");
      expect(Object.fromEntries([...byModel].map(([model, t]) => [model, [t.entries, t.inputTokens, t.outputTokens]]))).toEqual({
        "gpt-4.1": [3, 1101, 112],
        o3: [2, 25, 250],
      });
      const s2ByModel = await ledger.totalsBy("model", { session: "s2" });
      expect(s2ByModel.get("o3")).toMatchObject({ entries: 1, reasoningTokens: 30 });
      expect((await ledger.totalsBy("source")).get("planner")).toMatchObject({ entries: 1, outputTokens: 200 });
    });

    it("pages and filters entries", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      await ledger.record("p", Array.from({ length: 12 }, (_, i) => call(i % 3 === 0 ? "a" : "b", i, 0)));
      const page1 = await ledger.entries({ session: "p", limit: 5 });
      const page2 = await ledger.entries({ session: "p", limit: 5, after: page1.at(-1)!.id });
      const page3 = await ledger.entries({ session: "p", limit: 5, after: page2.at(-1)!.id });
      expect([...page1, ...page2, ...page3].map((e) => e.inputTokens)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect((await ledger.entries({ model: "a" })).map((e) => e.inputTokens)).toEqual([0, 3, 6, 9]);
      expect(await ledger.entries({ source: "nobody" })).toEqual([]);
    });

    it("answers bad input with a typed error and writes nothing", async () => {
      const store = await backend.open();
      const ledger = new UsageLedger(store);
      await ledger.record("ok", call("m", 1, 1));
      const before = await rowCounts(store);
      const bad: unknown[] = [
        null,
        { model: "m", inputTokens: 1, outputTokens: 1 },
        call("", 1, 1),
        call("m", -1, 1),
        call("m", 1, 1.5),
        call("m", 1, Number.MAX_SAFE_INTEGER + 2),
        call("m", "12" as never, 1),
        call("m", 1, 1, { cachedTokens: -3 }),
        call("m", 1, 1, { reasoningTokens: NaN }),
        call("m", 1, 1, { time: new Date("nope") }),
      ];
      for (const entry of bad) await expectCode(ledger.record("ok", entry as UsageInput), "INVALID_ARGUMENT");
      const inBatch = await expectCode(ledger.record("ok", [call("m", 1, 1), call("m", 1, -1)]), "INVALID_ARGUMENT");
      expect(inBatch.details).toMatchObject({ index: 1, argument: "outputTokens" });
      await expectCode(ledger.record("ok", call("m", 1, 1, { meta: { f: Symbol("x") } })), "UNSUPPORTED_VALUE");
      await expectCode(ledger.record("ok", call("m", 1, 1, { meta: "x".repeat(70_000) })), "LIMIT_EXCEEDED");
      await expectCode(ledger.record("", call("m", 1, 1)), "INVALID_ARGUMENT");
      await expectCode(ledger.commit("", { turn: 1, snapshots: {} }, call("m", 1, 1)), "INVALID_ARGUMENT");
      await expectCode(ledger.commit("ok", { turn: -1, snapshots: {} }, call("m", 1, 1)), "INVALID_ARGUMENT");
      await expectCode(ledger.commit("ok", { turn: 1, snapshots: {} }, call("m", 1, 1), { expectedHead: -1 }), "INVALID_ARGUMENT");
      expect(await rowCounts(store)).toEqual(before);
      await expectCode(ledger.totalsBy("day" as never), "INVALID_ARGUMENT");
      await expectCode(ledger.totals({ model: "" }), "INVALID_ARGUMENT");
      await expectCode(ledger.entries({ limit: 0 }), "INVALID_ARGUMENT");
      await expectCode(ledger.entries({ after: -5 }), "INVALID_ARGUMENT");
      await expectCode(() => new UsageLedger({ session: () => 1 } as unknown as Store), "INVALID_ARGUMENT");
    });

    if (backend.reopen) {
      it("keeps entries across a restart", async () => {
        const store = await backend.open();
        await new UsageLedger(store).commit("r", { turn: 1, snapshots: { execution: 1 } }, call("gpt-4.1", 3, 4));
        await store.close();
        const again = await backend.reopen!();
        expect(await new UsageLedger(again).totals({ session: "r" })).toMatchObject({ entries: 1, totalTokens: 7 });
      });
    }
  });
}
