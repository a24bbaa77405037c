/**
 * CairnSaver's own guarantees, beyond LangGraph's conformance suite: what it
 * stores (unchanged channels and repeated values cost nothing, message lists are
 * stored element by element), pending-write semantics, durability across a
 * reopen, deleteThread, list() reading no blob it does not return, and typed
 * errors for bad input.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { ERROR, INTERRUPT, uuid6, type Checkpoint, type CheckpointMetadata, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { CairnError, openStore, type Store } from "../../../src/index.js";
import { DATABASE } from "../../../src/store.js";
import { CairnSaver } from "../../../src/adapters/langgraph/index.js";
import { freshStore } from "./support.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(backend: "file" | "memory" = "memory"): Promise<{ store: Store; saver: CairnSaver; url: string }> {
  const { store, url, remove } = await freshStore(backend);
  cleanups.push(remove);
  return { store, saver: new CairnSaver(store), url };
}

/** Blob rows and their stored bytes, read straight from the database. */
async function blobUsage(store: Store): Promise<{ rows: number; bytes: number }> {
  const result = await store[DATABASE].execute("SELECT COUNT(*), COALESCE(SUM(stored_size), 0) FROM blobs");
  return { rows: Number(result.rows[0]![0]), bytes: Number(result.rows[0]![1]) };
}

function checkpoint(values: Record<string, unknown>, versions: Record<string, number>, id = uuid6(-1)): Checkpoint {
  return { v: 4, id, ts: new Date().toISOString(), channel_values: values, channel_versions: versions, versions_seen: { agent: { ...versions } } };
}

function meta(step: number, extra: Record<string, unknown> = {}): CheckpointMetadata {
  return { source: step < 0 ? "input" : "loop", step, parents: {}, ...extra } as CheckpointMetadata;
}

async function all(iterable: AsyncIterable<CheckpointTuple>): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Deterministic text that does not compress away, `bytes` long. */
function text(bytes: number, seed: number): string {
  let out = "";
  let x = seed >>> 0 || 1;
  while (out.length < bytes) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += (x >>> 0).toString(36) + " ";
  }
  return out.slice(0, bytes);
}

