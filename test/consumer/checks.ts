/**
 * What the consumer test runs under each runtime, in the consumer project, with
 * only the installed package and its peers: the fixtures in ./fixtures/. Each
 * check throws (with the runtime's whole output) on failure and returns a short
 * summary for the per-runtime line.
 */
import { join } from "node:path";
import { expect } from "vitest";
import type { Check, Runtime } from "./runtimes.js";
import { describeRan, ok, result, run, type Ran } from "./support.js";

/** Where a check runs: the consumer project, inside the temp dir. */
export interface Where {
  readonly project: string;
  readonly temp: string;
}

type Exec = (args: readonly string[], onStdout?: (stdout: string, kill: () => void) => void) => Promise<Ran>;

function executor(runtime: Runtime, where: Where): Exec {
  return (args, onStdout) =>
    run(runtime.binary, [...runtime.args, ...args], { cwd: where.project, env: runtime.env(where.temp), timeoutMs: 120_000, ...(onStdout ? { onStdout } : {}) });
}

const CAIRN_BIN = join("node_modules", ".bin", "cairn");

/** Every check, by name, in the order they run. */
export const CHECK_RUNNERS: Record<Check, (runtime: Runtime, where: Where) => Promise<string>> = {
  /** Every subpath imported, the main exports there, a round trip on a file store (smoke.mjs). */
  async smoke(runtime, where) {
    const ran = ok(await executor(runtime, where)(["smoke.mjs", db(runtime, "smoke")]));
    const smoke = result<{ head: { seq: number; turn: number }; verify: boolean; imported: Record<string, string> }>(ran);
    expect(smoke.head).toEqual({ seq: 2, turn: 2 });
    expect(smoke.verify).toBe(true);
    expect(Object.entries(smoke.imported).filter(([, status]) => status !== "ok"), "subpaths that did not import").toEqual([]);
    return `${Object.keys(smoke.imported).length} subpaths, round trip`;
  },

  /** require("cairn-store") from a .cjs file (smoke-require.cjs). */
  async require(runtime, where) {
    const ran = ok(await executor(runtime, where)(["smoke-require.cjs", db(runtime, "require")]));
    expect(result<{ turn: number }>(ran).turn).toBe(1);
    return "require()";
  },

  /** The installed bin, run by this runtime: the demo (which kills and resumes a worker of the same runtime), then verify. */
  async bin(runtime, where) {
    const exec = executor(runtime, where);
    const url = `file:.cairn/${runtime.name}-demo.db`;
    const demo = ok(await exec([CAIRN_BIN, "demo", "--url", url]));
    expect(demo.stdout).toMatch(/SIGKILL sent to worker \d+ after turn \d+/);
    expect(demo.stdout).toMatch(/state identical to what was committed/);
    expect(demo.stdout).toMatch(/turns committed\s+200/);
    const verify = ok(await exec([CAIRN_BIN, "verify", "--url", url]));
    expect(verify.stdout).toMatch(/^ok: checked \d+ blobs .*, 200 manifests, 200 history rows/m);
    // Retention as the README shows it: a policy stored in the store, a dry run by policy, a gc that gives the disk back.
    ok(await exec([CAIRN_BIN, "retention", "set", "--default", "--keep-last", "50", "--url", url]));
    const dry = ok(await exec([CAIRN_BIN, "gc", "--dry-run", "--grace", "0", "--url", url]));
    expect(dry.stdout).toMatch(/^dry run: would drop 150 history rows in 1 session/m);
    expect(dry.stdout).toMatch(/^\s+default\s+150\s+1\s+0$/m);
    const gc = ok(await exec([CAIRN_BIN, "gc", "--grace", "0", "--url", url]));
    expect(gc.stdout).toMatch(/^dropped 150 history rows/m);
    expect(gc.stdout).toMatch(/^space: .* returned to the file system; the file /m);
    const du = JSON.parse(ok(await exec([CAIRN_BIN, "du", "--json", "--url", url])).stdout) as { sessions: Array<{ id: string; checkpoints: number }> };
    expect(du.sessions.map((s) => [s.id, s.checkpoints])).toEqual([["demo", 50]]);
    const exported = ok(await exec([CAIRN_BIN, "export", "demo", "-o", `.cairn/${runtime.name}-demo.cairn`, "--url", url]));
    expect(exported.stdout).toMatch(/^exported 1 session \(50 history rows/m);
    // The inspector as docs/ui.md shows it: `cairn ui` serves the app and the API from the installed package.
    let answered: Promise<{ meta: { backend: string; readOnly: boolean }; sessions: { sessions: Array<{ id: string }> }; page: string; app: number }> | undefined;
    const ui = await exec([CAIRN_BIN, "ui", "--port", "0", "--url", url], (stdout, kill) => {
      const address = /^cairn ui: (http:\/\/127\.0\.0\.1:\d+\/)/m.exec(stdout)?.[1];
      if (address === undefined || answered !== undefined) return;
      const get = (path: string) => fetch(new URL(path, address)).then((response) => (response.ok ? response : Promise.reject(new Error(`${path}: ${response.status}`))));
      answered = (async () => ({
        meta: (await (await get("api/meta")).json()) as { backend: string; readOnly: boolean },
        sessions: (await (await get("api/sessions")).json()) as { sessions: Array<{ id: string }> },
        page: await (await get("s/demo")).text(),
        app: (await (await get("assets/app.js")).arrayBuffer()).byteLength,
      }))().finally(kill);
    });
    expect(answered, describeRan(ui)).toBeDefined();
    const served = await answered!;
    expect(served.meta).toMatchObject({ backend: "file", readOnly: true });
    expect(served.sessions.sessions.map((s) => s.id)).toEqual(["demo"]);
    expect(served.page).toMatch(/<div id="app">/);
    expect(served.app).toBeGreaterThan(10_000);
    return "cairn demo + verify, retention + gc + du + export, ui";
  },

  /**
   * A LangGraph StateGraph on CairnSaver (langgraph-graph.mjs): SIGKILLed when
   * step 5 starts, resumed by a fresh process; steps 1-4 are the killed
   * process's, 5-8 the fresh one's, each once.
   */
  async langgraph(runtime, where) {
    const exec = executor(runtime, where);
    const file = db(runtime, "langgraph");
    let killedAt: number | undefined;
    const first = await exec(["langgraph-graph.mjs", "run", file, "thread-1"], (stdout, kill) => {
      const at = /^AT (\d+)$/m.exec(stdout);
      if (at && killedAt === undefined) {
        killedAt = Number(at[1]);
        kill();
      }
    });
    expect(first.signal, describeRan(first)).toBe("SIGKILL");
    expect(killedAt).toBe(5);

    type Summary = { next: string[]; steps: Array<{ n: number; pid: number }>; task: string };
    const resumed = result<{ pid: number; before: Summary; after: Summary; resultSteps: number; checkpoints: number }>(
      ok(await exec(["langgraph-graph.mjs", "resume", file, "thread-1"])),
    );
    // Every step that finished before the kill is there, from the killed process...
    const killedPid = resumed.before.steps[0]?.pid;
    expect(killedPid).not.toBe(resumed.pid);
    expect(resumed.before.next).toEqual(["work"]);
    expect(resumed.before.task).toBe("count to eight");
    expect(resumed.before.steps).toEqual([1, 2, 3, 4].map((n) => ({ n, pid: killedPid })));
    // ...and the fresh process ran the rest, the interrupted step included, once each.
    expect(resumed.after.next).toEqual([]);
    expect(resumed.after.steps).toEqual([...resumed.before.steps, ...[5, 6, 7, 8].map((n) => ({ n, pid: resumed.pid }))]);
    expect(resumed.resultSteps).toBe(8);
    expect(resumed.checkpoints).toBeGreaterThanOrEqual(9);
    ok(await exec([CAIRN_BIN, "verify", "--url", `file:${file}`]));
    return "killed at step 5, resumed 4 of 8";
  },

  /**
   * The OpenAI Agents SDK runner with a CairnSession (agents-turn.mjs): a turn
   * with a tool call, then a second process continuing the stored conversation.
   */
  async agents(runtime, where) {
    const exec = executor(runtime, where);
    const file = db(runtime, "agents");
    type Item = { type?: string; role?: string; name?: string; callId?: string; content?: unknown; output?: unknown };
    type Turn = { pid: number; finalOutput: string; executed: string[]; before: Item[]; after: Item[]; modelInput: Item[] };
    const summary = (items: Item[]) => items.map((i) => (i.type === "function_call" || i.type === "function_call_result" ? `${i.type}:${i.name}` : `${i.type ?? "message"}:${i.role}`));
    const firstTurn = ["message:user", "function_call:get_weather", "function_call_result:get_weather", "message:assistant"];

    const turn1 = result<Turn>(ok(await exec(["agents-turn.mjs", "turn1", file, "chat-1"])));
    expect(turn1).toMatchObject({ finalOutput: "It is sunny in Paris.", executed: ["Paris"], before: [] });
    expect(summary(turn1.after)).toEqual(firstTurn);

    const turn2 = result<Turn>(ok(await exec(["agents-turn.mjs", "turn2", file, "chat-1"])));
    expect(turn2.pid).not.toBe(turn1.pid);
    // The new process read the first turn back, tool call and result included...
    expect(turn2.before).toEqual(turn1.after);
    expect(turn2.before[0]).toMatchObject({ role: "user", content: "What is the weather in Paris?" });
    expect(turn2.before[2]).toMatchObject({ callId: "call-paris", output: { type: "text", text: "sunny, 24 C" } });
    // ...sent it to the model before the new question, and stored both turns.
    expect(summary(turn2.modelInput)).toEqual([...firstTurn, "message:user"]);
    expect(turn2.modelInput.at(-1)).toMatchObject({ role: "user", content: "And in London?" });
    expect(turn2).toMatchObject({ finalOutput: "It rains in London.", executed: ["London"] });
    expect(summary(turn2.after)).toEqual([...firstTurn, ...firstTurn]);
    expect(turn2.after[6]).toMatchObject({ callId: "call-london", output: { type: "text", text: "rain, 11 C" } });
    return "2 turns, 2 processes";
  },
};

function db(runtime: Runtime, check: Check): string {
  return join("data", `${runtime.name}-${check}.db`);
}
