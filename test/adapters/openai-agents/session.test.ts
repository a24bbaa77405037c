/**
 * CairnSession's contract, on every backend cairn runs on (memory, file, a real
 * sqld over http and ws, an embedded replica): the SDK Session methods, the
 * history-transaction and rewrite capabilities, the saved RunState slot, bad
 * input answered with INVALID_ARGUMENT and nothing written. Then, on files:
 * concurrent writers from two store handles, and what an append costs.
 */
import { createHash, randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Agent, run, setTracingDisabled, tool, type AgentInputItem } from "@openai/agents";
import { ScriptedModel, assistantMessage, functionCall } from "@openai/agents-core/testing";
import { z } from "zod";
import { CairnError, openStore, type Store } from "../../../src/index.js";
import { CairnSession, SESSION_ID_PREFIX } from "../../../src/adapters/openai-agents/index.js";
import { backendTitle, backends, tempDir } from "../../support/backends.js";

setTracingDisabled(true);

const user = (content: string): AgentInputItem => ({ type: "message", role: "user", content });
const assistant = (text: string): AgentInputItem => ({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text }] });

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
  return undefined;
}

for (const backend of backends()) {
  describe.skipIf(backend.unavailable !== undefined)(`CairnSession on ${backendTitle(backend)}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const store = await backend.open();
      opened.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of opened) await store.close().catch(() => {});
      backend.cleanup();
    });
    const fresh = async () => {
      const store = await open();
      const sessionId = `s-${randomUUID()}`;
      return { store, sessionId, session: new CairnSession({ store, sessionId }), history: store.session(SESSION_ID_PREFIX + sessionId) };
    };

    it("starts empty and writes nothing until something changes", async () => {
      const { session, sessionId, history } = await fresh();
      expect(await session.getSessionId()).toBe(sessionId);
      expect(session.cairnSessionId).toBe(`openai-agents:${sessionId}`);
      expect(await session.getItems()).toEqual([]);
      expect(await session.getItems(3)).toEqual([]);
      expect(await session.popItem()).toBeUndefined();
      await session.clearSession();
      await session.clearRunState();
      await session.addItems([]);
      expect(await history.head()).toBe(0);
    });

    it("appends, reads the newest items, pops and clears, one commit per change", async () => {
      const { session, history } = await fresh();
      await session.addItems([user("one"), assistant("two")]);
      await session.addItems([user("three")]);
      expect(await session.getItems()).toEqual([user("one"), assistant("two"), user("three")]);
      expect(await session.getItems(2)).toEqual([assistant("two"), user("three")]);
      expect(await session.getItems(0)).toEqual([]);
      expect(await session.getItems(10)).toHaveLength(3);
      expect(await session.popItem()).toEqual(user("three"));
      expect(await session.getItems()).toEqual([user("one"), assistant("two")]);
      await session.clearSession();
      expect(await session.getItems()).toEqual([]);
      const rows = await history.history();
      expect(rows.map((r) => r.label)).toEqual(["clearSession", "popItem", "addItems", "addItems"]);
      expect(rows.map((r) => r.turn)).toEqual([0, 2, 3, 2]);
      // Earlier states stay in cairn's history.
      expect((await history.at(2)).snapshots.items).toEqual([user("one"), assistant("two"), user("three")]);
    });

    it("gives back items exactly, binary parts included, and as copies", async () => {
      const { store, sessionId, session } = await fresh();
      const bytes = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
      const large = new Uint8Array(40 * 1024).map((_, i) => (i * 13 + (i >> 9)) & 0xff);
      const items: AgentInputItem[] = [
        { role: "user", content: [{ type: "input_text", text: "what is in these? ✓ 日本 🎉" }, { type: "input_image", image: "data:image/png;base64,iVBORw0KGgo=", detail: "high" }] },
        { type: "function_call_result", name: "screenshot", callId: "c1", status: "completed", output: { type: "image", image: { data: bytes, mediaType: "image/png" } } },
        {
          type: "function_call_result",
          name: "fetch",
          callId: "c2",
          status: "completed",
          output: { type: "file", file: { data: Buffer.from(large) as Uint8Array<ArrayBuffer>, mediaType: "application/pdf", filename: "a.pdf" } },
        },
        { type: "function_call", name: "f", callId: "c3", arguments: "{}", providerData: { n: -0, big: 2 ** 60, none: undefined, list: [1, null, "x"] } },
      ];
      await session.addItems(items);
      const back = (await new CairnSession({ store, sessionId }).getItems()) as unknown as Array<Record<string, any>>;
      expect(back[1]!.output.image.data).toBeInstanceOf(Uint8Array);
      expect(back[1]!.output.image.data).toEqual(bytes);
      // A Buffer comes back as a plain Uint8Array with the same bytes.
      expect(back[2]!.output.file.data).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(back[2]!.output.file.data as Uint8Array).equals(Buffer.from(large))).toBe(true);
      expect(back[3]!.providerData).toEqual({ n: -0, big: 2 ** 60, none: undefined, list: [1, null, "x"] });
      expect(Object.is(back[3]!.providerData.n, -0)).toBe(true);
      expect("none" in back[3]!.providerData).toBe(true);
      expect(back[0]).toEqual(items[0]);
      // Large byte arrays are blobs of their own.
      expect(await store.blobs.has(hex(large))).toBe(true);

      // Changing what getItems returned, or what was passed in, changes nothing stored.
      back[0]!.role = "system";
      bytes[0] = 255;
      const again = (await session.getItems()) as unknown as Array<Record<string, any>>;
      expect(again[0]).toEqual(items[0]);
      expect(again[1]!.output.image.data[0]).toBe(0);
    });

    it("applies a history transaction once per operation id", async () => {
      const { store, sessionId, session, history } = await fresh();
      await session.addItems([user("q")]);
      const args = { operationId: "op-1", transaction: { type: "append_items" as const, items: [assistant("a1"), user("q2")] } };
      await session.applyHistoryTransaction(args);
      const head = await history.head();
      await session.applyHistoryTransaction(structuredClone(args));
      await new CairnSession({ store, sessionId }).applyHistoryTransaction(args);
      expect(await history.head()).toBe(head);
      expect(await session.getItems()).toEqual([user("q"), assistant("a1"), user("q2")]);

      // A retry rebuilt from JSON (undefined-valued keys gone) is the same operation.
      const withUndefined = { operationId: "op-json", transaction: { type: "append_items" as const, items: [{ ...user("j"), providerData: undefined }] } };
      await session.applyHistoryTransaction(withUndefined);
      const afterJson = await history.head();
      await session.applyHistoryTransaction(JSON.parse(JSON.stringify(withUndefined)));
      expect(await history.head()).toBe(afterJson);
      await session.popItem();
      const head2 = await history.head();

      // Same id, different transaction: CONFLICT, nothing written.
      expect(await codeOf(session.applyHistoryTransaction({ operationId: "op-1", transaction: { type: "append_items", items: [user("other")] } }))).toBe(
        "CONFLICT",
      );
      expect(await history.head()).toBe(head2);

      // replace_suffix replaces a matching suffix...
      await session.applyHistoryTransaction({
        operationId: "op-2",
        transaction: { type: "replace_suffix", expectedSuffix: [assistant("a1"), user("q2")], replacement: [assistant("redacted")] },
      });
      expect(await session.getItems()).toEqual([user("q"), assistant("redacted")]);
      // ...and refuses one that no longer matches, changing nothing.
      expect(
        await codeOf(
          session.applyHistoryTransaction({
            operationId: "op-3",
            transaction: { type: "replace_suffix", expectedSuffix: [assistant("a1")], replacement: [assistant("x")] },
          }),
        ),
      ).toBe("CONFLICT");
      expect(
        await codeOf(
          session.applyHistoryTransaction({
            operationId: "op-3",
            transaction: { type: "replace_suffix", expectedSuffix: [user("q"), user("q"), user("q")], replacement: [] },
          }),
        ),
      ).toBe("CONFLICT");
      expect(await session.getItems()).toEqual([user("q"), assistant("redacted")]);
      // The refused op-3 was not recorded: it can still be applied.
      await session.applyHistoryTransaction({
        operationId: "op-3",
        transaction: { type: "replace_suffix", expectedSuffix: [assistant("redacted")], replacement: [assistant("final")] },
      });
      expect(await session.getItems()).toEqual([user("q"), assistant("final")]);

      // Operation ids outlive clearSession: a late retry is still a no-op.
      await session.clearSession();
      await session.applyHistoryTransaction(args);
      expect(await session.getItems()).toEqual([]);
      const rows = await history.history();
      expect(rows.filter((r) => r.label === "applyHistoryTransaction").map((r) => (r.meta as { operationId: string }).operationId)).toEqual([
        "op-3",
        "op-2",
        "op-json",
        "op-1",
      ]);
    });

    it("rewrites function calls and replaces history for compaction in one commit", async () => {
      const { session, history } = await fresh();
      const call = { type: "function_call" as const, name: "search", callId: "c1", arguments: '{"q":"secret"}', status: "completed" as const };
      await session.addItems([user("q"), call, { type: "function_call_result", name: "search", callId: "c1", status: "completed", output: "r" }]);
      await session.applyHistoryMutations({ mutations: [{ type: "replace_function_call", callId: "c1", replacement: { ...call, arguments: '{"q":"***"}' } }] });
      expect((await session.getItems())[1]).toEqual({ ...call, arguments: '{"q":"***"}' });
      const head = await history.head();
      await session.applyHistoryMutations({ mutations: [{ type: "replace_function_call", callId: "nope", replacement: call }] });
      await session.applyHistoryMutations({ mutations: [] });
      expect(await history.head()).toBe(head);

      const compacted: AgentInputItem[] = [{ type: "compaction", encrypted_content: "opaque" } as AgentInputItem, user("latest")];
      await session.replaceHistoryWithCompaction(compacted);
      expect(await session.getItems()).toEqual(compacted);
      expect(await history.head()).toBe(head + 1);
    });

    it("keeps a saved RunState next to the conversation until it is cleared", async () => {
      const { store, sessionId, session, history } = await fresh();
      const approve = tool({
        name: "transfer",
        description: "Moves money.",
        parameters: z.object({ amount: z.number() }),
        needsApproval: true,
        execute: async ({ amount }) => `moved ${amount}`,
      });
      const model = new ScriptedModel([[functionCall("transfer", { amount: 5 }, { callId: "t1" })], [assistantMessage("Moved 5.")]]);
      const agent = new Agent({ name: "bank", model, tools: [approve] });
      const paused = await run(agent, "move 5", { session });
      expect(paused.interruptions).toHaveLength(1);
      const commit = await session.saveRunState(paused.state, { label: "awaiting approval" });
      expect(commit.seq).toBe(await history.head());
      expect((await history.history({ limit: 1 }))[0]!.label).toBe("awaiting approval");
      // An item change carries the saved state over (by ref, not re-stored).
      const items = await session.getItems();
      await session.addItems([user("note")]);
      await session.popItem();
      expect(await session.getItems()).toEqual(items);

      const restored = await new CairnSession({ store, sessionId }).loadRunState(agent);
      expect(restored).toBeDefined();
      // What is stored is the state's JSON, exactly (as an object: key order aside).
      expect((await history.latest({ slots: ["execution"] }))!.snapshots.execution).toEqual(JSON.parse(paused.state.toString()));
      expect(restored!.getInterruptions().map((i) => [i.name, i.arguments])).toEqual([["transfer", '{"amount":5}']]);
      restored!.approve(restored!.getInterruptions()[0]!);
      const done = await run(agent, restored!, { session });
      expect(done.finalOutput).toBe("Moved 5.");
      model.assertComplete();

      // A string from toString() is accepted too; clearRunState and clearSession drop it.
      await session.saveRunState(done.state.toString());
      expect((await history.latest({ slots: ["execution"] }))!.snapshots.execution).toEqual(JSON.parse(done.state.toString()));
      expect((await session.loadRunState(agent))?.getInterruptions()).toEqual([]);
      await session.clearRunState();
      expect(await session.loadRunState(agent)).toBeUndefined();
      await session.saveRunState(done.state);
      await session.clearSession();
      expect(await session.loadRunState(agent)).toBeUndefined();
      expect(await session.getItems()).toEqual([]);
    });

    it("answers bad input with INVALID_ARGUMENT and writes nothing", async () => {
      const { store, sessionId, session, history } = await fresh();
      const make = (options: unknown) => () => new CairnSession(options as never);
      expect(await codeOf(make({ store, sessionId: "" }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(make({ store, sessionId: 42 }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(make({ store, sessionId: "x".repeat(600) }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(make({ store: {}, sessionId: "a" }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(make({ sessionId: "a" }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(make(undefined))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(make("store"))).toBe("INVALID_ARGUMENT");

      const bad = session as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      expect(await codeOf(bad.addItems!("not an array"))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.addItems!({ length: 1, 0: user("x") }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.addItems!([user("ok"), null]))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.addItems!([user("ok"), "text"]))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.getItems!(-1))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.getItems!(1.5))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.getItems!("2"))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.replaceHistoryWithCompaction!("x"))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.applyHistoryMutations!({ mutations: [{ type: "drop" }] }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.saveRunState!({ not: "a run state" }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(bad.saveRunState!("{not json"))).toBe("INVALID_ARGUMENT");
      const tx = bad.applyHistoryTransaction!;
      expect(await codeOf(tx(undefined))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(tx({ operationId: "", transaction: { type: "append_items", items: [] } }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(tx({ operationId: "   ", transaction: { type: "append_items", items: [] } }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(tx({ operationId: "o", transaction: { type: "append_items", items: "x" } }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(tx({ operationId: "o", transaction: { type: "append_items", items: [], extra: 1 } }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(tx({ operationId: "o", transaction: { type: "replace_suffix", expectedSuffix: [] } }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(tx({ operationId: "o", transaction: { type: "delete_everything" } }))).toBe("INVALID_ARGUMENT");
      // Values cairn cannot store are refused whole, before anything is written.
      class Widget {
        size = 1;
      }
      expect(await codeOf(bad.addItems!([user("ok"), { role: "user", content: "x", providerData: { w: new Widget() } }]))).toBe("UNSUPPORTED_VALUE");
      expect(await codeOf(bad.addItems!([{ role: "user", content: "x", providerData: { f: () => 1 } }]))).toBe("UNSUPPORTED_VALUE");
      expect(await codeOf(bad.addItems!([{ role: "user", content: "\ud800" }]))).toBe("UNSUPPORTED_VALUE");

      expect(await history.head()).toBe(0);
      expect((await store.sessions.list()).map((s) => s.id)).not.toContain(SESSION_ID_PREFIX + sessionId);
      expect(await session.getItems()).toEqual([]);
    });

    it("refuses a cairn session written by something else", async () => {
      const { store, sessionId, session } = await fresh();
      await store.session(SESSION_ID_PREFIX + sessionId).commit({ turn: 1, snapshots: { items: [user("x")] } });
      expect(await codeOf(session.getItems())).toBe("INVALID_ARGUMENT");
      expect(await codeOf(session.addItems([user("y")]))).toBe("INVALID_ARGUMENT");
      expect(await store.session(SESSION_ID_PREFIX + sessionId).head()).toBe(1);
    });
  });
}

describe("CairnSession on a file shared by two store handles", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const twoHandles = async () => {
    const dir = tempDir("cairn-openai-agents-");
    cleanups.push(dir.remove);
    const path = join(dir.dir, "cairn.db");
    const a = await openStore({ url: `file:${path}` });
    cleanups.push(() => a.close());
    const b = await openStore({ url: `file:${path}` });
    cleanups.push(() => b.close());
    return { a, b, path };
  };

  it("loses no item when two writers append at once", async () => {
    const { a, b } = await twoHandles();
    const left = new CairnSession({ store: a, sessionId: "shared" });
    const right = new CairnSession({ store: b, sessionId: "shared" });
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => left.addItems([user(`L${i}`)])),
      ...Array.from({ length: 20 }, (_, i) => right.addItems([user(`R${i}`), assistant(`R${i}'`)])),
    ]);
    const texts = (await new CairnSession({ store: a, sessionId: "shared" }).getItems()).map((i) =>
      typeof (i as { content: unknown }).content === "string" ? (i as { content: string }).content : (i as { content: Array<{ text: string }> }).content[0]!.text,
    );
    expect(texts).toHaveLength(60);
    expect(texts.filter((t) => t.startsWith("L"))).toEqual(Array.from({ length: 20 }, (_, i) => `L${i}`));
    expect(texts.filter((t) => t.startsWith("R") && !t.endsWith("'"))).toEqual(Array.from({ length: 20 }, (_, i) => `R${i}`));
    // Each writer's pair stayed together: one commit per addItems.
    for (let i = 0; i < 20; i++) expect(texts[texts.indexOf(`R${i}`) + 1]).toBe(`R${i}'`);
    expect(await a.session("openai-agents:shared").head()).toBe(40);
  });

  it("pops each item once and applies a racing operation once", async () => {
    const { a, b } = await twoHandles();
    const left = new CairnSession({ store: a, sessionId: "pops" });
    const right = new CairnSession({ store: b, sessionId: "pops" });
    await left.addItems(Array.from({ length: 12 }, (_, i) => user(`m${i}`)));
    const popped = await Promise.all([...Array.from({ length: 6 }, () => left.popItem()), ...Array.from({ length: 6 }, () => right.popItem())]);
    expect(new Set(popped.map((p) => (p as { content: string }).content)).size).toBe(12);
    expect(await right.getItems()).toEqual([]);

    const args = { operationId: "blocked:1", transaction: { type: "append_items" as const, items: [user("guarded")] } };
    await Promise.all([left.applyHistoryTransaction(args), right.applyHistoryTransaction(args), left.applyHistoryTransaction(args), right.applyHistoryTransaction(args)]);
    expect(await left.getItems()).toEqual([user("guarded")]);
  });

  it("stores a growing conversation at about the cost of its new items", async () => {
    const { a, path } = await twoHandles();
    const session = new CairnSession({ store: a, sessionId: "long" });
    const turns = 150;
    let payload = 0;
    const written: number[] = [];
    for (let i = 0; i < turns; i++) {
      // 2 KiB of distinct pseudo-random base64 per item: deflate saves at most a quarter.
      const text = pseudoRandomBase64(i, 2048);
      payload += text.length;
      await session.addItems([i % 2 === 0 ? user(text) : assistant(text)]);
      written.push(session.lastCommit!.bytesWritten);
    }
    expect(await session.getItems()).toHaveLength(turns);
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    // Past the store's chunking threshold, an append writes the new item plus a
    // chunk or two around it, whatever the length of the history: about the
    // same at 100 items (~200 KiB) as at 50 (~100 KiB), far below a copy.
    expect(mean(written.slice(130))).toBeLessThan(16 * 1024);
    expect(mean(written.slice(130))).toBeLessThan(2 * mean(written.slice(40, 60)));
    const total = written.reduce((x, y) => x + y, 0);
    // Whole copies per commit would be about turns / 2 = 75 times the payload.
    expect(total).toBeLessThan(6 * payload);
    for (const cleanup of cleanups.splice(1).reverse()) await cleanup(); // close both handles: the WAL is merged
    expect(statSync(path).size).toBeLessThan(8 * payload);
  });
});

function pseudoRandomBase64(seed: number, length: number): string {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 32 < length; i++) parts.push(createHash("sha256").update(`${seed}:${i}`).digest());
  return Buffer.concat(parts).toString("base64").slice(0, length);
}

function hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