describe("what CairnSaver stores", () => {
  it("stores an unchanged channel once, and an identical value in another thread once", async () => {
    const { store, saver } = await setup();
    const big = text(300 * 1024, 1);
    const t1 = { configurable: { thread_id: "t1" } };
    let config = await saver.put(t1, checkpoint({ big, counter: 0 }, { big: 1, counter: 1 }), meta(-1), { big: 1, counter: 1 });
    const afterFirst = await blobUsage(store);
    expect(afterFirst.bytes).toBeGreaterThan(100 * 1024);
    for (let step = 0; step < 20; step++) {
      config = await saver.put(config, checkpoint({ big, counter: step + 1 }, { big: 1, counter: step + 2 }), meta(step), { counter: step + 2 });
    }
    const afterSteps = await blobUsage(store);
    // 20 checkpoints whose big channel did not change: only small own-fields, counters and manifests.
    expect(afterSteps.bytes - afterFirst.bytes).toBeLessThan(20 * 1024);
    const latest = await saver.getTuple(t1);
    expect(latest?.checkpoint.channel_values).toEqual({ big, counter: 20 });

    // The same large value in another thread: no new large blob.
    await saver.put({ configurable: { thread_id: "t2" } }, checkpoint({ big }, { big: 7 }), meta(-1), { big: 7 });
    const afterOther = await blobUsage(store);
    expect(afterOther.bytes - afterSteps.bytes).toBeLessThan(2 * 1024);
    expect((await saver.getTuple({ configurable: { thread_id: "t2" } }))?.checkpoint.channel_values).toEqual({ big });
  });

  it("stores a growing message list element by element: appending costs the new message", async () => {
    const { store, saver } = await setup();
    const messages: Array<Record<string, unknown>> = [{ role: "user", content: "read the log" }];
    messages.push({ role: "tool", content: text(200 * 1024, 2), id: "call_1" });
    const thread = { configurable: { thread_id: "grow" } };
    let config = await saver.put(thread, checkpoint({ messages: messages.slice() }, { messages: 1 }), meta(-1), { messages: 1 });
    const before = await blobUsage(store);
    for (let step = 0; step < 10; step++) {
      messages.push({ role: "assistant", content: `step ${step}: ${text(300, step + 10)}` });
      config = await saver.put(config, checkpoint({ messages: messages.slice() }, { messages: step + 2 }), meta(step), { messages: step + 2 });
    }
    const after = await blobUsage(store);
    // Ten appends of ~300 bytes each; the 200 KiB tool message is never stored again.
    expect(after.bytes - before.bytes).toBeLessThan(40 * 1024);
    const tuple = await saver.getTuple(thread);
    expect(tuple?.checkpoint.channel_values.messages).toEqual(messages);
  });

  it("keeps long lists in shared pages: an edit stores one page, a new saver appends without rewriting", async () => {
    const { store, saver } = await setup();
    const messages = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `${i}: ${text(300, i + 100)}` }));
    const thread = { configurable: { thread_id: "pages" } };
    let config = await saver.put(thread, checkpoint({ messages: messages.slice() }, { messages: 1 }), meta(-1), { messages: 1 });
    const before = await blobUsage(store);
    messages[100] = { ...messages[100]!, content: "edited" };
    messages.push({ role: "user", content: "one more" });
    config = await saver.put(config, checkpoint({ messages: messages.slice() }, { messages: 2 }), meta(0), { messages: 2 });
    const afterEdit = await blobUsage(store);
    // One page of 64 messages (~20 KB of text, compressed) and the short tail: not the 60 KB list.
    expect(afterEdit.bytes - before.bytes).toBeLessThan(24 * 1024);
    expect((await saver.getTuple(config))?.checkpoint.channel_values.messages).toEqual(messages);

    // A saver in a "new process" (no caches) appends: pages it re-encodes are found stored.
    const fresh = new CairnSaver(store);
    messages.push({ role: "assistant", content: "and another" });
    config = await fresh.put(config, checkpoint({ messages: messages.slice() }, { messages: 3 }), meta(1), { messages: 3 });
    const afterFresh = await blobUsage(store);
    expect(afterFresh.bytes - afterEdit.bytes).toBeLessThan(8 * 1024);
    expect((await saver.getTuple(config))?.checkpoint.channel_values.messages).toEqual(messages);
  });

  it("stores a large list element once, whichever thread or list holds it", async () => {
    const { store, saver } = await setup();
    const big = { role: "tool", content: text(80 * 1024, 3) };
    await saver.put({ configurable: { thread_id: "x" } }, checkpoint({ messages: [{ role: "user", content: "a" }, big] }, { messages: 1 }), meta(-1), { messages: 1 });
    const before = await blobUsage(store);
    const copy = { ...big };
    const config = await saver.put(
      { configurable: { thread_id: "y" } },
      checkpoint({ messages: [copy, { role: "user", content: "b" }], scratch: [copy] }, { messages: 1, scratch: 1 }),
      meta(-1),
      { messages: 1, scratch: 1 },
    );
    expect((await blobUsage(store)).bytes - before.bytes).toBeLessThan(2 * 1024);
    expect((await saver.getTuple(config))?.checkpoint.channel_values).toEqual({ messages: [copy, { role: "user", content: "b" }], scratch: [copy] });
  });

  it("notices an element changed in place after it was stored", async () => {
    const { saver } = await setup();
    const message = new AIMessage({ content: "first draft", id: "m1" });
    const plain = { role: "user", content: "hi", meta: { tags: ["a"] } };
    const thread = { configurable: { thread_id: "mutate" } };
    let config = await saver.put(thread, checkpoint({ messages: [plain, message] }, { messages: 1 }), meta(-1), { messages: 1 });
    message.content = "second draft";
    plain.meta.tags.push("b");
    config = await saver.put(config, checkpoint({ messages: [plain, message] }, { messages: 2 }), meta(0), { messages: 2 });
    const stored = (await saver.getTuple(config))?.checkpoint.channel_values.messages as [typeof plain, AIMessage];
    expect(stored[0].meta.tags).toEqual(["a", "b"]);
    expect(stored[1]).toBeInstanceOf(AIMessage);
    expect(stored[1].content).toBe("second draft");
  });

  it("round-trips LangChain messages, long channel names, extra checkpoint fields and special values", async () => {
    const { saver } = await setup();
    const longName = "channel-" + "n".repeat(200);
    const values = {
      messages: [new HumanMessage("hi"), new AIMessage({ content: "", tool_calls: [{ id: "c1", name: "t", args: { a: 1 } }] }), new ToolMessage({ content: "ok", tool_call_id: "c1" })],
      [longName]: { nested: [1, 2, 3] },
      bytes: new Uint8Array([1, 2, 3]),
      strings: ["a", "b"],
      nothing: null,
    };
    const versions = { messages: 1, [longName]: 1, bytes: 1, strings: 1, nothing: 1 };
    const cp = { ...checkpoint(values, versions), pending_sends: [] } as Checkpoint;
    const config = await saver.put({ configurable: { thread_id: "types" } }, cp, meta(-1, { user: { nested: true } }), versions);
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint).toEqual(cp);
    expect(tuple?.metadata).toEqual(meta(-1, { user: { nested: true } }));
    const messages = tuple?.checkpoint.channel_values.messages as unknown[];
    expect(messages[0]).toBeInstanceOf(HumanMessage);
    expect(messages[2]).toBeInstanceOf(ToolMessage);
  });
});

