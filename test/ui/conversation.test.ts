/**
 * The conversation mappings on the forms a stored state may hold besides
 * message instances (covered end to end in api.test.ts): LangChain's serialized
 * `lc` form, message-like objects, provider-format tool calls, OpenAI Agents
 * items of every kind; and what is not a message.
 */
import { describe, expect, it } from "vitest";
import { agentsConversation, fromLangChain, langgraphTarget, messagesOf, sessionKind } from "../../src/ui/server/conversation.js";

describe("LangChain messages", () => {
  it("maps the serialized lc form", () => {
    const lc = (cls: string, kwargs: object) => ({ lc: 1, type: "constructor", id: ["langchain_core", "messages", cls], kwargs });
    expect(
      messagesOf(
        [
          lc("SystemMessage", { content: "be brief" }),
          lc("HumanMessage", { content: [{ type: "text", text: "look at" }, { type: "image_url", image_url: "data:..." }] }),
          lc("AIMessageChunk", { content: "", tool_calls: [{ id: "c1", name: "grep", args: { q: "x" } }] }),
          lc("ToolMessage", { content: "found", tool_call_id: "c1", name: "grep" }),
          lc("ChatMessage", { content: "aside", role: "assistant" }),
          lc("SomethingElse", { content: "?" }),
        ],
        fromLangChain,
      ),
    ).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "look at\n[image_url]" },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "grep", arguments: '{"q":"x"}' }] },
      { role: "tool", content: "found", name: "grep", toolCallId: "c1" },
      { role: "assistant", content: "aside" },
    ]);
  });

  it("maps message-like objects and provider-format tool calls, and skips what is no message", () => {
    expect(fromLangChain({ role: "user", content: "hi" })).toEqual({ role: "user", content: "hi" });
    expect(fromLangChain({ type: "ai", content: "ok", additional_kwargs: { tool_calls: [{ id: "t", function: { name: "f", arguments: "{}" } }] } })).toEqual({
      role: "assistant",
      content: "ok",
      toolCalls: [{ id: "t", name: "f", arguments: "{}" }],
    });
    for (const notMessage of [null, "hi", 3, [], { content: "no role" }, { type: "constructor", content: "x" }, { role: "toString", content: "x" }, { type: "human" }]) {
      expect(fromLangChain(notMessage)).toBeUndefined();
    }
    expect(messagesOf([{ content: "no role" }], fromLangChain)).toBeNull();
    expect(messagesOf("not a list", fromLangChain)).toBeNull();
  });
});

describe("OpenAI Agents items", () => {
  it("joins function calls to the assistant message before them and maps results and outputs of every shape", () => {
    expect(
      agentsConversation([
        { role: "developer", content: "rules" },
        { role: "user", content: [{ type: "input_text", text: "two calls" }, { type: "input_image", image: "x" }] },
        { type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "calling" }] },
        { type: "function_call", callId: "a", name: "f", arguments: "{}" },
        { type: "function_call", callId: "b", name: "g", arguments: '{"x":1}' },
        { type: "reasoning", content: [] },
        { type: "function_call_result", callId: "a", name: "f", status: "completed", output: "plain" },
        { type: "function_call_result", callId: "b", name: "g", status: "completed", output: [{ type: "input_text", text: "parts" }] },
        { type: "compaction", encrypted_content: "..." },
      ]),
    ).toEqual([
      { role: "system", content: "rules" },
      { role: "user", content: "two calls\n[input_image]" },
      {
        role: "assistant",
        content: "calling",
        toolCalls: [
          { id: "a", name: "f", arguments: "{}" },
          { id: "b", name: "g", arguments: '{"x":1}' },
        ],
      },
      { role: "tool", content: "plain", toolCallId: "a", name: "f" },
      { role: "tool", content: "parts", toolCallId: "b", name: "g" },
    ]);
    expect(agentsConversation([{ type: "reasoning" }])).toBeNull();
    expect(agentsConversation({ not: "a list" })).toBeNull();
  });
});

describe("session kinds", () => {
  it("reads the kind and the LangGraph target from the id", () => {
    expect(sessionKind('langgraph/c/["t",""]')).toBe("langgraph");
    expect(sessionKind('langgraph/w/["t",""]')).toBe("langgraph");
    expect(sessionKind("openai-agents:x")).toBe("openai-agents");
    expect(sessionKind("langgraph")).toBe("cairn");
    expect(langgraphTarget('langgraph/c/["t","ns"]')).toEqual({ thread: "t", ns: "ns" });
    expect(langgraphTarget('langgraph/w/["t","ns"]')).toBeUndefined();
    expect(langgraphTarget("langgraph/c/[1,2]")).toBeUndefined();
    expect(langgraphTarget("langgraph/c/{")).toBeUndefined();
  });
});
