/**
 * CairnSaver's retention capabilities (LangGraph's prune, copy_thread and
 * delete_for_runs) and the core primitive under them, on real file stores and
 * real compiled LangGraph graphs: a pruned thread returns the same latest tuple,
 * resumes, and survives a gc; a graph with a DeltaChannel keeps what rebuilding
 * it reads; a copy shares every blob and diverges from its source; runs are
 * deleted by their metadata run_id.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { HumanMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Command, DeltaValue, END, START, StateGraph, StateSchema } from "@langchain/langgraph";
import { INTERRUPT, TASKS, uuid6, type Checkpoint, type CheckpointMetadata, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { Store } from "../../../src/index.js";
import { CairnSaver } from "../../../src/adapters/langgraph/index.js";
import { expectCode } from "../../support/expect-code.js";
import { FILES, buildGraph, firstInput } from "./graph-fixture.js";
import { freshStore } from "./support.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(): Promise<{ store: Store; saver: CairnSaver }> {
  const { store, remove } = await freshStore("file");
  cleanups.push(remove);
  return { store, saver: new CairnSaver(store) };
}

async function all(iterable: AsyncIterable<CheckpointTuple>): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const thread = (thread_id: string, checkpoint_ns?: string): RunnableConfig => ({
  configurable: checkpoint_ns === undefined ? { thread_id } : { thread_id, checkpoint_ns },
});

function checkpoint(values: Record<string, unknown>, v = 4): Checkpoint {
  const versions = Object.fromEntries(Object.keys(values).map((key) => [key, 1]));
  return { v, id: uuid6(-1), ts: new Date().toISOString(), channel_values: values, channel_versions: versions, versions_seen: {} };
}

function meta(step: number, extra: Record<string, unknown> = {}): CheckpointMetadata {
  return { source: "loop", step, parents: {}, ...extra } as CheckpointMetadata;
}

/** Puts `n` chained checkpoints (each with one pending write) in a thread namespace; returns their ids, oldest first. */
async function putChain(saver: CairnSaver, config: RunnableConfig, n: number, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<string[]> {
  const ids: string[] = [];
  let parent: RunnableConfig = config;
  for (let i = 0; i < n; i++) {
    const cp = checkpoint({ note: `step ${i} of ${JSON.stringify(config.configurable)}`.repeat(30) });
    parent = await saver.put(parent, cp, meta(i, extra(i)), { note: 1 });
    await saver.putWrites(parent, [["note", `write ${i}`]], `task-${i}`);
    ids.push(cp.id);
  }
  return ids;
}

/** A tuple as it would be listed under another thread id. */
function underThread(tuple: CheckpointTuple, threadId: string): CheckpointTuple {
  const move = (config: RunnableConfig | undefined) => config && { ...config, configurable: { ...config.configurable, thread_id: threadId } };
  return { ...tuple, config: move(tuple.config)!, ...(tuple.parentConfig ? { parentConfig: move(tuple.parentConfig) } : {}) };
}

/** The types and contents of a state's messages (message ids are generated per run). */
function transcript(messages: BaseMessage[]): Array<[string, unknown]> {
  return messages.map((m) => [m.getType(), m.content]);
}

/** Runs the fixture graph to its second interrupt: four steps, paused in "tools" with an interrupt write. */
async function runToSecondInterrupt(saver: CairnSaver, threadId: string): Promise<void> {
  const graph = buildGraph(saver);
  await graph.invoke(firstInput(), thread(threadId));
  await graph.invoke(new Command({ resume: "yes" }), thread(threadId));
}

describe("CairnSaver.prune", () => {
  it("keep_latest: one checkpoint per namespace, the same latest tuple, resumable, gc-proof; other threads untouched", async () => {
    const { store, saver } = await setup();
    await runToSecondInterrupt(saver, "a");
    await runToSecondInterrupt(saver, "b");
    const childIds = await putChain(saver, thread("a", "child:1"), 3);

    const before = await all(saver.list(thread("a", "")));
    expect(before.length).toBeGreaterThan(3);
    const latest = (await saver.getTuple(thread("a")))!;
    expect(latest.pendingWrites?.some(([, channel]) => channel === INTERRUPT)).toBe(true);
    const childLatest = (await saver.getTuple(thread("a", "child:1")))!;
    const otherBefore = await all(saver.list(thread("b")));
    const blobsBefore = (await store.stats()).blobs.count;

    await saver.prune(["a"]);

    const root = await all(saver.list(thread("a", "")));
    const child = await all(saver.list(thread("a", "child:1")));
    expect(root.map((t) => t.checkpoint.id)).toEqual([latest.checkpoint.id]);
    expect(child.map((t) => t.checkpoint.id)).toEqual([childIds[2]]);
    expect(await all(saver.list(thread("a")))).toHaveLength(2);
    expect(await saver.getTuple(thread("a"))).toEqual(latest);
    expect(await saver.getTuple(thread("a", "child:1"))).toEqual(childLatest);
    // As LangGraph's prune documents nothing else: the kept checkpoint still names its parent, which is gone.
    expect(latest.parentConfig?.configurable?.checkpoint_id).toBe(before[1]!.checkpoint.id);
    expect(await saver.getTuple(latest.parentConfig!)).toBeUndefined();
    expect(await all(saver.list(thread("b")))).toEqual(otherBefore);

    // Channel values carried over from the dropped parents are in blobs the kept checkpoint references itself.
    await store.gc({ grace: 0 });
    expect((await store.stats()).blobs.count).toBeLessThan(blobsBefore);
    expect((await store.verify()).findings).toEqual([]);
    const fresh = new CairnSaver(store);
    expect(await fresh.getTuple(thread("a"))).toEqual(latest);
    expect(await fresh.getTuple(thread("a", "child:1"))).toEqual(childLatest);
    expect(await all(fresh.list(thread("b")))).toEqual(otherBefore);

    // The graph resumes from the kept checkpoint, exactly as the unpruned thread does.
    const graph = buildGraph(fresh);
    await graph.invoke(new Command({ resume: "yes" }), thread("a"));
    await graph.invoke(new Command({ resume: "yes" }), thread("b"));
    const [stateA, stateB] = [await graph.getState(thread("a")), await graph.getState(thread("b"))];
    expect(stateA.next).toEqual([]);
    expect(transcript(stateA.values.messages)).toEqual(transcript(stateB.values.messages));
    expect(stateA.values.messages.map((m: BaseMessage) => m.content)).toContain(FILES["big.log"]);
    expect(stateA.values.calls).toBe(2);
    const resumed = await all(fresh.list(thread("a", "")));
    expect(resumed.at(-1)!.checkpoint.id).toBe(latest.checkpoint.id);
    expect(resumed.at(-2)!.parentConfig?.configurable?.checkpoint_id).toBe(latest.checkpoint.id);
    expect((await store.verify()).findings).toEqual([]);
  });

  it("keep_latest keeps the ancestors a DeltaChannel is rebuilt from, up to its snapshot, as LangGraph's prune requires", async () => {
    const { store, saver } = await setup();
    const State = new StateSchema({
      history: new DeltaValue(z.array(z.string()).default(() => []), {
        inputSchema: z.string(),
        reducer: (current: string[], writes: string[]) => [...current, ...writes],
        snapshotFrequency: 3,
      }),
      n: z.number().default(0),
    });
    const build = (checkpointer: CairnSaver) =>
      new StateGraph(State)
        .addNode("step", (state) => ({ history: `h${state.n}`, n: state.n + 1 }))
        .addEdge(START, "step")
        .addConditionalEdges("step", (state) => (state.n % 5 === 0 ? END : "step"), ["step", END])
        .compile({ checkpointer });
    const graph = build(saver);
    for (const id of ["d", "control"]) await graph.invoke({ n: 0 }, thread(id));
    const before = await all(saver.list(thread("d")));
    const latest = (await saver.getTuple(thread("d")))!;
    expect(latest.checkpoint.channel_values.history).toBeUndefined(); // rebuilt from ancestors' writes
    expect(Object.keys(latest.metadata?.counters_since_delta_snapshot ?? {})).toEqual(["history"]);
    const stateBefore = await graph.getState(thread("d"));
    expect(stateBefore.values.history).toEqual(["h0", "h1", "h2", "h3", "h4"]);

    await saver.prune(["d"]);
    const kept = await all(saver.list(thread("d")));
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.length).toBeLessThan(before.length);
    expect(kept[0]).toEqual(latest);
    // The oldest kept checkpoint is the nearest one that stores the channel (its snapshot); the ones before it went.
    expect(kept.at(-1)!.checkpoint.channel_values.history).toBeDefined();
    expect(kept.slice(0, -1).every((t) => t.checkpoint.channel_values.history === undefined)).toBe(true);
    expect(kept.map((t) => t.checkpoint.id)).toEqual(before.slice(0, kept.length).map((t) => t.checkpoint.id));

    await store.gc({ grace: 0 });
    expect((await store.verify()).findings).toEqual([]);
    const again = build(new CairnSaver(store));
    expect((await again.getState(thread("d"))).values).toEqual(stateBefore.values);
    // Continuing gives what the unpruned thread gives.
    for (const id of ["d", "control"]) await again.invoke({ n: 5 }, thread(id));
    const [d, control] = [await again.getState(thread("d")), await again.getState(thread("control"))];
    expect(d.values.history).toEqual(["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"]);
    expect(d.values).toEqual(control.values);
  });

  it("keep_latest keeps a format-3 checkpoint's parent writes: its pending sends", async () => {
    const { saver } = await setup();
    const config = thread("v3");
    const parent = checkpoint({ note: "parent" });
    const parentConfig = await saver.put(config, parent, meta(0), { note: 1 });
    await saver.putWrites(parentConfig, [[TASKS, { node: "agent", args: { x: 1 } }]], "sender");
    const child = checkpoint({ note: "child" }, 3);
    await saver.put(parentConfig, child, meta(1), { note: 1 });
    const latest = (await saver.getTuple(config))!;
    expect(latest.checkpoint.channel_values[TASKS]).toEqual([{ node: "agent", args: { x: 1 } }]);

    await saver.prune(["v3"]);
    expect((await all(saver.list(config))).map((t) => t.checkpoint.id)).toEqual([child.id]);
    expect(await saver.getTuple(config)).toEqual(latest);
  });

  it("keeps a checkpoint put while it runs", async () => {
    const { saver } = await setup();
    for (let round = 0; round < 5; round++) {
      const ids = await putChain(saver, thread(`busy-${round}`), 4);
      const next = checkpoint({ note: `round ${round}` });
      const parent = { configurable: { thread_id: `busy-${round}`, checkpoint_ns: "", checkpoint_id: ids[3] } };
      await Promise.all([saver.prune([`busy-${round}`]), saver.put(parent, next, meta(4), { note: 1 })]);
      const left = (await all(saver.list(thread(`busy-${round}`)))).map((t) => t.checkpoint.id);
      // Put first: it is the latest and alone kept; prune first: the old latest stays beside it.
      expect([[next.id], [next.id, ids[3]]]).toContainEqual(left);
      expect((await saver.getTuple(thread(`busy-${round}`)))?.checkpoint.id).toBe(next.id);
    }
  });

  it("delete: every namespace of each thread goes, others stay; empty and unknown threads are no-ops", async () => {
    const { saver } = await setup();
    await putChain(saver, thread("x", ""), 2);
    await putChain(saver, thread("x", "child:1"), 2);
    await putChain(saver, thread("y", ""), 2);
    const y = await all(saver.list(thread("y")));
    await saver.prune([], { strategy: "keep_latest" });
    await saver.prune(["no-such-thread"]);
    expect(await all(saver.list({}))).toHaveLength(6);
    await saver.prune(["x", "x"], { strategy: "delete" });
    expect(await all(saver.list(thread("x")))).toEqual([]);
    expect(await all(saver.list(thread("y")))).toEqual(y);
  });

  it("rejects bad arguments with INVALID_ARGUMENT before writing anything", async () => {
    const { saver } = await setup();
    const ids = await putChain(saver, thread("keep"), 3);
    const bad: Array<() => Promise<void>> = [
      () => saver.prune("keep" as never),
      () => saver.prune(["keep", ""]),
      () => saver.prune(["keep", {} as never]),
      () => saver.prune(["keep"], { strategy: "keep_first" as never }),
      () => saver.prune(["keep"], null as never),
    ];
    for (const call of bad) await expectCode(call, "INVALID_ARGUMENT");
    expect((await all(saver.list(thread("keep")))).map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
  });
});

describe("CairnSaver.copyThread", () => {
  it("copies every namespace's checkpoints and writes, sharing every blob; the copy and the source diverge", async () => {
    const { store, saver } = await setup();
    await runToSecondInterrupt(saver, "src");
    await putChain(saver, thread("src", "child:1"), 2);
    await putChain(saver, thread("other"), 1);
    const source = await all(saver.list(thread("src")));
    const statsBefore = await store.stats();

    await saver.copyThread("src", "dst");

    expect(await all(saver.list(thread("dst")))).toEqual(source.map((t) => underThread(t, "dst")));
    const statsAfter = await store.stats();
    expect(statsAfter.blobs.count).toBe(statsBefore.blobs.count);
    expect(statsAfter.blobs.storedBytes).toBe(statsBefore.blobs.storedBytes);
    expect(statsAfter.checkpoints).toBeGreaterThan(statsBefore.checkpoints);

    // The copy resumes on its own; the source stays paused where it was.
    const graph = buildGraph(saver);
    await graph.invoke(new Command({ resume: "no" }), thread("dst"));
    const dst = await graph.getState(thread("dst"));
    expect(dst.next).toEqual([]);
    expect(String(dst.values.messages.at(-2).content)).toBe("refused: no");
    expect(await all(saver.list(thread("src")))).toEqual(source);
    expect((await graph.getState(thread("src"))).next).toEqual(["tools"]);

    // The source can go: the copy's rows keep the shared blobs alive.
    const copy = await all(saver.list(thread("dst")));
    expect(copy.length).toBeGreaterThan(source.length);
    await saver.deleteThread("src");
    await store.gc({ grace: 0 });
    expect((await store.verify()).findings).toEqual([]);
    expect(await all(new CairnSaver(store).list(thread("dst")))).toEqual(copy);
  });

  it("refuses a target that exists with CONFLICT, writing nothing; a missing source copies nothing", async () => {
    const { store, saver } = await setup();
    await putChain(saver, thread("s"), 2);
    await putChain(saver, thread("s", "child:1"), 1);
    await putChain(saver, thread("t", "child:1"), 1);
    const target = await all(saver.list(thread("t")));
    const rows = (await store.stats()).checkpoints;

    const error = await expectCode(saver.copyThread("s", "t"), "CONFLICT");
    expect(error.details).toMatchObject({ threadId: "t" });
    await expectCode(saver.copyThread("s", "s"), "CONFLICT");
    expect(await all(saver.list(thread("t")))).toEqual(target);
    expect((await store.stats()).checkpoints).toBe(rows);

    await saver.copyThread("nothing-here", "new");
    expect(await all(saver.list(thread("new")))).toEqual([]);
    await expectCode(saver.copyThread("", "new"), "INVALID_ARGUMENT");
    await expectCode(saver.copyThread("s", "x".repeat(600)), "INVALID_ARGUMENT");
    expect((await store.stats()).checkpoints).toBe(rows);
  });
});

describe("CairnSaver.deleteForRuns", () => {
  it("deletes the checkpoints whose metadata run_id is given, with their writes, in every thread and namespace", async () => {
    const { store, saver } = await setup();
    const runOf = (i: number) => ({ run_id: i % 2 === 0 ? "run-1" : "run-2" });
    const t1 = await putChain(saver, thread("t1"), 4, runOf); // run-1, run-2, run-1, run-2
    const t2 = await putChain(saver, thread("t2", "child:1"), 2, () => ({ run_id: "run-1" }));
    const t3 = await putChain(saver, thread("t3"), 2, () => ({ run_id: "run-3" }));
    const t3Before = await all(saver.list(thread("t3")));
    const kept = (await saver.getTuple({ configurable: { thread_id: "t1", checkpoint_id: t1[3] } }))!;

    await saver.deleteForRuns(["run-1", "no-such-run"]);

    const left = await all(saver.list(thread("t1")));
    expect(left.map((t) => t.checkpoint.id)).toEqual([t1[3], t1[1]]);
    expect(left.every((t) => (t.metadata as Record<string, unknown> | undefined)?.run_id === "run-2")).toBe(true);
    expect(left[0]).toEqual(kept); // its parent (run-1) is gone, and it still names it
    expect(await saver.getTuple({ configurable: { thread_id: "t1", checkpoint_id: t1[2] } })).toBeUndefined();
    expect(left[0]!.pendingWrites).toEqual([["task-3", "note", "write 3"]]);
    // The deleted checkpoints' writes went with them.
    const writeLabels = (await store.session('langgraph/w/["t1",""]').history()).map((row) => row.label);
    expect(writeLabels.sort()).toEqual([t1[1], t1[3]].sort());
    expect(await all(saver.list(thread("t2")))).toEqual([]);
    expect(t2).toHaveLength(2);
    expect(await all(saver.list(thread("t3")))).toEqual(t3Before);
    expect(t3).toHaveLength(2);

    await saver.deleteForRuns([]);
    await expectCode(saver.deleteForRuns("run-2" as never), "INVALID_ARGUMENT");
    await expectCode(saver.deleteForRuns(["run-2", 7 as never]), "INVALID_ARGUMENT");
    expect(await all(saver.list(thread("t1")))).toHaveLength(2);
    await store.gc({ grace: 0 });
    expect((await store.verify()).findings).toEqual([]);
    expect(await new CairnSaver(store).getTuple(thread("t1"))).toEqual(kept);
  });

  it("on a real graph run with a runId, deletes exactly the checkpoints whose metadata carries it", async () => {
    const { saver } = await setup();
    const graph = buildGraph(saver);
    const runId = "0f4d6a3e-6f0e-4d7e-9a55-3c1f1c2b9e01";
    await graph.invoke({ messages: [new HumanMessage("first run")] }, { ...thread("g"), runId });
    await graph.invoke(new Command({ resume: "yes" }), { ...thread("g"), runId: "1b7e2c4a-0d3f-4e8b-a2c6-5f9d8e7a6b02" });
    const before = await all(saver.list(thread("g")));
    const ofRun = before.filter((t) => (t.metadata as Record<string, unknown> | undefined)?.run_id === runId).map((t) => t.checkpoint.id);
    await saver.deleteForRuns([runId]);
    const after = await all(saver.list(thread("g")));
    // LangGraph JS 1.7 does not copy the run id into checkpoint metadata (ofRun is then empty and nothing goes).
    expect(after.map((t) => t.checkpoint.id)).toEqual(before.map((t) => t.checkpoint.id).filter((id) => !ofRun.includes(id)));
    expect(await saver.getTuple(thread("g"))).toEqual(ofRun.includes(before[0]!.checkpoint.id) ? after[0] : before[0]);
  });
});
