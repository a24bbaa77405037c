/**
 * CairnSession under the real OpenAI Agents SDK runner, offline: the model is
 * the SDK's own ScriptedModel (a real `Model` implementation answering from a
 * script), the tools are real function tools, the store a real file in a temp
 * directory. Conversations move between processes: one process runs a turn and
 * exits, another opens the same file and carries on.
 */
import { describe, expect, it } from "vitest";
import {
  Agent,
  OutputGuardrailTripwireTriggered,
  run,
  setTracingDisabled,
  tool,
  type AgentInputItem,
  type SessionHistoryTransactionArgs,
} from "@openai/agents";
import { ScriptedModel, assistantMessage, functionCall } from "@openai/agents-core/testing";
import { z } from "zod";
import { isCairnError, type Store } from "../../../src/index.js";
import { CairnSession } from "../../../src/adapters/openai-agents/index.js";
import { bigOutput, runProcess, sha256 } from "./fixtures.js";
import { fileStores } from "./stores.js";

setTracingDisabled(true);

const { tempDb, open } = fileStores("cairn-openai-agents-");

function summary(items: readonly AgentInputItem[]): string[] {
  return items.map((item) => {
    const i = item as { type?: string; role?: string; name?: string };
    return i.type === "function_call" || i.type === "function_call_result" ? `${i.type}:${i.name}` : `${i.type ?? "message"}:${i.role}`;
  });
}

