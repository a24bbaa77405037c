/**
 * A LangGraph agent that makes one tool call, gets its result and answers:
 * the smallest real graph whose checkpoints hold a conversation with a tool
 * call (the ui's API tests and browser tests read it back as one).
 */
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/** What the agent says and calls: its first reply, the tool's name and arguments, and its answer once the tool returned "42". */
export interface LookupScript {
  readonly thinking: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly answer: string;
}

/** The graph, compiled with `checkpointer`: agent -> tools (call_1 returns "42") -> agent -> END. */
export function lookupGraph(checkpointer: BaseCheckpointSaver, script: LookupScript) {
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", (state) =>
      state.messages.some((m) => ToolMessage.isInstance(m))
        ? { messages: [new AIMessage(script.answer)] }
        : { messages: [new AIMessage({ content: script.thinking, tool_calls: [{ id: "call_1", name: script.tool, args: script.args }] })] },
    )
    .addNode("tools", () => ({ messages: [new ToolMessage({ content: "42", tool_call_id: "call_1", name: script.tool })] }))
    .addEdge(START, "agent")
    .addConditionalEdges(
      "agent",
      (state) => {
        const last = state.messages.at(-1);
        return last && AIMessage.isInstance(last) && (last.tool_calls?.length ?? 0) > 0 ? "tools" : END;
      },
      ["tools", END],
    )
    .addEdge("tools", "agent")
    .compile({ checkpointer });
}
