/**
 * A small agent graph for the LangGraph adapter tests: an "agent" node that
 * calls a read_file tool twice and then answers, a "tools" node that asks a
 * human (interrupt) before each read, and a loop between them. The same
 * definition is compiled by the test and by the resume script in a fresh process.
 */
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph, interrupt } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/** The files the tool can read: one large (over cairn's 16 KiB move-out threshold). */
export const FILES: Record<string, string> = {
  "notes.md": "# Notes\nship the adapter\n",
  "big.log": Array.from({ length: 2000 }, (_, i) => `line ${i}: ${"x".repeat(i % 37)}`).join("\n"),
};

const State = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** How many tool calls the agent has made. */
  calls: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
});

const PLAN = ["notes.md", "big.log"];

/** The agent: one tool call per planned file, then a final answer summarizing the tool results. */
function agent(state: typeof State.State): Partial<typeof State.Update> {
  if (state.calls < PLAN.length) {
    const path = PLAN[state.calls]!;
    return {
      calls: 1,
      messages: [new AIMessage({ content: `reading ${path}`, tool_calls: [{ id: `call_${state.calls}`, name: "read_file", args: { path } }] })],
    };
  }
  const tools = state.messages.filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
  const summary = tools.map((m) => `${m.tool_call_id}:${String(m.content).length}`).join(",");
  return { messages: [new AIMessage({ content: `done ${summary}` })] };
}

/** The tools node: asks for approval (interrupt), then reads the file or refuses. */
function tools(state: typeof State.State): Partial<typeof State.Update> {
  const last = state.messages[state.messages.length - 1] as AIMessage;
  const out: BaseMessage[] = [];
  for (const call of last.tool_calls ?? []) {
    const path = String(call.args.path);
    const answer = interrupt<{ question: string }, string>({ question: `read ${path}?` });
    const content = answer === "yes" ? (FILES[path] ?? "no such file") : `refused: ${answer}`;
    out.push(new ToolMessage({ content, tool_call_id: call.id!, name: call.name }));
  }
  return { messages: out };
}

function route(state: typeof State.State): "tools" | typeof END {
  const last = state.messages[state.messages.length - 1];
  return last && AIMessage.isInstance(last) && (last.tool_calls?.length ?? 0) > 0 ? "tools" : END;
}

/** The compiled graph, checkpointed by `checkpointer`. */
export function buildGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(State)
    .addNode("agent", agent)
    .addNode("tools", tools)
    .addEdge(START, "agent")
    .addConditionalEdges("agent", route, ["tools", END])
    .addEdge("tools", "agent")
    .compile({ checkpointer });
}

/** The first input of a run. */
export function firstInput() {
  return { messages: [new HumanMessage("summarize my files")] };
}
