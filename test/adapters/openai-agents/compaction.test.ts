/**
 * Compaction never loses history: CairnSession.replaceHistoryWithCompaction
 * commits a new head holding exactly the items the SDK passed, and every
 * earlier checkpoint of the session stays readable, item for item, through
 * cairn's history (`store.session(id).history()` / `.at(seq)`) until retention
 * drops it. Real libSQL files in temp directories, the real SDK runner (its own
 * ScriptedModel as the model), the SDK's OpenAIResponsesCompactionSession with
 * the real `openai` client talking HTTP to a local server that answers
 * `responses.compact`.
 */
import { createServer, type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { Agent, OpenAIResponsesCompactionSession, run, setTracingDisabled, type AgentInputItem } from "@openai/agents";
import { ScriptedModel, assistantMessage } from "@openai/agents-core/testing";
import { CairnError, type Session as CairnHistory, type Store } from "../../../src/index.js";
import { CairnSession } from "../../../src/adapters/openai-agents/index.js";
import { bigOutput, sha256 } from "./fixtures.js";
import { fileStores } from "./stores.js";

setTracingDisabled(true);

const { cleanups, tempDb, open } = fileStores("cairn-openai-compaction-");

const user = (content: string): AgentInputItem => ({ type: "message", role: "user", content });
const assistant = (text: string): AgentInputItem => ({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text }] });
const compaction = (encrypted: string): AgentInputItem => ({ type: "compaction", encrypted_content: encrypted });

/** `n` distinct items of about 1.5 KiB each (so a few dozen of them make a chunked list), tagged `tag`. */
function turnItems(tag: string, n: number): AgentInputItem[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? user(`${tag}-${i} ${sha256(`${tag}${i}`).repeat(24)}`) : assistant(`${tag}-${i} ${sha256(`${i}${tag}`).repeat(24)}`)));
}

/** The conversation of checkpoint `seq`, read through cairn's own session API. */
async function itemsAt(history: CairnHistory, seq: number): Promise<AgentInputItem[]> {
  const checkpoint = await history.at(seq, { slots: ["items"] });
  return checkpoint.snapshots.items as AgentInputItem[];
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
  return undefined;
}

async function fresh(sessionId = "chat") {
  const path = tempDb();
  const store = await open(path);
  const session = new CairnSession({ store, sessionId });
  return { path, store, session, history: store.session(session.cairnSessionId) };
}

