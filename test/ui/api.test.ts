/**
 * The ui server's API end to end: a real store file written through the public
 * API, CairnSaver under a compiled LangGraph graph and CairnSession; the real
 * server on a free port; real HTTP requests. Checks every endpoint's shape and
 * figures against the contract (src/ui/CONTRACT.md).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HumanMessage } from "@langchain/core/messages";
import { lookupGraph } from "../support/lookup-graph.js";
import type { AgentInputItem } from "@openai/agents";
import { openStore, type Ref } from "../../src/index.js";
import { CairnSaver } from "../../src/adapters/langgraph/index.js";
import { CairnSession } from "../../src/adapters/openai-agents/index.js";
import { tempDir } from "../support/backends.js";
import { enc, serve, type Running } from "./support.js";

/** 200 KB of base64 noise: a tool output that does not compress away. */
const BIG = randomBytes(150_000).toString("base64");
/** A multi-line report over the 2,000-character preview limit. */
const REPORT = Array.from({ length: 120 }, (_, i) => `line ${i} of the report`).join("\n");
const REPORT_CHANGED = REPORT.replace("line 50 of the report", "line 50 CHANGED");
const BYTES = Uint8Array.from({ length: 100 }, (_, i) => i);
const rich = (report: string) => ({
  map: new Map<unknown, unknown>([
    ["k", 1],
    [2, "two"],
  ]),
  set: new Set<unknown>([1, "a"]),
  when: new Date("2024-01-02T03:04:05.000Z"),
  big: 12345678901234567890n,
  bytes: BYTES,
  report,
  nothing: undefined,
  nan: NaN,
  low: -Infinity,
  dollar: { $: "not a tag", x: 1 },
  items: Array.from({ length: 250 }, (_, i) => i),
  plain: { a: [1, "b", null, true] },
});

const RUN = "agent/run-1";
const FORK = "agent/run-1-fork";
const LANGGRAPH = `langgraph/c/${JSON.stringify(["thread-1", ""])}`;
const AGENTS = "openai-agents:conv-1";

let dir: { dir: string; remove: () => void };
let url: string;
let api: Running;
let rawRef: Ref;
let rawBytes: Uint8Array;

beforeAll(async () => {
  dir = tempDir("cairn-ui-api-");
  url = `file:${join(dir.dir, "store.db")}`;
  const store = await openStore({ url });
  const run = store.session(RUN);
  await run.commit({ turn: 1, snapshots: { tool: { output: BIG }, execution: { step: 1 } } }, { label: "first" });
  await run.commit({ turn: 2, snapshots: { tool: { output: BIG, note: "second" }, execution: { step: 2 } } }, { label: "second" });
  await run.commit({ turn: 3, snapshots: { tool: { output: BIG, note: "second" }, data: rich(REPORT) } });
  await run.commit({ turn: 4, snapshots: { tool: { output: BIG, note: "second" }, data: rich(REPORT_CHANGED) } });
  await run.fork(FORK, { at: 2 });
  // A session holding exactly checkpoint 1's state: its reachable bytes are checkpoint 1's.
  await store.session("solo").commit({ turn: 1, snapshots: { tool: { output: BIG }, execution: { step: 1 } } });
  for (let i = 0; i < 12; i++) await store.session(`page/${String(i).padStart(2, "0")}`).commit({ turn: 0, snapshots: { i } });
  await lookupGraph(new CairnSaver(store), { thinking: "let me look", tool: "lookup", args: { q: "answer" }, answer: "the answer is 42" }).invoke({ messages: [new HumanMessage("what is the answer?")] }, { configurable: { thread_id: "thread-1" } });
  const items: AgentInputItem[] = [
    { type: "message", role: "user", content: "weather in Paris?" },
    { type: "function_call", callId: "fc_1", name: "weather", arguments: '{"city":"Paris"}', status: "completed" },
    { type: "function_call_result", callId: "fc_1", name: "weather", status: "completed", output: { type: "text", text: "sunny" } },
    { type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "It is sunny." }] },
  ];
  await new CairnSession({ store, sessionId: "conv-1" }).addItems(items);
  rawBytes = randomBytes(3000);
  rawRef = await store.blobs.put(rawBytes);
  await store.close();
  api = await serve(url);
});

