/**
 * The conversation a checkpoint holds, as the contract's `Message[]`:
 * - a LangGraph checkpoint (session `langgraph/c/<json [thread, ns]>`): its
 *   `messages` channel, read through the saver (CairnSaver.getTuple, loaded on
 *   first use, with the optional @langchain packages);
 * - an OpenAI Agents session (`openai-agents:<id>`): its `items` slot
 *   (AgentInputItem[]: messages, function calls and their results).
 * Anything else, or a state without recognisable messages: null.
 */
import type { Store } from "../../index.js";

/** One message of a conversation (src/ui/CONTRACT.md). */
export interface Message {
  readonly role: "user" | "assistant" | "system" | "tool";
  readonly content: string;
  readonly name?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly toolCallId?: string;
}

/** A tool call an assistant message makes; `arguments` is JSON text. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** What a session id says about the runtime that wrote it. */
export type SessionKind = "langgraph" | "openai-agents" | "cairn";

/** The prefix of the LangGraph saver's checkpoint sessions (its default prefix). */
export const LANGGRAPH_CHECKPOINTS = "langgraph/c/";
/** The prefix of the OpenAI Agents session's cairn sessions. */
export const OPENAI_AGENTS = "openai-agents:";

/** The kind of a session by its id (src/ui/CONTRACT.md). */
export function sessionKind(id: string): SessionKind {
  if (id.startsWith(LANGGRAPH_CHECKPOINTS) || id.startsWith("langgraph/w/")) return "langgraph";
  if (id.startsWith(OPENAI_AGENTS)) return "openai-agents";
  return "cairn";
}

type Obj = Record<string, unknown>;
const isObject = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** Message content as text: a string as is; content parts joined (text parts' text, other parts as `[type]`). */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (content === undefined || content === null) return "";
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === "string") return part;
        if (!isObject(part)) return "";
        const text = str(part.text) ?? str(part.refusal) ?? str(part.transcript);
        return text ?? `[${str(part.type) ?? "part"}]`;
      })
      .join("\n");
  }
  if (isObject(content) && typeof content.text === "string") return content.text;
  return safeJson(content);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? `[${v.byteLength} bytes]` : v)) ?? "";
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------
// LangChain messages

/** LangChain message types (and role names) to roles. A Map: no inherited key ("constructor") can match. */
const LANGCHAIN_ROLES = new Map<string, Message["role"]>([
  ["human", "user"],
  ["user", "user"],
  ["ai", "assistant"],
  ["assistant", "assistant"],
  ["system", "system"],
  ["developer", "system"],
  ["tool", "tool"],
  ["function", "tool"],
]);

/** Serialized LangChain message classes to their types. */
const LANGCHAIN_CLASSES = new Map<string, string>([
  ["HumanMessage", "human"],
  ["HumanMessageChunk", "human"],
  ["AIMessage", "ai"],
  ["AIMessageChunk", "ai"],
  ["SystemMessage", "system"],
  ["SystemMessageChunk", "system"],
  ["ToolMessage", "tool"],
  ["ToolMessageChunk", "tool"],
  ["FunctionMessage", "function"],
  ["FunctionMessageChunk", "function"],
  ["ChatMessage", "chat"],
  ["ChatMessageChunk", "chat"],
]);

function langchainToolCalls(fields: Obj): ToolCall[] {
  const out: ToolCall[] = [];
  if (Array.isArray(fields.tool_calls)) {
    for (const call of fields.tool_calls) {
      if (!isObject(call)) continue;
      out.push({ id: str(call.id) ?? "", name: str(call.name) ?? "", arguments: typeof call.args === "string" ? call.args : safeJson(call.args ?? {}) });
    }
  }
  // Provider-format calls, where a message carries only those.
  const extra = isObject(fields.additional_kwargs) ? fields.additional_kwargs.tool_calls : undefined;
  if (out.length === 0 && Array.isArray(extra)) {
    for (const call of extra) {
      if (!isObject(call)) continue;
      const fn = isObject(call.function) ? call.function : {};
      out.push({ id: str(call.id) ?? "", name: str(fn.name) ?? "", arguments: str(fn.arguments) ?? safeJson(fn.arguments ?? {}) });
    }
  }
  return out;
}

/**
 * A LangChain message as a Message: a message instance (`type` or `_getType()`),
 * its serialized form (`{ lc: 1, type: "constructor", id: [..., "AIMessage"], kwargs }`),
 * or a message-like object (`{ role | type, content }`). Undefined for anything else.
 */
