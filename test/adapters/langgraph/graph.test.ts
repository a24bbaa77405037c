/**
 * CairnSaver under a real compiled LangGraph StateGraph: a tool-calling loop
 * with an interrupt before each tool run, checkpointed into a file store, then
 * resumed with Command({ resume }) in a fresh process.
 */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HumanMessage } from "@langchain/core/messages";
import { INTERRUPT } from "@langchain/langgraph-checkpoint";
import { openStore } from "../../../src/index.js";
import { CairnSaver } from "../../../src/adapters/langgraph/index.js";
import { FILES, buildGraph, firstInput } from "./graph-fixture.js";
import { freshStore } from "./support.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const resumeScript = fileURLToPath(new URL("./resume.ts", import.meta.url));

describe("CairnSaver with a compiled StateGraph", () => {
  it("stops at the interrupt, and a fresh process resumes it to the end", async () => {
    const { store, url, remove } = await freshStore("file");
    try {
      const graph = buildGraph(new CairnSaver(store));
      const config = { configurable: { thread_id: "agent-1" } };
      const first = (await graph.invoke(firstInput(), config)) as { __interrupt__?: Array<{ value: unknown }> };
      expect(first.__interrupt__?.[0]?.value).toEqual({ question: "read notes.md?" });

      const paused = await graph.getState(config);
      expect(paused.next).toEqual(["tools"]);
      expect(paused.values.messages.map((m: { getType(): string }) => m.getType())).toEqual(["human", "ai"]);
      expect(paused.values.messages[0]).toBeInstanceOf(HumanMessage);
      // The interrupt is a pending write of the latest checkpoint.
      const latest = await new CairnSaver(store).getTuple(config);
      expect(latest?.pendingWrites?.some(([, channel]) => channel === INTERRUPT)).toBe(true);
      await store.close();

      const { stdout } = await run(process.execPath, ["--import", "tsx", resumeScript, url, "agent-1"], { cwd: root, timeout: 60_000 });
      const resumed = JSON.parse(stdout) as {
        pid: number;
        nextBefore: string[];
        resumes: number;
        next: string[];
        calls: number;
        messages: Array<{ type: string; content: string }>;
      };
      expect(resumed.pid).not.toBe(process.pid);
      expect(resumed.nextBefore).toEqual(["tools"]);
      expect(resumed.resumes).toBe(2); // one per tool call
      expect(resumed.next).toEqual([]);
      expect(resumed.calls).toBe(2);
      expect(resumed.messages.map((m) => m.type)).toEqual(["human", "ai", "tool", "ai", "tool", "ai"]);
      expect(resumed.messages[2]!.content).toBe(FILES["notes.md"]);
      expect(resumed.messages[4]!.content).toBe(FILES["big.log"]);
      expect(resumed.messages[5]!.content).toBe(`done call_0:${FILES["notes.md"]!.length},call_1:${FILES["big.log"]!.length}`);

      // Back in this process, the whole run is there: state, history, and time travel.
      const reopened = await openStore({ url });
      try {
        const saver = new CairnSaver(reopened);
        const again = buildGraph(saver);
        const final = await again.getState(config);
        expect(final.values.messages).toHaveLength(6);
        const history = [];
        for await (const snapshot of again.getStateHistory(config)) history.push(snapshot);
        const tuples = [];
        for await (const tuple of saver.list(config)) tuples.push(tuple);
        expect(history.length).toBe(tuples.length);
        expect(tuples.map((t) => t.metadata?.step)).toEqual([...tuples.map((t) => t.metadata?.step)].sort((a, b) => b! - a!));
        const loops = [];
        for await (const tuple of saver.list(config, { filter: { source: "loop" } })) loops.push(tuple.metadata?.source);
        expect(loops.length).toBeGreaterThan(0);
        expect(loops.every((source) => source === "loop")).toBe(true);
        // The checkpoint paused at the first interrupt can still be read back as it was.
        const pausedAgain = await again.getState(paused.config);
        expect(pausedAgain.values.messages.map((m: { getType(): string }) => m.getType())).toEqual(["human", "ai"]);
        expect(pausedAgain.next).toEqual(["tools"]);
      } finally {
        await reopened.close();
      }
    } finally {
      await remove();
    }
  });

  it("runs a second thread on the same store without touching the first, and deletes it", async () => {
    const { store, remove } = await freshStore("memory");
    try {
      const saver = new CairnSaver(store);
      const graph = buildGraph(saver);
      const a = { configurable: { thread_id: "a" } };
      const b = { configurable: { thread_id: "b" } };
      await graph.invoke({ messages: [new HumanMessage("hello a")] }, a);
      await graph.invoke({ messages: [new HumanMessage("hello b")] }, b);
      await saver.deleteThread("b");
      expect((await graph.getState(b)).values).toEqual({});
      const stateA = await graph.getState(a);
      expect(stateA.values.messages[0].content).toBe("hello a");
      expect(stateA.next).toEqual(["tools"]);
    } finally {
      await remove();
    }
  });
});
