/** A conversation (CONTRACT.md `Message[]`): role-colored bubbles, tool calls, collapsible tool outputs. */
import type { Message, ToolCall } from "./api";
import { count } from "./format";

function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function ToolCallView({ call }: { call: ToolCall }) {
  return (
    <div class="tool-call" data-testid="tool-call">
      <div class="tool-call-head">
        <span class="tool-name" data-testid="tool-name">{String(call.name)}</span>
        {call.id ? <span class="muted small-text"> {String(call.id)}</span> : null}
      </div>
      <pre class="tool-args" data-testid="tool-args">{prettyArguments(typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments))}</pre>
    </div>
  );
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (content === null || content === undefined) return "";
  return JSON.stringify(content, null, 2);
}

export function MessageView({ message, index }: { message: Message; index: number }) {
  const role = typeof message.role === "string" ? message.role : "unknown";
  const content = text(message.content);
  const roleClass = ["user", "assistant", "system", "tool"].includes(role) ? role : "other";
  return (
    <div class={`message role-${roleClass}`} data-testid="message" data-role={role} data-index={index}>
      <div class="message-head">
        <span class="role">{role}</span>
        {message.name ? <span class="muted"> · {String(message.name)}</span> : null}
        {role === "tool" && message.toolCallId ? <span class="muted small-text"> · for {String(message.toolCallId)}</span> : null}
      </div>
      {role === "tool" ? (
        <details class="tool-output" data-testid="tool-output" open={content.length <= 300}>
          <summary>tool output ({count(content.length)} chars)</summary>
          <pre class="content">{content}</pre>
        </details>
      ) : content !== "" ? (
        <div class="content">{content}</div>
      ) : null}
      {Array.isArray(message.toolCalls) && message.toolCalls.length > 0 ? (
        <div class="tool-calls">
          {message.toolCalls.map((call, i) => (
            <ToolCallView key={call.id || i} call={call} />
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function Conversation({ messages }: { messages: Message[] }) {
  return (
    <div class="conversation" data-testid="conversation">
      {messages.length === 0 ? <p class="muted">No messages.</p> : null}
      {messages.map((m, i) => (
        <MessageView key={i} message={m} index={i} />
      ))}
    </div>
  );
}