describe("pending writes", () => {
  async function withCheckpoint() {
    const { saver, store, url } = await setup("file");
    const config = await saver.put({ configurable: { thread_id: "w" } }, checkpoint({}, {}), meta(-1), {});
    return { saver, store, url, config };
  }

  it("keeps the first write per (task, index) and the last write per special channel", async () => {
    const { saver, config } = await withCheckpoint();
    await saver.putWrites(config, [["a", 1], ["b", 2]], "task-1");
    await saver.putWrites(config, [["a", 99], ["c", 3]], "task-1"); // same (task, idx): ignored
    await saver.putWrites(config, [[ERROR, "first error"]], "task-1");
    await saver.putWrites(config, [[ERROR, "second error"]], "task-1"); // special: replaces
    await saver.putWrites(config, [[INTERRUPT, { value: 1 }]], "task-2");
    const tuple = await saver.getTuple(config);
    expect(tuple?.pendingWrites).toEqual([
      ["task-1", ERROR, "second error"],
      ["task-1", "a", 1],
      ["task-1", "b", 2],
      ["task-2", INTERRUPT, { value: 1 }],
    ]);
  });

  it("orders writes by task path, then task id, then index; concurrent puts all land", async () => {
    const { saver, config } = await withCheckpoint();
    await Promise.all(Array.from({ length: 12 }, (_, i) => saver.putWrites(config, [["x", i]], `task-${String(i).padStart(2, "0")}`, `~path-${11 - i}`)));
    const tuple = await saver.getTuple(config);
    const expected = Array.from({ length: 12 }, (_, i) => [`task-${String(i).padStart(2, "0")}`, "x", i, `~path-${11 - i}`] as const)
      .sort((a, b) => (a[3] < b[3] ? -1 : a[3] > b[3] ? 1 : 0))
      .map(([task, channel, value]) => [task, channel, value]);
    expect(tuple?.pendingWrites).toEqual(expected);
  });

  it("survive closing and reopening the store", async () => {
    const { saver, store, url, config } = await withCheckpoint();
    await saver.putWrites(config, [["messages", [new AIMessage("persisted")]]], "task-1");
    const before = await saver.getTuple(config);
    await store.close();
    const reopened = await openStore({ url });
    cleanups.push(() => reopened.close());
    const after = await new CairnSaver(reopened).getTuple(config);
    expect(after).toEqual(before);
    expect((after?.pendingWrites?.[0]?.[2] as AIMessage[])[0]).toBeInstanceOf(AIMessage);
  });
});

describe("deleteThread", () => {
  it("removes every namespace's checkpoints and writes of one thread only", async () => {
    const { saver, store } = await setup();
    const configs: RunnableConfig[] = [];
    for (const thread of ["doomed", "doomed-not", "kept"]) {
      for (const ns of ["", "child:1"]) {
        const config = await saver.put({ configurable: { thread_id: thread, checkpoint_ns: ns } }, checkpoint({ v: thread }, { v: 1 }), meta(-1), { v: 1 });
        await saver.putWrites(config, [["v", "w"]], "task");
        configs.push(config);
      }
    }
    await saver.deleteThread("doomed");
    expect(await all(saver.list({ configurable: { thread_id: "doomed" } }))).toEqual([]);
    expect(await saver.getTuple(configs[0]!)).toBeUndefined();
    expect(await saver.getTuple(configs[1]!)).toBeUndefined();
    expect(await all(saver.list({ configurable: { thread_id: "doomed-not" } }))).toHaveLength(2);
    expect(await all(saver.list({}))).toHaveLength(4);
    const sessions = (await store.sessions.list()).map((s) => s.id);
    expect(sessions.filter((id) => id.includes('"doomed"'))).toEqual([]);
    // A new checkpoint with an old id starts without the deleted writes.
    const again = await saver.put({ configurable: { thread_id: "doomed" } }, checkpoint({}, {}, configs[0]!.configurable!.checkpoint_id), meta(-1), {});
    expect((await saver.getTuple(again))?.pendingWrites).toEqual([]);
  });
});

