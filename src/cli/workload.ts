/**
 * The agent workload the demo and the benchmarks run: a session whose message
 * history grows every turn, with a 256 KiB tool output every few turns that is
 * most often an unchanged re-read, sometimes the same file with a line appended,
 * sometimes a new file. Deterministic for a given seed.
 */
import type { Checkpoint } from "../checkpoint/checkpoint.js";

/** One message of the conversation. */
export interface Message {
  readonly role: "user" | "assistant" | "tool";
  readonly content: string;
  readonly toolCallId?: string;
}

export interface WorkloadOptions {
  readonly turns: number;
  readonly seed?: number;
  /** A tool call every this many turns. Default 5. */
  readonly toolEvery?: number;
  /** Size of a tool output. Default 256 KiB. */
  readonly toolOutputBytes?: number;
}

/** What kind of tool output a turn produced. */
export type ToolEvent = "none" | "reread" | "appended" | "new";

/** A turn's checkpoint and what it added. */
export interface WorkloadTurn {
  readonly turn: number;
  readonly checkpoint: Checkpoint;
  readonly toolEvent: ToolEvent;
  /** Bytes of payload this turn introduced that no earlier turn had (UTF-8). */
  readonly newUniqueBytes: number;
  /** Bytes of content in this turn's whole state (every message and the tool state): what a store without dedup writes. */
  readonly logicalBytes: number;
}

const WORDS = (
  "agent tool call result file read write search query answer context memory plan step check test build run " +
  "function value return error retry timeout cache session state token model prompt reply user assistant system " +
  "the a of to in and for with on is are was be this that it from by as at or not but if then else when"
).split(" ");

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(rand: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  return out.join(" ") + ".";
}

function fileContent(rand: () => number, name: string, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 1; size < bytes; i++) {
    const line = `${String(i).padStart(5, " ")}  ${name}: ${sentence(rand, 4 + Math.floor(rand() * 8))} id=${Math.floor(rand() * 1e9).toString(36)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n").slice(0, bytes);
}

/**
 * Yields the workload's turns, 1..turns. Each checkpoint holds the whole state
 * (the full message history), as a runtime would hand it over.
 */
export function* agentWorkload(options: WorkloadOptions): Generator<WorkloadTurn> {
  const rand = prng(options.seed ?? 42);
  const toolEvery = options.toolEvery ?? 5;
  const outputBytes = options.toolOutputBytes ?? 256 * 1024;
  const messages: Message[] = [];
  const files: Array<{ name: string; content: string }> = [];
  let plugin = { revision: 1, enabled: ["search", "files"] };
  let historyBytes = 0;
  const push = (message: Message) => {
    messages.push(message);
    historyBytes += Buffer.byteLength(message.content) + message.role.length + (message.toolCallId?.length ?? 0);
  };
  for (let turn = 1; turn <= options.turns; turn++) {
    let newUnique = 0;
    const user = `Turn ${turn}: ${sentence(rand, 20 + Math.floor(rand() * 60))}`;
    push({ role: "user", content: user });
    newUnique += Buffer.byteLength(user);
    let toolEvent: ToolEvent = "none";
    let lastTool: { file: string; bytes: number } | undefined;
    if (turn % toolEvery === 0) {
      const roll = rand();
      let file: { name: string; content: string };
      if (files.length === 0 || roll >= 0.85) {
        file = { name: `src/module-${files.length}.ts`, content: fileContent(rand, `module-${files.length}`, outputBytes) };
        files.push(file);
        toolEvent = "new";
        newUnique += Buffer.byteLength(file.content);
      } else if (roll < 0.6) {
        file = files[Math.floor(rand() * files.length)]!;
        toolEvent = "reread";
      } else {
        const index = Math.floor(rand() * files.length);
        const line = `\n// turn ${turn}: ${sentence(rand, 8)}`;
        file = { name: files[index]!.name, content: files[index]!.content + line };
        files[index] = file;
        toolEvent = "appended";
        newUnique += Buffer.byteLength(file.content);
      }
      const callId = `call_${turn}`;
      push({ role: "assistant", content: `Reading ${file.name}.`, toolCallId: callId });
      push({ role: "tool", content: file.content, toolCallId: callId });
      newUnique += Buffer.byteLength(`Reading ${file.name}.`);
      lastTool = { file: file.name, bytes: file.content.length };
    }
    const reply = `${sentence(rand, 30 + Math.floor(rand() * 120))}`;
    push({ role: "assistant", content: reply });
    newUnique += Buffer.byteLength(reply);
    if (turn % 50 === 0) plugin = { revision: plugin.revision + 1, enabled: [...plugin.enabled, `plugin-${turn}`] };
    const checkpoint: Checkpoint = {
      turn,
      snapshots: {
        execution: { messages: messages.slice(), turn },
        tool: { lastTool, openFiles: files.map((f) => f.name) },
        plugin,
      },
      pluginRevision: plugin.revision,
    };
    const toolStateBytes = files.reduce((sum, f) => sum + f.name.length, 0) + (lastTool ? lastTool.file.length + 8 : 0);
    yield { turn, checkpoint, toolEvent, newUniqueBytes: newUnique, logicalBytes: historyBytes + toolStateBytes };
  }
}