describe("CairnSession compaction keeps every earlier checkpoint", () => {
  it("commits a new head and leaves the previous checkpoints readable with their full item lists", async () => {
    const { path, session, history } = await fresh();
    await session.addItems([user("one"), assistant("two")]);
    await session.addItems([user("three"), { type: "function_call_result", name: "fetch", callId: "c1", status: "completed", output: bigOutput() }]);
    await session.addItems([assistant("four")]);
    const before = await session.getItems();
    expect(before).toHaveLength(5);
    const expected = new Map([
      [1, before.slice(0, 2)],
      [2, before.slice(0, 4)],
      [3, before],
    ]);

    const compacted = [compaction("ENC-1"), ...before.slice(-2)];
    await session.replaceHistoryWithCompaction(compacted);

    expect(session.lastCommit).toMatchObject({ seq: 4, replayed: false });
    expect(await session.getItems()).toEqual(compacted);
    const rows = await history.history();
    expect(rows.map((r) => [r.seq, r.label, r.turn])).toEqual([
      [4, "replaceHistoryWithCompaction", 3],
      [3, "addItems", 5],
      [2, "addItems", 4],
      [1, "addItems", 2],
    ]);
    for (const [seq, items] of expected) expect(await itemsAt(history, seq)).toEqual(items);
    // The 100 KiB tool output is still whole in the checkpoints before the compaction.
    expect((await itemsAt(history, 3))[3]).toMatchObject({ callId: "c1", output: bigOutput() });

    // Another handle on the same file sees the same: the compacted head, the full earlier states.
    const other = await open(path);
    expect(await new CairnSession({ store: other, sessionId: "chat" }).getItems()).toEqual(compacted);
    for (const [seq, items] of expected) expect(await itemsAt(other.session(session.cairnSessionId), seq)).toEqual(items);
  });

  it("appends items added after a compaction to the compacted head", async () => {
    const { session, history } = await fresh();
    await session.addItems(turnItems("t1", 6));
    const compacted = [compaction("ENC-1"), assistant("kept")];
    await session.replaceHistoryWithCompaction(compacted);

    await session.addItems([user("after-1"), assistant("after-2")]);
    await session.applyHistoryTransaction({ operationId: "op-after", transaction: { type: "append_items", items: [user("after-3")] } });
    const head = [...compacted, user("after-1"), assistant("after-2"), user("after-3")];
    expect(await session.getItems()).toEqual(head);
    // A retrieval window covers the compacted head only, never the replaced items.
    expect(await session.getItems(10)).toEqual(head);
    expect(await session.getItems(2)).toEqual(head.slice(-2));
    expect(await session.popItem()).toEqual(user("after-3"));
    expect(await session.getItems()).toEqual(head.slice(0, -1));
    expect((await history.history()).map((r) => [r.label, r.turn])).toEqual([
      ["popItem", 4],
      ["applyHistoryTransaction", 5],
      ["addItems", 4],
      ["replaceHistoryWithCompaction", 2],
      ["addItems", 6],
    ]);
    expect(await itemsAt(history, 1)).toEqual(turnItems("t1", 6));
  });

  it("reads an earlier checkpoint back exactly after several compactions", async () => {
    const { store, session, history } = await fresh();
    const expected = new Map<number, AgentInputItem[]>();
    const bytes = new Uint8Array(20 * 1024).map((_, i) => (i * 7) % 251);
    for (let round = 1; round <= 3; round++) {
      // 30 items of 1.5 KiB: the encoded list is over chunkAbove (32 KiB), so it is stored chunked.
      await session.addItems(turnItems(`r${round}`, 30));
      expected.set(session.lastCommit!.seq, await session.getItems());
      await session.addItems([
        { type: "function_call_result", name: "screenshot", callId: `shot-${round}`, status: "completed", output: { type: "image", image: { data: bytes, mediaType: "image/png" } } },
      ]);
      expected.set(session.lastCommit!.seq, await session.getItems());
      const current = await session.getItems();
      await session.replaceHistoryWithCompaction([compaction(`ENC-${round}`), ...current.slice(-3)]);
      expected.set(session.lastCommit!.seq, await session.getItems());
    }
    expect(expected.size).toBe(9);
    expect(await history.head()).toBe(9);
    for (const [seq, items] of expected) expect(await itemsAt(history, seq)).toEqual(items);
    // The first checkpoint: the 30 items of round 1, nothing of the compactions after it.
    expect(await itemsAt(history, 1)).toEqual(turnItems("r1", 30));
    // The checkpoint a compaction replaced holds the whole conversation up to it, image bytes included.
    const beforeSecond = await itemsAt(history, 5);
    expect(beforeSecond.slice(0, 4)).toEqual(expected.get(3));
    expect(beforeSecond.slice(4, 34)).toEqual(turnItems("r2", 30));
    const image = (beforeSecond[34] as unknown as { output: { image: { data: unknown } } }).output.image.data;
    expect(image).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(image as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
    expect((await store.verify()).ok).toBe(true);
  });

  it("a compaction computed from a getItems(limit) window: the head is exactly what was passed, the items outside the window are in the checkpoint before it", async () => {
    const { path, session, history } = await fresh();
    const all = turnItems("w", 12);
    await session.addItems(all.slice(0, 8));
    await session.addItems(all.slice(8));

    // What OpenAI's Python compaction did with SessionSettings(limit=4) (openai-agents-python#5010):
    // compact the newest 4 items only, then hand over the replacement.
    const window = await session.getItems(4);
    expect(window).toEqual(all.slice(-4));
    const compacted = [compaction("summary-of-the-window"), ...window.slice(-1)];
    await session.replaceHistoryWithCompaction(compacted);
    const seq = session.lastCommit!.seq;

    // The SDK's contract: the logical history becomes exactly the replacement.
    expect(await session.getItems()).toEqual(compacted);
    // The 8 items that were never part of the window are not lost: the checkpoint
    // the compaction replaced (seq - 1) holds all 12, in order.
    const replaced = await itemsAt(history, seq - 1);
    expect(replaced).toEqual(all);
    expect(replaced.slice(0, 8)).toEqual(all.slice(0, 8));
    const [row, previous] = await history.history({ limit: 2 });
    expect([row!.seq, row!.label, row!.turn, previous!.seq, previous!.turn]).toEqual([seq, "replaceHistoryWithCompaction", 2, seq - 1, 12]);

    // A writer on another handle appends after the window was read: the replacement
    // is committed on top of that append (compare-and-swap, retried), so the appended
    // item leaves the head too, and is in the checkpoint just before the compaction.
    const window2 = await session.getItems(2);
    const other = new CairnSession({ store: await open(path), sessionId: "chat" });
    await other.addItems([user("late, from another writer")]);
    const compacted2 = [compaction("summary-2"), ...window2.slice(-1)];
    await session.replaceHistoryWithCompaction(compacted2);
    const seq2 = session.lastCommit!.seq;
    expect(await other.getItems()).toEqual(compacted2);
    expect(await itemsAt(history, seq2 - 1)).toEqual([...compacted, user("late, from another writer")]);
    expect(await itemsAt(history, seq - 1)).toEqual(all);
  });

  it("refuses a replacement that does not start with a compaction item, with nothing written", async () => {
    const { session, history } = await fresh();
    await session.addItems([user("a"), assistant("b")]);
    const head = await history.head();
    const bad: unknown[] = [
      "x",
      undefined,
      [],
      [user("a window without a compaction marker")],
      [assistant("b"), compaction("ENC")],
      [{ type: "compaction" }],
      [{ type: "compaction", encrypted_content: 42 }],
      [compaction("ENC"), "not an item"],
      [compaction("ENC"), { type: "message", role: "user", content: () => "function" }],
    ];
    for (const items of bad) {
      const code = await codeOf(session.replaceHistoryWithCompaction(items as AgentInputItem[]));
      expect(code, JSON.stringify(items)).toMatch(/^(INVALID_ARGUMENT|UNSUPPORTED_VALUE)$/);
    }
    expect(await codeOf(session.replaceHistoryWithCompaction([user("no marker")]))).toBe("INVALID_ARGUMENT");
    expect(await history.head()).toBe(head);
    expect(await session.getItems()).toEqual([user("a"), assistant("b")]);
  });

  it("after gc({ grace: 0 }) without retention every checkpoint still reads back; retention then drops the earlier ones", async () => {
    const { store, session, history } = await fresh();
    const expected = new Map<number, AgentInputItem[]>();
    for (let round = 1; round <= 3; round++) {
      await session.addItems(turnItems(`g${round}`, 30));
      expected.set(session.lastCommit!.seq, await session.getItems());
      await session.addItems([{ type: "function_call_result", name: "fetch", callId: `g${round}`, status: "completed", output: `${round} ${bigOutput()}` }]);
      expected.set(session.lastCommit!.seq, await session.getItems());
      await session.replaceHistoryWithCompaction([compaction(`ENC-${round}`), assistant(`kept-${round}`)]);
      expected.set(session.lastCommit!.seq, await session.getItems());
    }
    // Garbage for the gc to find: a session whose history is deleted.
    const scratch = new CairnSession({ store, sessionId: "scratch" });
    await scratch.addItems([user(`unreachable ${bigOutput().slice(0, 50_000)}`), ...turnItems("scratch", 30)]);
    await store.session(scratch.cairnSessionId).delete();

    const report = await store.gc({ grace: 0 });
    expect(report.result!.blobs).toBeGreaterThan(0);
    expect(report.result!.historyRowsDropped).toBe(0);
    expect(await history.head()).toBe(9);
    for (const [seq, items] of expected) expect(await itemsAt(history, seq)).toEqual(items);
    expect((await itemsAt(history, 8)).at(-1)).toMatchObject({ callId: "g3", output: `3 ${bigOutput()}` });
    expect((await store.verify()).ok).toBe(true);

    // Retention is what drops earlier states: keep the newest 2 checkpoints.
    const retained = await store.gc({ grace: 0, keepLast: 2 });
    expect(retained.result!.historyRowsDropped).toBe(7);
    expect(await codeOf(history.at(1))).toBe("NOT_FOUND");
    expect(await itemsAt(history, 8)).toEqual(expected.get(8));
    expect(await session.getItems()).toEqual([compaction("ENC-3"), assistant("kept-3")]);
  });
});

describe("CairnSession under the SDK's compaction callers", () => {
  it("the runner's inline compaction (a model response carrying a compaction item) replaces the head; the earlier conversation stays in the checkpoint before", async () => {
    const { session, history } = await fresh();
    const model = new ScriptedModel([[assistantMessage("first answer")], [compaction("ENC-RUN"), assistantMessage("answer after compaction")], [assistantMessage("third answer")]]);
    const agent = new Agent({ name: "assistant", model });

    await run(agent, "first question", { session });
    const firstTurn = await session.getItems();
    expect(firstTurn).toHaveLength(2);
    await run(agent, "second question", { session });

    // What the runner handed over (sessionPersistence.mjs: trimToLatestCompaction, then
    // replaceHistoryWithCompaction): the compaction item and what followed it.
    const head = await session.getItems();
    expect(head).toHaveLength(2);
    expect(head[0]).toEqual(compaction("ENC-RUN"));
    expect(head[1]).toMatchObject({ role: "assistant", content: [{ text: "answer after compaction" }] });
    const rows = await history.history();
    expect(rows.map((r) => r.label)).toEqual(["replaceHistoryWithCompaction", "addItems"]);
    expect(await itemsAt(history, rows[0]!.seq - 1)).toEqual(firstTurn);
    // SDK 0.20.0 hands the turn's own input, which precedes the compaction item in
    // that turn's batch, to no Session method (openai-agents-js#1668, closed as
    // wontfix), so no checkpoint can hold it; the compaction item stands for it.
    for (const row of rows) expect(JSON.stringify(await itemsAt(history, row.seq))).not.toContain("second question");

    // The next turn appends to the compacted head, and the model sees it from the compaction item on.
    await run(agent, "third question", { session });
    expect(model.lastCall!.request.input).toEqual([...head, user("third question")]);
    const after = await session.getItems();
    expect(after.slice(0, 3)).toEqual([...head, user("third question")]);
    expect(after).toHaveLength(4);
    expect(await itemsAt(history, 1)).toEqual(firstTurn);
  });

  it("OpenAIResponsesCompactionSession over a CairnSession sends the whole history and leaves it in the checkpoint before", async () => {
    const requests: Array<{ url: string; body: { input?: unknown[] } }> = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        requests.push({ url: req.url ?? "", body: JSON.parse(body) });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            id: "cmp_1",
            object: "response.compaction",
            created_at: 0,
            output: [
              { type: "message", role: "user", content: [{ type: "input_text", text: "u0" }] },
              { type: "compaction", id: "cmp_item", encrypted_content: "ENC-SERVER" },
            ],
            usage: { input_tokens: 10, output_tokens: 2, total_tokens: 12 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const { session: underlying, history } = await fresh();
    const all = turnItems("h", 12);
    await underlying.addItems(all);
    // The SDK builds its own `new OpenAI()` client, which reads these.
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    process.env.OPENAI_API_KEY = "test-key";
    process.env.OPENAI_BASE_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    let session: OpenAIResponsesCompactionSession;
    try {
      session = new OpenAIResponsesCompactionSession({ underlyingSession: underlying, compactionMode: "input" });
    } finally {
      for (const [name, value] of [["OPENAI_API_KEY", saved.key], ["OPENAI_BASE_URL", saved.url]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const result = await session.runCompaction({ force: true });
    expect(result?.usage.totalTokens).toBe(12);

    // CairnSession has no default retrieval window: responses.compact received all 12 items.
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe("/v1/responses/compact");
    expect(requests[0]!.body.input).toHaveLength(12);
    // This session never calls replaceHistoryWithCompaction: it clears, then adds the output.
    const rows = await history.history();
    expect(rows.map((r) => [r.seq, r.label, r.turn])).toEqual([
      [3, "addItems", 2],
      [2, "clearSession", 0],
      [1, "addItems", 12],
    ]);
    expect(await underlying.getItems()).toEqual([
      { type: "message", role: "user", content: [{ type: "input_text", text: "u0" }] },
      { type: "compaction", id: "cmp_item", encrypted_content: "ENC-SERVER" },
    ]);
    expect(await itemsAt(history, 1)).toEqual(all);
  });
});