describe("list", () => {
  async function history(saver: CairnSaver, thread: string, steps: number, ns = "") {
    let config: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: ns } };
    const ids: string[] = [];
    for (let step = -1; step < steps - 1; step++) {
      const id = uuid6(-1);
      ids.push(id);
      config = await saver.put(config, checkpoint({ step: `value at ${step} in ${thread}/${ns} ${text(600, step + 7)}` }, { step: step + 2 }, id), meta(step, { owner: { name: thread, step } }), { step: step + 2 });
    }
    return ids;
  }

  it("streams newest first, with before, limit, and deep metadata filters", async () => {
    const { saver } = await setup();
    const ids = await history(saver, "l", 6);
    const tuples = await all(saver.list({ configurable: { thread_id: "l" } }));
    expect(tuples.map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    expect(tuples[0]!.parentConfig?.configurable?.checkpoint_id).toBe(ids[4]);
    const page = await all(saver.list({ configurable: { thread_id: "l" } }, { before: { configurable: { checkpoint_id: ids[3] } }, limit: 2 }));
    expect(page.map((t) => t.checkpoint.id)).toEqual([ids[2], ids[1]]);
    const filtered = await all(saver.list({ configurable: { thread_id: "l" } }, { filter: { owner: { name: "l", step: 2 } } }));
    expect(filtered.map((t) => t.checkpoint.id)).toEqual([ids[3]]);
    const one = await all(saver.list({ configurable: { thread_id: "l", checkpoint_id: ids[2] } }));
    expect(one.map((t) => t.checkpoint.id)).toEqual([ids[2]]);
  });

  it("merges threads and namespaces by checkpoint id, newest first", async () => {
    const { saver } = await setup();
    const a = await history(saver, "a", 3);
    const b = await history(saver, "b", 3, "inner");
    const c = await history(saver, "a", 2, "inner");
    const everything = await all(saver.list({}));
    expect(everything.map((t) => t.checkpoint.id)).toEqual([...a, ...b, ...c].sort().reverse());
    const threadA = await all(saver.list({ configurable: { thread_id: "a" } }));
    expect(threadA.map((t) => t.checkpoint.id)).toEqual([...a, ...c].sort().reverse());
    const inner = await all(saver.list({ configurable: { checkpoint_ns: "inner" } }, { limit: 3 }));
    expect(inner.map((t) => t.checkpoint.id)).toEqual([...b, ...c].sort().reverse().slice(0, 3));
    expect(inner.map((t) => t.config.configurable?.checkpoint_ns)).toEqual(["inner", "inner", "inner"]);
  });

  it("reads no blob of a tuple it does not yield", async () => {
    const { saver, store } = await setup();
    const ids = await history(saver, "lazy", 4);
    // Corrupt the channel value of the oldest checkpoint (over 512 characters: a slot of its own).
    const session = store.session('langgraph/c/["lazy",""]');
    const oldest = (await session.history()).at(-1)!;
    const slot = (await store.checkpoints.manifest(oldest.ref)).slots["ch:step"]!;
    await store[DATABASE].writeBatch([{ sql: "UPDATE blobs SET data = zeroblob(length(data)) WHERE ref = unhex(?)", args: [slot] }]);
    await expect(saver.getTuple({ configurable: { thread_id: "lazy", checkpoint_id: ids[0] } })).rejects.toMatchObject({ code: "INTEGRITY" });

    expect(await all(saver.list({ configurable: { thread_id: "lazy" } }, { limit: 3 }))).toHaveLength(3);
    // Filters look at metadata in the history table only.
    const matched = await all(saver.list({ configurable: { thread_id: "lazy" } }, { filter: { step: 1 } }));
    expect(matched.map((t) => t.checkpoint.id)).toEqual([ids[2]]);
    expect(await all(saver.list({ configurable: { thread_id: "lazy" } }, { filter: { step: 99 } }))).toEqual([]);
    await expect(all(saver.list({ configurable: { thread_id: "lazy" } }))).rejects.toBeInstanceOf(CairnError);
  });

  it("pages through a long history", async () => {
    const { saver } = await setup();
    const ids = await history(saver, "long", 300);
    const listed = await all(saver.list({ configurable: { thread_id: "long" } }));
    expect(listed.map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    const tail = await all(saver.list({ configurable: { thread_id: "long" } }, { before: { configurable: { checkpoint_id: ids[150] } } }));
    expect(tail.map((t) => t.checkpoint.id)).toEqual(ids.slice(0, 150).reverse());
  });

  it("shares decoded messages between the tuples of one call, never within one tuple", async () => {
    const { saver } = await setup();
    const hello = { role: "user", content: "hello" };
    let config: RunnableConfig = { configurable: { thread_id: "share" } };
    config = await saver.put(config, checkpoint({ messages: [hello] }, { messages: 1 }), meta(-1), { messages: 1 });
    config = await saver.put(config, checkpoint({ messages: [hello, { ...hello }] }, { messages: 2 }), meta(0), { messages: 2 });
    const [newest, oldest] = await all(saver.list({ configurable: { thread_id: "share" } }));
    const newer = newest!.checkpoint.channel_values.messages as object[];
    const older = oldest!.checkpoint.channel_values.messages as object[];
    expect(newer).toEqual([hello, hello]);
    expect(newer[0]).not.toBe(newer[1]);
    expect(newer).not.toBe(older);
    expect(older[0]).toBe(newer[0]);
    // getTuple never shares.
    const again = (await saver.getTuple(config))?.checkpoint.channel_values.messages as object[];
    expect(again[0]).not.toBe(newer[0]);
  });
});

