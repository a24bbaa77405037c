/**
 * KeyedState: conversation state by id, on :memory: and a real file.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Store } from "../../../src/index.js";
import { KeyedState } from "../../../src/adapters/stores/index.js";
import { DATABASE } from "../../../src/store.js";
import { textPayload } from "../../support/random.js";
import { expectCode, backendTitle, storeBackends, rowCounts, storedBytes } from "./helpers.js";

for (const backend of storeBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`KeyedState on ${backendTitle(backend)}`, () => {
    afterAll(() => backend.cleanup());

    it("puts, gets, tells existence and deletes", async () => {
      const store = await backend.open();
      const states = new KeyedState(store);
      const state = {
        items: [{ role: "user", content: "hi" }],
        at: new Date(1_700_000_000_000),
        big: 2n ** 80n,
        tags: new Set(["a", "b"]),
        bytes: new Uint8Array([1, 2, 3]),
        missing: undefined,
      };
      expect(await states.exists("resp_1")).toBe(false);
      expect(await states.version("resp_1")).toBe(0);
      const put = await states.put("resp_1", state);
      expect(put.version).toBe(1);
      expect(put.ref).toMatch(/^[0-9a-f]{64}$/);
      expect(await states.exists("resp_1")).toBe(true);
      expect(await states.get("resp_1")).toEqual(state);
      expect(await states.delete("resp_1")).toBe(true);
      expect(await states.delete("resp_1")).toBe(false);
      expect(await states.exists("resp_1")).toBe(false);
      const missing = await expectCode(states.get("resp_1"), "NOT_FOUND");
      expect(missing.details).toMatchObject({ id: "resp_1", namespace: "default" });
      await states.put("resp_1", "again");
      expect(await states.version("resp_1")).toBe(1);
      expect(await states.get("resp_1")).toBe("again");
    });

    it("replaces a key's state, keeping one version in the history", async () => {
      const store = await backend.open();
      const states = new KeyedState<{ n: number }>(store);
      for (let n = 1; n <= 5; n++) expect((await states.put("thread", { n })).version).toBe(n);
      expect(await states.get("thread")).toEqual({ n: 5 });
      expect(await states.version("thread")).toBe(5);
      const history = await store.session("keyed:default:thread").history();
      expect(history.map((h) => h.seq)).toEqual([5]);
    });

    it("writes once with expectedVersion 0 and refuses a stale compare-and-swap with CONFLICT", async () => {
      const store = await backend.open();
      const states = new KeyedState(store);
      await states.put("resp_9", { v: 1 }, { expectedVersion: 0 });
      const before = await rowCounts(store);
      const conflict = await expectCode(states.put("resp_9", { v: 2 }, { expectedVersion: 0 }), "CONFLICT");
      expect(conflict.details).toMatchObject({ id: "resp_9", expectedVersion: 0, actualVersion: 1 });
      expect(await rowCounts(store)).toEqual(before);
      expect(await states.get("resp_9")).toEqual({ v: 1 });
      await states.put("resp_9", { v: 3 }, { expectedVersion: 1 });
      expect(await states.get("resp_9")).toEqual({ v: 3 });
    });

    it("lets exactly one of two racing write-once puts win", async () => {
      const store = await backend.open();
      const states = new KeyedState(store);
      const results = await Promise.allSettled([states.put("race", "a", { expectedVersion: 0 }), states.put("race", "b", { expectedVersion: 0 })]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(lost.reason.code).toBe("CONFLICT");
      const winner = (results.findIndex((r) => r.status === "fulfilled") === 0 ? "a" : "b");
      expect(await states.get("race")).toBe(winner);
    });

    it("keeps namespaces apart", async () => {
      const store = await backend.open();
      const a = new KeyedState(store, { namespace: "a" });
      const b = new KeyedState(store, { namespace: "b" });
      await a.put("x", "from a");
      expect(await b.exists("x")).toBe(false);
      await expectCode(b.get("x"), "NOT_FOUND");
      await b.put("x", "from b");
      expect(await a.get("x")).toBe("from a");
      expect(await b.get("x")).toBe("from b");
    });

    it("chains states by previous_response_id, storing each large payload once", async () => {
      const store = await backend.open();
      const states = new KeyedState<{ items: Array<{ role: string; content: string }> }>(store, { namespace: "responses" });
      const toolOutput = textPayload(200_000, "tool-output");
      let previous: string | undefined;
      let logicalBytes = 0;
      for (let turn = 0; turn < 20; turn++) {
        const prev = previous === undefined ? { items: [] } : await states.get(previous);
        const items = [...prev.items, { role: "user", content: `question ${turn}` }];
        items.push({ role: "tool", content: turn === 3 ? toolOutput : `small output ${turn}` });
        const next = { items };
        const id = `resp_${turn}`;
        await states.put(id, next, { expectedVersion: 0 });
        logicalBytes += JSON.stringify(next).length;
        previous = id;
      }
      const last = await states.get("resp_19");
      expect(last.items).toHaveLength(40);
      expect(last.items[7]!.content).toBe(toolOutput);
      // 17 states hold the 200 KB output (3.4 MB logically); the store holds it once.
      expect(logicalBytes).toBeGreaterThan(3_400_000);
      const copies = await store[DATABASE].execute("SELECT count(*) FROM blobs WHERE kind = 'large-value' AND size = ?", [toolOutput.length]);
      expect(Number(copies.rows[0]![0])).toBe(1);
      expect(await storedBytes(store)).toBeLessThan(400_000);
    });

    it("answers bad input with INVALID_ARGUMENT or UNSUPPORTED_VALUE and writes nothing", async () => {
      const store = await backend.open();
      const states = new KeyedState(store);
      await states.put("ok", { fine: true });
      const before = await rowCounts(store);
      for (const id of ["", 42, null, "x".repeat(600), "\ud800"]) {
        await expectCode(states.put(id as string, 1), "INVALID_ARGUMENT");
        await expectCode(states.get(id as string), "INVALID_ARGUMENT");
        await expectCode(states.exists(id as string), "INVALID_ARGUMENT");
        await expectCode(states.delete(id as string), "INVALID_ARGUMENT");
      }
      await expectCode(states.put("ok", undefined), "INVALID_ARGUMENT");
      await expectCode(states.put("ok", 2, { expectedVersion: -1 }), "INVALID_ARGUMENT");
      await expectCode(states.put("ok", 2, { expectedVersion: 1.5 }), "INVALID_ARGUMENT");
      await expectCode(states.put("ok", 2, "fast" as never), "INVALID_ARGUMENT");
      const unsupported = await expectCode(states.put("ok", { run: () => 1 }), "UNSUPPORTED_VALUE");
      expect(unsupported.details.path).toBe("/snapshots/state/run");
      await expectCode(states.put("new", { when: new (class Custom {})() }), "UNSUPPORTED_VALUE");
      expect(await rowCounts(store)).toEqual(before);
      expect(await states.get("ok")).toEqual({ fine: true });
      expect(await states.exists("new")).toBe(false);
      await expectCode(() => new KeyedState(store, { namespace: "a:b" }), "INVALID_ARGUMENT");
      await expectCode(() => new KeyedState(store, { namespace: "" }), "INVALID_ARGUMENT");
      await expectCode(() => new KeyedState({} as Store), "INVALID_ARGUMENT");
    });

    if (backend.reopen) {
      it("gives a state back from another store on the same file", async () => {
        const store = await backend.open();
        await new KeyedState(store).put("resp_x", { items: ["a", "b"] });
        await store.close();
        const again = await backend.reopen!();
        expect(await new KeyedState(again).get("resp_x")).toEqual({ items: ["a", "b"] });
      });
    }
  });
}
