/**
 * One process of the cross-process tests: opens a cairn file store, runs the
 * real OpenAI Agents SDK runner with the SDK's ScriptedModel (a real `Model`
 * that answers from a script, offline) and a CairnSession, prints one line
 * `RESULT <json>` and exits.
 *
 *   node --import tsx agent-process.ts <mode> <db path> <session id>
 *
 * Modes:
 *   turn1      runs the first turn (a weather tool call, then an answer)
 *   turn2      reads the stored conversation, runs the second turn on it
 *   interrupt  a 100 KiB read_file turn, then a delete_file turn stopped for
 *              approval; saves the RunState with saveRunState
 *   approve    loads the RunState, approves the call, finishes the run
 *   race       applies one history transaction (operation id from argv[5])
 *              and appends its own items, for the exactly-once test
 */
import { Agent, run, setTracingDisabled, tool, type AgentInputItem } from "@openai/agents";
import { ScriptedModel, assistantMessage, functionCall } from "@openai/agents-core/testing";
import { z } from "zod";
import { openStore } from "../../../src/index.js";
import { CairnSession } from "../../../src/adapters/openai-agents/index.js";
import { bigOutput } from "./fixtures.js";

setTracingDisabled(true);

const [mode, dbPath, sessionId, extra] = process.argv.slice(2);
if (!mode || !dbPath || !sessionId) throw new Error("usage: agent-process.ts <mode> <db path> <session id>");

const executed: string[] = [];

const getWeather = tool({
  name: "get_weather",
  description: "The weather in a city.",
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    executed.push(`get_weather:${city}`);
    return city === "Paris" ? "sunny, 24 C" : "rain, 11 C";
  },
});

const readFile = tool({
  name: "read_file",
  description: "Reads a file.",
  parameters: z.object({ path: z.string() }),
  execute: async ({ path }) => {
    executed.push(`read_file:${path}`);
    return bigOutput();
  },
});

const deleteFile = tool({
  name: "delete_file",
  description: "Deletes a file; needs a human's approval.",
  parameters: z.object({ path: z.string() }),
  needsApproval: true,
  execute: async ({ path }) => {
    executed.push(`delete_file:${path}`);
    return `deleted ${path}`;
  },
});

function report(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

const store = await openStore({ url: `file:${dbPath}` });
try {
  const session = new CairnSession({ store, sessionId });
  switch (mode) {
    case "turn1": {
      const model = new ScriptedModel([
        [functionCall("get_weather", { city: "Paris" }, { callId: "call-paris" })],
        [assistantMessage("It is sunny in Paris.")],
      ]);
      const agent = new Agent({ name: "weather", instructions: "Answer about the weather.", model, tools: [getWeather] });
      const result = await run(agent, "What is the weather in Paris?", { session });
      model.assertComplete();
      report({ finalOutput: result.finalOutput, executed });
      break;
    }
    case "turn2": {
      const before = await session.getItems();
      const model = new ScriptedModel([
        [functionCall("get_weather", { city: "London" }, { callId: "call-london" })],
        [assistantMessage("Paris is sunnier than London.")],
      ]);
      const agent = new Agent({ name: "weather", instructions: "Answer about the weather.", model, tools: [getWeather] });
      const result = await run(agent, "And compared to London?", { session });
      model.assertComplete();
      report({ before, finalOutput: result.finalOutput, executed, modelInput: model.calls[0]!.request.input });
      break;
    }
    case "interrupt": {
      const model = new ScriptedModel([
        [functionCall("read_file", { path: "notes.txt" }, { callId: "call-read" })],
        [assistantMessage("I read notes.txt.")],
        [functionCall("delete_file", { path: "notes.txt" }, { callId: "call-delete" })],
      ]);
      const agent = new Agent({ name: "files", instructions: "Manage files.", model, tools: [readFile, deleteFile] });
      await run(agent, "Read notes.txt", { session });
      const result = await run(agent, "Now delete notes.txt", { session });
      model.assertComplete();
      const serialized = JSON.parse(result.state.toString()) as unknown;
      const commit = await session.saveRunState(result.state);
      report({
        interruptions: result.interruptions.map((i) => ({ name: i.name, arguments: i.arguments })),
        executed,
        commit,
        stateHoldsOutput: JSON.stringify(serialized).includes(bigOutput()),
      });
      break;
    }
    case "approve": {
      const model = new ScriptedModel([[assistantMessage("Deleted notes.txt.")]]);
      const agent = new Agent({ name: "files", instructions: "Manage files.", model, tools: [readFile, deleteFile] });
      const state = await session.loadRunState(agent);
      if (state === undefined) throw new Error("no saved RunState");
      const pending = state.getInterruptions();
      for (const interruption of pending) state.approve(interruption);
      const result = await run(agent, state, { session });
      model.assertComplete();
      await session.clearRunState();
      report({ approved: pending.map((i) => i.name), finalOutput: result.finalOutput, executed, interruptions: result.interruptions.length });
      break;
    }
    case "race": {
      if (!extra) throw new Error("race needs an operation id");
      const own: AgentInputItem[] = Array.from({ length: 5 }, (_, i) => ({ role: "user", content: `${process.pid}-${i}` }) as AgentInputItem);
      const shared: AgentInputItem[] = [{ role: "assistant", status: "completed", content: [{ type: "output_text", text: "once" }] } as AgentInputItem];
      for (let i = 0; i < 5; i++) {
        await session.applyHistoryTransaction({ operationId: extra, transaction: { type: "append_items", items: shared } });
        await session.addItems([own[i]!]);
      }
      report({ pid: process.pid });
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await store.close();
}