describe("errors", () => {
  it("answers bad input with CairnError INVALID_ARGUMENT and writes nothing", async () => {
    const { saver, store } = await setup();
    const cp = checkpoint({}, {});
    const expectInvalid = async (promise: Promise<unknown>) => {
      const error = await promise.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe("INVALID_ARGUMENT");
    };
    await expectInvalid(saver.put({}, cp, meta(-1), {}));
    await expectInvalid(saver.put({ configurable: { thread_id: "" } }, cp, meta(-1), {}));
    await expectInvalid(saver.put({ configurable: { thread_id: { id: 1 } } }, cp, meta(-1), {}));
    await expectInvalid(saver.put({ configurable: { thread_id: "x".repeat(600) } }, cp, meta(-1), {}));
    await expectInvalid(saver.put({ configurable: { thread_id: "t" } }, { ...cp, id: undefined } as unknown as Checkpoint, meta(-1), {}));
    await expectInvalid(saver.putWrites({ configurable: { thread_id: "t" } }, [["a", 1]], "task"));
    await expectInvalid(saver.putWrites({ configurable: { thread_id: "t", checkpoint_id: "c" } }, [["a"]] as never, 7 as never));
    await expectInvalid(all(saver.list({}, { limit: -1 })));
    await expectInvalid(all(saver.list({}, { filter: "source" as never })));
    await expectInvalid(saver.deleteThread(undefined as never));
    expect(() => new CairnSaver({} as Store)).toThrow(CairnError);
    expect(() => new CairnSaver(store, { prefix: "" })).toThrow(CairnError);
    expect(await blobUsage(store)).toEqual({ rows: 0, bytes: 0 });
    expect(await saver.getTuple({ configurable: {} })).toBeUndefined();
  });

  it("refuses a store that is closed with CLOSED", async () => {
    const { store, remove } = await freshStore("memory");
    const saver = new CairnSaver(store);
    await remove();
    await expect(saver.getTuple({ configurable: { thread_id: "t" } })).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("keeps savers with different prefixes apart on one store", async () => {
    const { store, saver } = await setup();
    const other = new CairnSaver(store, { prefix: "other" });
    await saver.put({ configurable: { thread_id: "t" } }, checkpoint({ a: 1 }, { a: 1 }), meta(-1), { a: 1 });
    expect(await other.getTuple({ configurable: { thread_id: "t" } })).toBeUndefined();
    expect(await all(other.list({}))).toEqual([]);
  });
});