describe("CairnSession with the OpenAI Agents SDK runner", () => {
  it("runs a turn in one process and resumes the conversation in another", async () => {
    const db = tempDb();
    const first = await runProcess<{ finalOutput: string; executed: string[] }>(["turn1", db, "chat-1"]);
    expect(first).toEqual({ finalOutput: "It is sunny in Paris.", executed: ["get_weather:Paris"] });

    const second = await runProcess<{ before: AgentInputItem[]; finalOutput: string; executed: string[]; modelInput: AgentInputItem[] }>([
      "turn2",
      db,
      "chat-1",
    ]);
    // getItems in the fresh process shows the first turn, tool call and result included.
    expect(summary(second.before)).toEqual(["message:user", "function_call:get_weather", "function_call_result:get_weather", "message:assistant"]);
    expect(second.before[0]).toMatchObject({ role: "user", content: "What is the weather in Paris?" });
    expect(second.before[2]).toMatchObject({ callId: "call-paris", output: { type: "text", text: "sunny, 24 C" } });
    // The model of the second process was sent the first turn, then the new question.
    expect(summary(second.modelInput)).toEqual([...summary(second.before), "message:user"]);
    expect(second.modelInput.at(-1)).toMatchObject({ role: "user", content: "And compared to London?" });
    expect(second).toMatchObject({ finalOutput: "Paris is sunnier than London.", executed: ["get_weather:London"] });

    const store = await open(db);
    const session = new CairnSession({ store, sessionId: "chat-1" });
    const items = await session.getItems();
    expect(summary(items)).toEqual([...summary(second.before), ...summary(second.before)]);
    expect(items.slice(0, 4)).toEqual(second.before);
    expect(items[6]).toMatchObject({ callId: "call-london", output: { type: "text", text: "rain, 11 C" } });
    expect(await session.getItems(2)).toEqual(items.slice(-2));
    const history = await store.session("openai-agents:chat-1").history();
    expect(history.every((row) => row.label === "addItems")).toBe(true);
    expect(history[0]!.turn).toBe(8);
  });

  it("stores an interrupted run's RunState, restores it in a fresh process, approves and finishes", async () => {
    const db = tempDb();
    const paused = await runProcess<{
      interruptions: Array<{ name: string; arguments: string }>;
      executed: string[];
      commit: { seq: number; blobsWritten: number; bytesWritten: number };
      stateHoldsOutput: boolean;
    }>(["interrupt", db, "files-1"]);
    expect(paused.interruptions).toEqual([{ name: "delete_file", arguments: JSON.stringify({ path: "notes.txt" }) }]);
    expect(paused.executed).toEqual(["read_file:notes.txt"]);

    // The RunState repeats the conversation, the 100 KiB read_file output included...
    expect(paused.stateHoldsOutput).toBe(true);
    // ...yet saving it wrote a few KiB: the output is one blob, already stored
    // with the conversation items. A second copy would cost >= 75 KiB (it is
    // pseudo-random base64, which deflate shrinks by at most a quarter).
    expect(paused.commit.bytesWritten).toBeLessThan(16 * 1024);

    const store = await open(db);
    const output = bigOutput();
    expect(await store.blobs.has(sha256(output))).toBe(true);
    expect((await store.blobs.info(sha256(output)))?.size).toBe(output.length);
    const session = new CairnSession({ store, sessionId: "files-1" });
    const before = await session.getItems();
    expect(summary(before)).toEqual([
      "message:user",
      "function_call:read_file",
      "function_call_result:read_file",
      "message:assistant",
      "message:user",
      "function_call:delete_file",
    ]);
    expect(before[2]).toMatchObject({ output: { type: "text", text: output } });
    const saved = await store.session("openai-agents:files-1").latest();
    expect(saved?.seq).toBe(paused.commit.seq);
    expect(JSON.stringify(saved?.snapshots.execution)).toContain(output);

    const resumed = await runProcess<{ approved: string[]; finalOutput: string; executed: string[]; interruptions: number }>(["approve", db, "files-1"]);
    expect(resumed).toEqual({ approved: ["delete_file"], finalOutput: "Deleted notes.txt.", executed: ["delete_file:notes.txt"], interruptions: 0 });

    const after = await session.getItems();
    expect(summary(after)).toEqual([...summary(before), "function_call_result:delete_file", "message:assistant"]);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after[6]).toMatchObject({ callId: "call-delete", output: { type: "text", text: "deleted notes.txt" } });
    // The approve process cleared the saved state once the run finished.
    expect(await session.loadRunState(new Agent({ name: "files" }))).toBeUndefined();
  });

  it("keeps a tool's image bytes intact through the runner and the store", async () => {
    const db = tempDb();
    const image = new Uint8Array(48 * 1024).map((_, i) => (i * 131 + (i >> 7)) & 0xff);
    const screenshot = tool({
      name: "screenshot",
      description: "Takes a screenshot.",
      parameters: z.object({}),
      execute: async () => ({ type: "image" as const, image: { data: image, mediaType: "image/png" } }),
    });
    const model = new ScriptedModel([[functionCall("screenshot", {}, { callId: "call-shot" })], [assistantMessage("I see it.")]]);
    const agent = new Agent({ name: "eyes", model, tools: [screenshot] });
    const store = await open(db);
    await run(agent, "Take a screenshot", { session: new CairnSession({ store, sessionId: "shot" }) });
    model.assertComplete();

    const items = await new CairnSession({ store: await open(db), sessionId: "shot" }).getItems();
    const result = items.find((i) => i.type === "function_call_result") as { output: Array<{ type: string; image: string }> } | undefined;
    // The SDK persists image bytes as a base64 data URL; it comes back whole.
    const url = result!.output[0]!.image;
    expect(url.startsWith("data:image/png;base64,")).toBe(true);
    expect(new Uint8Array(Buffer.from(url.slice("data:image/png;base64,".length), "base64"))).toEqual(image);
    // It is large enough to be a blob of its own, named by its hash.
    expect(await store.blobs.has(sha256(url))).toBe(true);
  });

  it("persists output-guardrail-blocked turns through applyHistoryTransaction, exactly once", async () => {
    const db = tempDb();
    const store = await open(db);
    const seen: SessionHistoryTransactionArgs[] = [];
    class Recording extends CairnSession {
      override async applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void> {
        seen.push(structuredClone(args));
        await super.applyHistoryTransaction(args);
      }
    }
    const lookup = tool({ name: "lookup", description: "Looks up.", parameters: z.object({ q: z.string() }), execute: async ({ q }) => `result for ${q}` });
    const model = new ScriptedModel([[functionCall("lookup", { q: "code" }, { callId: "call-1" })], [assistantMessage("The SECRET code is 42.")]]);
    const agent = new Agent({
      name: "guarded",
      model,
      tools: [lookup],
      outputGuardrails: [
        { name: "no-secrets", execute: async ({ agentOutput }) => ({ tripwireTriggered: String(agentOutput).includes("SECRET"), outputInfo: null }) },
      ],
    });
    const session = new Recording({ store, sessionId: "guarded" });
    await expect(run(agent, "What is the code?", { session })).rejects.toBeInstanceOf(OutputGuardrailTripwireTriggered);

    expect(seen).toHaveLength(1);
    expect(seen[0]!.transaction.type).toBe("append_items");
    const items = await session.getItems();
    expect(summary(items)).toEqual(["message:user", "function_call:lookup", "function_call_result:lookup"]);
    const history = store.session("openai-agents:guarded");
    const head = await history.head();
    expect((await history.history({ limit: 1 }))[0]).toMatchObject({ label: "applyHistoryTransaction", meta: { operationId: seen[0]!.operationId } });

    // A retry of the same operation, from another store handle (as a restarted
    // process would), succeeds and changes nothing.
    const other = new CairnSession({ store: await open(db), sessionId: "guarded" });
    await other.applyHistoryTransaction(seen[0]!);
    expect(await history.head()).toBe(head);
    expect(await other.getItems()).toEqual(items);

    // The same operation id with another transaction is refused, nothing written.
    const error = await other
      .applyHistoryTransaction({ operationId: seen[0]!.operationId, transaction: { type: "append_items", items: [{ role: "user", content: "x" }] } })
      .catch((e: unknown) => e);
    expect(isCairnError(error, "CONFLICT")).toBe(true);
    expect(await history.head()).toBe(head);
  });

  it("applies one operation id exactly once when two processes race on it", async () => {
    const db = tempDb();
    const operationId = "race-op-1";
    const results = await Promise.all([runProcess<{ pid: number }>(["race", db, "race", operationId]), runProcess<{ pid: number }>(["race", db, "race", operationId])]);
    const store = await open(db);
    const items = await new CairnSession({ store, sessionId: "race" }).getItems();
    const texts = items.map((i) => {
      const m = i as { content: string | Array<{ text: string }> };
      return typeof m.content === "string" ? m.content : m.content[0]!.text;
    });
    expect(texts.filter((t) => t === "once")).toHaveLength(1);
    for (const { pid } of results) {
      expect(texts.filter((t) => t.startsWith(`${pid}-`))).toEqual([0, 1, 2, 3, 4].map((i) => `${pid}-${i}`));
    }
    expect(items).toHaveLength(11);
  });
});