afterAll(async () => {
  await api?.close();
  dir?.remove();
});

describe("GET /api/meta", () => {
  it("names the store and says read-only", async () => {
    const { status, body } = await api.get("/api/meta");
    expect(status).toBe(200);
    expect(body).toEqual({ url, backend: "file", readOnly: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});

describe("GET /api/sessions", () => {
  it("lists sessions by id with head, checkpoints, times, kind and fork origin", async () => {
    const { status, body } = await api.get("/api/sessions?limit=500");
    expect(status).toBe(200);
    const ids = body.sessions.map((s: { id: string }) => s.id);
    expect(ids).toEqual([...ids].sort((a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(body.next).toBeNull();
    const byId = new Map(body.sessions.map((s: { id: string }) => [s.id, s]));
    expect(byId.get(RUN)).toEqual({ id: RUN, head: 4, checkpoints: 4, createdAt: expect.any(String), updatedAt: expect.any(String), kind: "cairn", forkedFrom: null });
    expect(byId.get(FORK)).toMatchObject({ head: 2, checkpoints: 2, forkedFrom: { session: RUN, at: 2 } });
    expect(byId.get(LANGGRAPH)).toMatchObject({ kind: "langgraph" });
    expect(byId.get(AGENTS)).toMatchObject({ kind: "openai-agents", checkpoints: 1 });
    expect(Number.isNaN(Date.parse((byId.get(RUN) as { createdAt: string }).createdAt))).toBe(false);
  });

  it("pages by prefix and after", async () => {
    const first = await api.get("/api/sessions?prefix=page%2F&limit=5");
    expect(first.body.sessions.map((s: { id: string }) => s.id)).toEqual(["page/00", "page/01", "page/02", "page/03", "page/04"]);
    expect(first.body.next).toBe("page/04");
    const second = await api.get(`/api/sessions?prefix=page%2F&limit=5&after=${enc(first.body.next)}`);
    expect(second.body.sessions.map((s: { id: string }) => s.id)).toEqual(["page/05", "page/06", "page/07", "page/08", "page/09"]);
    const last = await api.get(`/api/sessions?prefix=page%2F&limit=5&after=${enc(second.body.next)}`);
    expect(last.body.sessions.map((s: { id: string }) => s.id)).toEqual(["page/10", "page/11"]);
    expect(last.body.next).toBeNull();
    // Exactly a page's worth left: no next.
    const exact = await api.get("/api/sessions?prefix=page%2F1&limit=2");
    expect(exact.body.sessions.map((s: { id: string }) => s.id)).toEqual(["page/10", "page/11"]);
    expect(exact.body.next).toBeNull();
    // after below the prefix starts at the prefix; after past it is empty.
    expect((await api.get("/api/sessions?prefix=page%2F&limit=1&after=a")).body.sessions[0].id).toBe("page/00");
    expect((await api.get("/api/sessions?prefix=page%2F&after=page%2F99")).body.sessions).toEqual([]);
  });

  it("refuses bad parameters with 400 and the error code", async () => {
    for (const query of ["limit=0", "limit=501", "limit=abc", "limit=1.5"]) {
      const { status, body } = await api.get(`/api/sessions?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code, query).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("GET /api/sessions/<id>/timeline", () => {
  it("gives each checkpoint's added, reachable and logical bytes", async () => {
    const { status, body } = await api.get(`/api/sessions/${enc(RUN)}/timeline`);
    expect(status).toBe(200);
    expect(body.session).toBe(RUN);
    expect(body.head).toBe(4);
    expect(body.next).toBeNull();
    expect(body.rows.map((r: { seq: number }) => r.seq)).toEqual([4, 3, 2, 1]);
    const [, , second, first] = body.rows;
    expect(first).toMatchObject({ seq: 1, turn: 1, label: "first", ref: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The first checkpoint added all it reaches: exactly what a session holding only its state reaches.
    const solo = await api.store.du({ session: "solo", top: 0 });
    expect(first.reachableBytes).toBe(solo.sessions[0]!.reachableBytes);
    expect(first.addedBytes).toBe(first.reachableBytes);
    // The second shares the large tool output: it adds little and reaches a lot.
    expect(second.reachableBytes).toBeGreaterThan(100_000);
    expect(second.addedBytes).toBeLessThan(2_000);
    expect(second.addedBytes).toBeGreaterThan(0);
    expect(second.logicalBytes).toBeGreaterThanOrEqual(BIG.length);
    expect(second.logicalBytes).toBeLessThan(BIG.length + 2_000);
  });

  it("pages back with before, and a page's oldest row is measured against the row before it", async () => {
    const whole = (await api.get(`/api/sessions/${enc(RUN)}/timeline`)).body.rows;
    const first = await api.get(`/api/sessions/${enc(RUN)}/timeline?limit=2`);
    expect(first.body.rows.map((r: { seq: number }) => r.seq)).toEqual([4, 3]);
    expect(first.body.next).toBe(3);
    expect(first.body.rows).toEqual(whole.slice(0, 2));
    const second = await api.get(`/api/sessions/${enc(RUN)}/timeline?limit=2&before=3`);
    expect(second.body.rows).toEqual(whole.slice(2));
    expect(second.body.next).toBeNull();
  });

  it("shows forks both ways", async () => {
    const source = await api.get(`/api/sessions/${enc(RUN)}/timeline?limit=1`);
    expect(source.body.forkedFrom).toBeNull();
    expect(source.body.forks).toEqual([{ session: FORK, at: 2 }]);
    const fork = await api.get(`/api/sessions/${enc(FORK)}/timeline`);
    expect(fork.body.forkedFrom).toEqual({ session: RUN, at: 2 });
    expect(fork.body.forks).toEqual([]);
    // The fork's history is the source's up to the branch point, figures and all.
    const sourceRows = (await rows(RUN)).filter((r) => r.seq <= 2);
    expect(fork.body.rows).toEqual(sourceRows);
  });

  it("answers 404 for a missing session and 400 for bad parameters", async () => {
    const missing = await api.get(`/api/sessions/${enc("no/such")}/timeline`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    for (const query of ["limit=0", "limit=1001", "before=0", "before=x"]) {
      const { status, body } = await api.get(`/api/sessions/${enc(RUN)}/timeline?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code, query).toBe("INVALID_ARGUMENT");
    }
  });
});

/** The timeline rows of a session, newest first. */
async function rows(session: string): Promise<Array<{ seq: number; ref: string; label: string | null }>> {
  return (await api.get(`/api/sessions/${enc(session)}/timeline`)).body.rows;
}

describe("GET /api/checkpoints/<ref>", () => {
  it("renders every cairn value per the contract", async () => {
    const [, third] = await rows(RUN);
    const { status, body } = await api.get(`/api/checkpoints/${third!.ref}?session=${enc(RUN)}&seq=3`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ref: third!.ref, session: RUN, seq: 3, turn: 3, label: null, format: null, conversation: null, pluginRevision: null });
    expect(body.parent).toEqual({ seq: 2, ref: (await rows(RUN))[2]!.ref });
    expect(body.next).toEqual({ seq: 4, ref: (await rows(RUN))[0]!.ref });
    expect(Object.keys(body.slots).sort()).toEqual(["data", "tool"]);
    expect(body.slots.data).toEqual({ ref: expect.stringMatching(/^[0-9a-f]{64}$/), kind: "snapshot", size: expect.any(Number), storedSize: expect.any(Number) });
    const data = body.state.data;
    expect(data.report).toEqual({ $: "string", length: REPORT.length, preview: REPORT.slice(0, 500), path: "/report" });
    expect(data.bytes).toEqual({ $: "bytes", length: 100, preview: Buffer.from(BYTES.subarray(0, 64)).toString("hex"), path: "/bytes" });
    expect(data.when).toEqual({ $: "date", iso: "2024-01-02T03:04:05.000Z" });
    expect(data.big).toEqual({ $: "bigint", value: "12345678901234567890" });
    expect(data.nothing).toEqual({ $: "undefined" });
    expect(data.nan).toEqual({ $: "number", value: "NaN" });
    expect(data.low).toEqual({ $: "number", value: "-Infinity" });
    expect(data.dollar).toEqual({ $: "object", value: { $: "not a tag", x: 1 } });
    expect(data.plain).toEqual({ a: [1, "b", null, true] });
    expect(data.items).toHaveLength(201);
    expect(data.items.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(data.items[200]).toEqual({ $: "more", count: 50, path: "/items" });
    expect(data.map.$).toBe("map");
    expect(new Map(data.map.entries.map(([k, v]: [unknown, unknown]) => [JSON.stringify(k), v]))).toEqual(
      new Map<string, unknown>([
        ['"k"', 1],
        ["2", "two"],
      ]),
    );
    expect(data.set.$).toBe("set");
    expect([...data.set.values].sort()).toEqual([1, "a"].sort());
    // The large tool output is moved out in the store; the page gets a preview of it.
    expect(body.state.tool.output).toEqual({ $: "string", length: BIG.length, preview: BIG.slice(0, 500), path: "/output" });
  });

  it("reads a checkpoint by ref alone, and refuses a seq that is not that ref", async () => {
    const [, , second] = await rows(RUN);
    const alone = await api.get(`/api/checkpoints/${second!.ref}`);
    expect(alone.status).toBe(200);
    expect(alone.body).toMatchObject({ session: null, seq: null, label: null, createdAt: null, parent: null, next: null, turn: 2 });
    const mismatch = await api.get(`/api/checkpoints/${second!.ref}?session=${enc(RUN)}&seq=1`);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.code).toBe("INVALID_ARGUMENT");
    const bad = await api.get(`/api/checkpoints/${"x".repeat(64)}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_REF");
    const missing = await api.get(`/api/checkpoints/${"0".repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    const half = await api.get(`/api/checkpoints/${second!.ref}?session=${enc(RUN)}`);
    expect(half.status).toBe(400);
  });

  it("gives a LangGraph checkpoint's conversation through the saver", async () => {
    const [head] = await rows(LANGGRAPH);
    const { status, body } = await api.get(`/api/checkpoints/${head!.ref}?session=${enc(LANGGRAPH)}&seq=${head!.seq}`);
    expect(status).toBe(200);
    expect(body.format).toBe("langgraph");
    expect(body.label).toBe(head!.label);
    expect(body.conversation).toEqual([
      { role: "user", content: "what is the answer?" },
      { role: "assistant", content: "let me look", toolCalls: [{ id: "call_1", name: "lookup", arguments: JSON.stringify({ q: "answer" }) }] },
      { role: "tool", content: "42", name: "lookup", toolCallId: "call_1" },
      { role: "assistant", content: "the answer is 42" },
    ]);
    // Earlier checkpoints of the thread hold the conversation as it was then; the input checkpoint has none.
    const all = await rows(LANGGRAPH);
    const earliest = all.at(-1)!;
    const early = await api.get(`/api/checkpoints/${earliest.ref}?session=${enc(LANGGRAPH)}&seq=${earliest.seq}`);
    expect(early.body.format).toBe("langgraph");
    expect(early.body.conversation).toBeNull();
    const second = all.at(-2)!;
    const asked = await api.get(`/api/checkpoints/${second.ref}?session=${enc(LANGGRAPH)}&seq=${second.seq}`);
    expect(asked.body.conversation).toEqual([{ role: "user", content: "what is the answer?" }]);
  });

  it("gives an OpenAI Agents session's conversation from its items", async () => {
    const [head] = await rows(AGENTS);
    const { body } = await api.get(`/api/checkpoints/${head!.ref}?session=${enc(AGENTS)}&seq=${head!.seq}`);
    expect(body.format).toBe("openai-agents");
    expect(body.conversation).toEqual([
      { role: "user", content: "weather in Paris?" },
      { role: "assistant", content: "", toolCalls: [{ id: "fc_1", name: "weather", arguments: '{"city":"Paris"}' }] },
      { role: "tool", content: "sunny", toolCallId: "fc_1", name: "weather" },
      { role: "assistant", content: "It is sunny." },
    ]);
    // By ref alone, the checkpoint's format meta still says what it is.
    expect((await api.get(`/api/checkpoints/${head!.ref}`)).body.format).toBe("openai-agents");
  });
});

describe("GET /api/checkpoints/<ref>/value", () => {
  it("returns a long string whole, bytes as full hex, and nodes inside Maps", async () => {
    const [, third] = await rows(RUN);
    const ref = third!.ref;
    const report = await api.get(`/api/checkpoints/${ref}/value?slot=data&path=${enc("/report")}`);
    expect(report.status).toBe(200);
    expect(report.body.value).toBe(REPORT);
    const bytes = await api.get(`/api/checkpoints/${ref}/value?slot=data&path=${enc("/bytes")}`);
    expect(bytes.body.value).toEqual({ $: "bytes", length: 100, hex: Buffer.from(BYTES).toString("hex") });
    const output = await api.get(`/api/checkpoints/${ref}/value?slot=tool&path=${enc("/output")}`);
    expect(output.body.value).toBe(BIG);
    const map = (await api.get(`/api/checkpoints/${ref}?session=${enc(RUN)}&seq=3`)).body.state.data.map.entries as Array<[unknown, unknown]>;
    const index = map.findIndex(([k]) => k === "k");
    const inMap = await api.get(`/api/checkpoints/${ref}/value?slot=data&path=${enc(`/map/${index}/1`)}`);
    expect(inMap.body.value).toBe(1);
    const item = await api.get(`/api/checkpoints/${ref}/value?slot=data&path=${enc("/items/249")}`);
    expect(item.body.value).toBe(249);
    const whole = await api.get(`/api/checkpoints/${ref}/value?slot=data&path=`);
    expect(whole.body.value.report).toMatchObject({ $: "string", path: "/report" });
  });

  it("answers 404 for a missing slot or path and 400 for a malformed pointer", async () => {
    const [, third] = await rows(RUN);
    const ref = third!.ref;
    expect((await api.get(`/api/checkpoints/${ref}/value?slot=nope&path=`)).status).toBe(404);
    expect((await api.get(`/api/checkpoints/${ref}/value?slot=data&path=${enc("/items/250")}`)).status).toBe(404);
    expect((await api.get(`/api/checkpoints/${ref}/value?slot=data&path=${enc("/missing")}`)).status).toBe(404);
    const malformed = await api.get(`/api/checkpoints/${ref}/value?slot=data&path=report`);
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("INVALID_ARGUMENT");
    expect((await api.get(`/api/checkpoints/${ref}/value?path=`)).status).toBe(400);
  });
});

describe("GET /api/blobs/<ref>/raw", () => {
  it("sends the logical bytes", async () => {
    const response = await fetch(`${api.server.origin}/api/blobs/${rawRef}/raw`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(rawBytes))).toBe(true);
    expect((await api.get(`/api/blobs/${"0".repeat(64)}/raw`)).status).toBe(404);
    expect((await api.get(`/api/blobs/nope/raw`)).status).toBe(400);
  });
});

describe("GET /api/diff", () => {
  it("diffs two checkpoints: ops per changed slot, a line diff for a long replaced string, unchanged slots without ops", async () => {
    const [fourth, third] = await rows(RUN);
    const { status, body } = await api.get(`/api/diff?a=${third!.ref}&b=${fourth!.ref}`);
    expect(status).toBe(200);
    expect(body.a).toEqual({ ref: third!.ref, turn: 3, label: null });
    expect(body.b).toEqual({ ref: fourth!.ref, turn: 4, label: null });
    expect(body.turn).toEqual({ from: 3, to: 4 });
    const tool = body.slots.find((s: { name: string }) => s.name === "tool");
    expect(tool).toEqual({ name: "tool", status: "unchanged" });
    const data = body.slots.find((s: { name: string }) => s.name === "data");
    expect(data.status).toBe("changed");
    expect(data.ops).toEqual([
      { op: "replace", path: "/report", value: { $: "string", length: REPORT_CHANGED.length, preview: REPORT_CHANGED.slice(0, 500), path: "/report" }, old: { $: "string", length: REPORT.length, preview: REPORT.slice(0, 500), path: "/report" } },
    ]);
    expect(data.lineDiffs).toHaveLength(1);
    const lineDiff = data.lineDiffs[0];
    expect(lineDiff.path).toBe("/report");
    expect(lineDiff.complete).toBe(true);
    expect(lineDiff.hunks).toContainEqual({ kind: "del", lines: ["line 50 of the report"] });
    expect(lineDiff.hunks).toContainEqual({ kind: "add", lines: ["line 50 CHANGED"] });
    expect(lineDiff.hunks[0]).toEqual({ kind: "same", lines: ["line 47 of the report", "line 48 of the report", "line 49 of the report"] });
  });

  it("shows small changes as ops with values, added slots whole, and refuses bad refs", async () => {
    const [, third, second, first] = await rows(RUN);
    const small = await api.get(`/api/diff?a=${first!.ref}&b=${second!.ref}`);
    const tool = small.body.slots.find((s: { name: string }) => s.name === "tool");
    expect(tool.ops).toEqual([{ op: "add", path: "/note", value: "second" }]);
    expect(tool.lineDiffs).toEqual([]);
    const execution = small.body.slots.find((s: { name: string }) => s.name === "execution");
    expect(execution.ops).toEqual([{ op: "replace", path: "/step", value: 2, old: 1 }]);
    const added = await api.get(`/api/diff?a=${second!.ref}&b=${third!.ref}`);
    const data = added.body.slots.find((s: { name: string }) => s.name === "data");
    expect(data.status).toBe("added");
    expect(data.ops[0]).toMatchObject({ op: "add", path: "" });
    expect(data.ops[0].value.big).toEqual({ $: "bigint", value: "12345678901234567890" });
    expect(added.body.slots.find((s: { name: string }) => s.name === "execution")).toMatchObject({ status: "removed" });
    const bad = await api.get(`/api/diff?a=${first!.ref}&b=xyz`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_REF");
    const notCheckpoint = await api.get(`/api/diff?a=${first!.ref}&b=${rawRef}`);
    expect(notCheckpoint.status).toBe(500);
    expect(notCheckpoint.body.error.code).toBe("INTEGRITY");
  });
});

describe("GET /api/store and verify", () => {
  it("gives stats, totals and the largest blobs", async () => {
    const { status, body } = await api.get("/api/store");
    expect(status).toBe(200);
    const du = await api.store.du({ top: 20, limit: 1 });
    expect(body.usage.totals).toEqual(du.totals);
    expect(body.usage.largest[0].storedBytes).toBe(du.largest[0]!.storedBytes);
    expect(body.usage.largest[0].storedBytes).toBeGreaterThan(100_000);
    expect(body.stats).toEqual(JSON.parse(JSON.stringify(await api.store.stats())));
  });

  it("runs verify in the background (allowed read-only) and reports it", async () => {
    const start = await api.send("POST", "/api/verify", {});
    expect(start).toEqual({ status: 200, body: { started: true } });
    let state = (await api.get("/api/verify")).body;
    for (let i = 0; state.running && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      state = (await api.get("/api/verify")).body;
    }
    expect(state.running).toBe(false);
    expect(state.report.ok).toBe(true);
    expect(state.report.counts.sessions).toBeGreaterThan(10);
    expect(state.done).toBe(state.total);
    expect(Date.parse(state.finishedAt)).toBeGreaterThanOrEqual(Date.parse(state.startedAt));
  });
});

describe("pages and unknown routes", () => {
  it("serves the app's page for app routes and 404 JSON for unknown API routes", async () => {
    for (const path of ["/", "/sessions?prefix=a", `/s/${enc(RUN)}`, `/s/${enc(RUN)}/3/diff`, "/store"]) {
      const response = await fetch(api.server.origin + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(await response.text(), path).toContain('<div id="app"></div>');
    }
    const unknown = await api.get("/api/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("NOT_FOUND");
  });
});