export function fromLangChain(message: unknown): Message | undefined {
  if (!isObject(message)) return undefined;
  let type: string | undefined;
  let fields: Obj = message;
  if (message.lc === 1 && message.type === "constructor" && Array.isArray(message.id) && isObject(message.kwargs)) {
    type = LANGCHAIN_CLASSES.get(String(message.id.at(-1)));
    fields = message.kwargs;
  } else if (typeof message.type === "string" && LANGCHAIN_ROLES.has(message.type)) {
    type = message.type;
  } else if (typeof (message as { _getType?: unknown })._getType === "function") {
    type = String((message as { _getType: () => unknown })._getType());
  } else if (typeof message.role === "string") {
    type = message.role;
  } else if (typeof message.type === "string") {
    type = message.type;
  }
  if (type === "chat" || type === "generic") type = str(fields.role);
  const role = type === undefined ? undefined : LANGCHAIN_ROLES.get(type);
  if (role === undefined || !("content" in fields)) return undefined;
  const name = str(fields.name);
  const toolCalls = role === "assistant" ? langchainToolCalls(fields) : [];
  const toolCallId = str(fields.tool_call_id);
  return {
    role,
    content: contentText(fields.content),
    ...(name ? { name } : {}),
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
    ...(role === "tool" && toolCallId !== undefined ? { toolCallId } : {}),
  };
}

/** Messages of a list, those recognised; null when none is. */
export function messagesOf(list: unknown, map: (item: unknown) => Message | undefined): Message[] | null {
  if (!Array.isArray(list)) return null;
  const out: Message[] = [];
  for (const item of list) {
    const message = map(item);
    if (message) out.push(message);
  }
  return out.length === 0 ? null : out;
}

/** The thread and namespace of a LangGraph checkpoints session id, or undefined. */
export function langgraphTarget(sessionId: string): { thread: string; ns: string } | undefined {
  if (!sessionId.startsWith(LANGGRAPH_CHECKPOINTS)) return undefined;
  try {
    const parsed = JSON.parse(sessionId.slice(LANGGRAPH_CHECKPOINTS.length)) as unknown;
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string") return { thread: parsed[0], ns: parsed[1] };
  } catch {
    // not a saver's id
  }
  return undefined;
}

/** A saver per store, made on first use (loading the LangGraph adapter and its packages then). */
const savers = new WeakMap<Store, Promise<{ getTuple(config: unknown): Promise<{ checkpoint: { channel_values?: Obj } } | undefined> } | undefined>>();

function saverFor(store: Store) {
  let saver = savers.get(store);
  if (!saver) {
    saver = import("../../adapters/langgraph/index.js").then(
      ({ CairnSaver }) => new CairnSaver(store) as never,
      // @langchain/langgraph-checkpoint (an optional peer) is not installed: no conversation view.
      () => undefined,
    );
    savers.set(store, saver);
  }
  return saver;
}

/**
 * The `messages` channel of the LangGraph checkpoint with id `checkpointId`
 * (the history row's label) in the checkpoints session `sessionId`, read
 * through CairnSaver.getTuple. Null when the id is not a saver's checkpoints
 * session, the LangGraph packages are not installed, or there are no messages.
 * @throws CairnError from the saver (INTEGRITY, DATABASE, ...).
 */
export async function langgraphConversation(store: Store, sessionId: string, checkpointId: string | undefined): Promise<Message[] | null> {
  const target = langgraphTarget(sessionId);
  if (target === undefined || checkpointId === undefined) return null;
  const saver = await saverFor(store);
  if (!saver) return null;
  const tuple = await saver.getTuple({ configurable: { thread_id: target.thread, checkpoint_ns: target.ns, checkpoint_id: checkpointId } });
  return messagesOf(tuple?.checkpoint.channel_values?.messages, fromLangChain);
}

// ---------------------------------------------------------------------------
// OpenAI Agents items

/** The text of a function call result's output (a string, a text part, or a list of parts). */
function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (isObject(output)) return typeof output.text === "string" ? output.text : `[${str(output.type) ?? "output"}]`;
  return contentText(output);
}

/**
 * The conversation of an OpenAI Agents `items` list: user, assistant and
 * system messages; `function_call` items as tool calls of an assistant message
 * (consecutive calls, and calls right after an assistant message, join it);
 * `function_call_result` items as tool messages. Other items (reasoning,
 * hosted tool calls, compaction) are left out. Null when nothing is recognised.
 */
export function agentsConversation(items: unknown): Message[] | null {
  if (!Array.isArray(items)) return null;
  const out: Message[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    const type = str(item.type) ?? "message";
    if (type === "message" && typeof item.role === "string" && ["user", "assistant", "system", "developer"].includes(item.role)) {
      out.push({ role: item.role === "developer" ? "system" : (item.role as Message["role"]), content: contentText(item.content) });
    } else if (type === "function_call") {
      const call: ToolCall = { id: str(item.callId) ?? str(item.call_id) ?? "", name: str(item.name) ?? "", arguments: str(item.arguments) ?? safeJson(item.arguments ?? {}) };
      const last = out.at(-1);
      if (last?.role === "assistant") out[out.length - 1] = { ...last, toolCalls: [...(last.toolCalls ?? []), call] };
      else out.push({ role: "assistant", content: "", toolCalls: [call] });
    } else if (type === "function_call_result") {
      const name = str(item.name);
      out.push({ role: "tool", content: outputText(item.output), toolCallId: str(item.callId) ?? str(item.call_id) ?? "", ...(name ? { name } : {}) });
    }
  }
  return out.length === 0 ? null : out;
}
