/**
 * The browser tests' harness: the compiled `cairn ui` command as a child
 * process (`node dist/cli/bin.js ui --port 0 --url <store>`), a real Chromium
 * driven by playwright-core, the fixture store written through the public API,
 * and screenshots of every page in light and dark.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { HumanMessage } from "@langchain/core/messages";
import { lookupGraph } from "../support/lookup-graph.js";
import type { AgentInputItem } from "@openai/agents";
import { openStore, type Store } from "../../src/index.js";
import { CairnSaver } from "../../src/adapters/langgraph/index.js";
import { CairnSession } from "../../src/adapters/openai-agents/index.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "dist/cli/bin.js");
/** Where the screenshots go: not committed (.scratch/ is ignored). */
export const SHOTS_DIR = join(ROOT, ".scratch/ui-screenshots");

/** The browser: $CAIRN_CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.CAIRN_CHROMIUM || "/usr/bin/chromium";

export function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** A running `cairn ui`. */
export interface Ui {
  readonly child: ChildProcess;
  /** The address it printed (with `?token=` in write mode). */
  readonly address: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly output: () => string;
  stop(): Promise<number | null>;
}

/** Starts `node dist/cli/bin.js ui --port 0 --url <url> [--write]` and waits for its address. */
export function startUi(url: string, options: { write?: boolean } = {}): Promise<Ui> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: "1" };
  delete env.CAIRN_URL;
  const args = [BIN, "ui", "--port", "0", "--url", url, ...(options.write ? ["--write"] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString("utf8")));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString("utf8")));
  const exit = new Promise<number | null>((resolve) => child.on("close", (status) => resolve(status)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cairn ui printed no address in 30 s: ${out}`)), 30_000);
    const onData = () => {
      const address = /http:\/\/\S+/.exec(out)?.[0];
      if (address === undefined) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      resolve({
        child,
        address,
        origin: new URL(address).origin,
        output: () => out,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          return exit;
        },
      });
    };
    child.stdout!.on("data", onData);
    void exit.then((status) => {
      clearTimeout(timer);
      reject(new Error(`cairn ui exited (${status}) before printing an address: ${out}`));
    });
  });
}

/** Waits until the page has painted twice (after a theme switch, the chart redraws on the next frame). */
export function painted(page: Page): Promise<void> {
  // Runs in the page (the project's type check has no DOM lib: the browser's globals are typed here by hand).
  return page.evaluate(() => {
    const raf = (globalThis as unknown as { requestAnimationFrame(callback: () => void): number }).requestAnimationFrame;
    return new Promise<void>((resolve) => raf(() => raf(() => resolve())));
  });
}

/**
 * Screenshots of one test's pages: `<SHOTS_DIR>/<group>/<NN>-<name>-light.png`
 * and `-dark.png`, the page emulating each color scheme in turn (left light).
 */
export class Shots {
  #n = 0;
  readonly dir: string;
  constructor(group: string) {
    this.dir = join(SHOTS_DIR, group);
    mkdirSync(this.dir, { recursive: true });
  }

  async take(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
    const n = String(++this.#n).padStart(2, "0");
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await painted(page);
      await page.screenshot({ path: join(this.dir, `${n}-${name}-${colorScheme}.png`), fullPage: options.fullPage ?? true });
    }
    await page.emulateMedia({ colorScheme: "light" });
    await painted(page);
  }
}

/** Stored markup that must show as text: run as HTML it would set window.__xss. */
export const XSS = `<script>window.__xss = 1</script><img src=x onerror="window.__xss=2">`;

/** 60 KB of base64 noise: a tool output that does not compress away, the same at every turn. */
export const BIG = randomBytes(45_000).toString("base64");
/** A multi-line report over the server's 2,000-character preview limit, with a distinct last line. */
export function report(turn: number): string {
  const lines = Array.from({ length: 120 }, (_, i) => `line ${i} of the report`);
  if (turn >= 4) lines[50] = "line 50 CHANGED at turn 4";
  lines.push(`end of the report (turn ${turn})`);
  return lines.join("\n");
}

export const RUN = "agent/run-1";
export const FORK = "agent/run-1-fork";
export const RUN_TURNS = 6;
export const FORK_AT = 3;
export const LANGGRAPH = `langgraph/c/${JSON.stringify(["thread-1", ""])}`;
/** The saver's pending writes of the same thread: a session of its own. */
export const LANGGRAPH_WRITES = `langgraph/w/${JSON.stringify(["thread-1", ""])}`;
export const AGENTS = "openai-agents:conv-1";
export const AGENTS_XSS = "openai-agents:xss";
export const XSS_SESSION = "xss/evil";
export const OTHERS = Array.from({ length: 5 }, (_, i) => `batch/job-${i}`);

/** What the fixture holds, for the assertions. */
export interface Fixture {
  readonly url: string;
  /** Every session id, sorted as the server sorts them (by UTF-8 bytes). */
  readonly sessions: string[];
  /** The LangGraph thread's head seq. */
  readonly langgraphHead: number;
  /** store.stats() after writing. */
  readonly stats: { sessions: number; checkpoints: number };
}

/**
 * Writes the fixture store at `url` through the public API:
 * - `agent/run-1`: 6 turns of a plain session, its message list growing by two
 *   each turn, the same 60 KB tool output at every turn (stored once), and a long
 *   report that changes one line at turn 4; `agent/run-1-fork` forked at 3;
 * - a LangGraph thread run through a compiled StateGraph under CairnSaver (a tool
 *   call, its result, an answer);
 * - an OpenAI Agents session through CairnSession.addItems (a function call and
 *   its result);
 * - {@link XSS} as a plain session's tool output and label, and as an OpenAI
 *   Agents user message (unless `markup: false`);
 * - a few small `batch/` sessions.
 */
export async function writeFixture(url: string, options: { markup?: boolean } = {}): Promise<Fixture> {
  const markup = options.markup ?? true;
  const store: Store = await openStore({ url });
  try {
    const run = store.session(RUN);
    const messages: Array<{ role: string; content: string }> = [{ role: "system", content: "You are a careful research agent." }];
    for (let turn = 1; turn <= RUN_TURNS; turn++) {
      messages.push({ role: "user", content: `Question ${turn}: what changed?` }, { role: "assistant", content: `Answer ${turn}: see the report.` });
      await run.commit(
        { turn, snapshots: { messages: [...messages], tool: { name: "fetch_dataset", output: BIG }, notes: { report: report(turn), step: turn } } },
        { label: `turn ${turn}` },
      );
    }
    await run.fork(FORK, { at: FORK_AT });
    await store.session(FORK).commit({ turn: FORK_AT + 1, snapshots: { messages: [...messages.slice(0, 1 + 2 * FORK_AT), { role: "user", content: "a different question" }] } }, { label: "fork turn" });

    await lookupGraph(new CairnSaver(store), { thinking: "Let me look that up.", tool: "lookup_answer", args: { q: "the answer" }, answer: "The answer is 42." }).invoke({ messages: [new HumanMessage("What is the answer?")] }, { configurable: { thread_id: "thread-1" } });
    const items: AgentInputItem[] = [
      { type: "message", role: "user", content: "What is the weather in Paris?" },
      { type: "function_call", callId: "fc_1", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" },
      { type: "function_call_result", callId: "fc_1", name: "get_weather", status: "completed", output: { type: "text", text: "sunny, 21 °C" } },
      { type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "It is sunny in Paris." }] },
    ];
    await new CairnSession({ store, sessionId: "conv-1" }).addItems(items);
    if (markup) {
      await new CairnSession({ store, sessionId: "xss" }).addItems([{ type: "message", role: "user", content: XSS }]);
      await store.session(XSS_SESSION).commit({ turn: 1, snapshots: { tool: { output: XSS } } }, { label: XSS });
    }
    for (const id of OTHERS) await store.session(id).commit({ turn: 1, snapshots: { job: { id } } });

    const langgraphHead = (await store.session(LANGGRAPH).latest())!.seq;
    const sessions = [RUN, FORK, LANGGRAPH, LANGGRAPH_WRITES, AGENTS, ...(markup ? [AGENTS_XSS, XSS_SESSION] : []), ...OTHERS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const { sessions: sessionCount, checkpoints } = await store.stats();
    return { url, sessions, langgraphHead, stats: { sessions: sessionCount, checkpoints } };
  } finally {
    await store.close();
  }
}

/** A session id as the app puts it in a path. */
export const enc = encodeURIComponent;
