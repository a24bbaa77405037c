/**
 * The ui server's JSON API (src/ui/CONTRACT.md, "API"), on the store's public
 * methods: sessions page, timeline with sizes, checkpoint with its rendered
 * state and conversation, whole values, raw blobs, diffs, store overview,
 * verify in the background, and (with --write) fork and pin.
 *
 * Bad input is a CairnError before anything is read (HTTP 400 with its code);
 * every CairnError becomes `{ error: { code, message } }` with the status of
 * its code (see {@link statusOf}).
 */
import type { Context, Hono } from "hono";
import { CairnError, isRef, type HistoryEntry, type LineDiff, type Ref, type Session, type Store, type VerifyReport } from "../../index.js";
import { agentsConversation, langgraphConversation, sessionKind, type Message } from "./conversation.js";
import { parsePointer, pointerSegment, render, renderWhole, resolvePointer, type Rendered } from "./render.js";

/** The largest blob `GET /api/blobs/<ref>/raw` sends. */
export const MAX_RAW_BYTES = 64 * 1024 * 1024;
/** The largest request body a write takes. */
const MAX_BODY = 64 * 1024;
/** A diff operation's `old` value is sent when its rendering is at most this long (JSON characters). */
const MAX_OLD_JSON = 64 * 1024;
/** Replaced strings longer than this get a line diff. */
const LINE_DIFF_ABOVE = 200;
/** The manifest meta of an OpenAI Agents session's checkpoints (src/adapters/openai-agents/session.ts). */
const AGENTS_FORMAT = "cairn.openai-agents/1";

/** What the handlers share. */
export interface ApiContext {
  readonly store: Store;
  readonly readOnly: boolean;
  readonly version: string;
}

/** The HTTP status of a CairnError code. */
export function statusOf(code: string): 400 | 403 | 404 | 409 | 413 | 500 | 503 {
  switch (code) {
    case "INVALID_ARGUMENT":
    case "INVALID_REF":
    case "UNSUPPORTED_VALUE":
      return 400;
    case "READ_ONLY":
    case "FORBIDDEN":
      return 403;
    case "NOT_FOUND":
      return 404;
    case "CONFLICT":
      return 409;
    case "LIMIT_EXCEEDED":
      return 413;
    case "CLOSED":
      return 503;
    default:
      return 500;
  }
}

/** A JSON response; bigints (never in what the API builds, but in a report's details) as decimal strings. */
export function sendJson(c: Context, value: unknown, status = 200): Response {
  const body = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return c.body(body, status as 200, { "Content-Type": "application/json; charset=utf-8" });
}

/** The error body of any thrown value: a CairnError's code and message, else INTERNAL. */
export function sendError(c: Context, error: unknown): Response {
  if (error instanceof CairnError) return sendJson(c, { error: { code: error.code, message: error.message } }, statusOf(error.code));
  const message = error instanceof Error ? error.message : String(error);
  return sendJson(c, { error: { code: "INTERNAL", message } }, 500);
}

function invalid(argument: string, message: string): CairnError {
  return new CairnError("INVALID_ARGUMENT", message, { argument });
}

/** An optional integer query parameter from `min` to `max` ("" counts as absent). @throws CairnError INVALID_ARGUMENT. */
function intParam(c: Context, name: string, min: number, max: number): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(name, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return n;
}

/** An optional string query parameter ("" counts as absent). */
function textParam(c: Context, name: string): string | undefined {
  const text = c.req.query(name);
  return text === undefined || text === "" ? undefined : text;
}

/** A ref from the path or the query. @throws CairnError INVALID_REF. */
function refParam(text: string | undefined, name: string): Ref {
  if (text === undefined || !isRef(text)) {
    throw new CairnError("INVALID_REF", `${name} must be a ref (64 lowercase hex digits), got ${JSON.stringify((text ?? "").slice(0, 80))}`, { argument: name });
  }
  return text;
}

const iso = (date: Date | undefined): string | null => (date === undefined ? null : date.toISOString());

/** The store's URL for display: credentials in a server URL's query or user info are masked. */
export function displayUrl(url: string): string {
  if (!/^(https?|wss?|libsql):/i.test(url)) return url;
  try {
    const parsed = new URL(url);
    for (const key of [...parsed.searchParams.keys()]) if (/token|auth|key|secret|password/i.test(key)) parsed.searchParams.set(key, "***");
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/\?.*$/, "");
  }
}

/**
 * The history row of `session` right after `seq` (the lowest seq above it), or
 * undefined at the head: reads of 1, 16, 256, ... seqs above `seq`, so a few
 * reads whatever rows were dropped between.
 */
async function nextRow(session: Session, seq: number): Promise<HistoryEntry | undefined> {
  const head = await session.head();
  for (let span = 1; seq < head; span *= 16) {
    const rows = await session.history({ before: seq + 1 + span, limit: span });
    const later = rows.filter((row) => row.seq > seq);
    if (later.length > 0) return later.at(-1);
    if (seq + span >= head) break;
  }
  return undefined;
}

/** A JSON request body, at most {@link MAX_BODY} bytes, that is an object. @throws CairnError INVALID_ARGUMENT, LIMIT_EXCEEDED. */
async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_BODY) throw new CairnError("LIMIT_EXCEEDED", `the request body is over ${MAX_BODY} bytes`, { limit: MAX_BODY });
  const text = await c.req.text();
  if (text.length > MAX_BODY) throw new CairnError("LIMIT_EXCEEDED", `the request body is over ${MAX_BODY} bytes`, { limit: MAX_BODY });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("body", "the request body must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("body", "the request body must be a JSON object");
  return body as Record<string, unknown>;
}

/** The state of the background verify. */
interface VerifyJob {
  running: boolean;
  done: number;
  total: number;
  report: VerifyReport | null;
  error: { code: string; message: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * Registers every /api route on `app`. Guarantee: every parameter and body is
 * checked before the store is read or written, and a refused request writes
 * nothing; only the fork and pin routes write (the access middleware lets them
 * through in write mode only).
 */
export function registerApi(app: Hono, ctx: ApiContext): void {
  const { store } = ctx;
  const verifyJob: VerifyJob = { running: false, done: 0, total: 0, report: null, error: null, startedAt: null, finishedAt: null };

  app.get("/api/meta", (c) => sendJson(c, { url: displayUrl(store.url), backend: store.backend, readOnly: ctx.readOnly, version: ctx.version }));

  app.get("/api/sessions", async (c) => {
    const limit = intParam(c, "limit", 1, 500) ?? 50;
    const prefix = textParam(c, "prefix");
    const after = textParam(c, "after");
    const page = await store.sessions.page({ limit, ...(prefix === undefined ? {} : { prefix }), ...(after === undefined ? {} : { after }) });
    return sendJson(c, {
      sessions: page.sessions.map((s) => ({
        id: s.id,
        head: s.head,
        checkpoints: s.checkpoints,
        createdAt: s.createdAt.toISOString(),
        updatedAt: s.updatedAt.toISOString(),
        kind: sessionKind(s.id),
        forkedFrom: s.forkedFrom ?? null,
      })),
      next: page.next ?? null,
      total: null,
    });
  });

  app.get("/api/sessions/:id/timeline", async (c) => {
    const before = intParam(c, "before", 1, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c, "limit", 1, 1000) ?? 100;
    const t = await store.timeline(c.req.param("id"), { limit, ...(before === undefined ? {} : { before }) });
    return sendJson(c, {
      session: t.session,
      head: t.head,
      rows: t.entries.map((e) => ({
        seq: e.seq,
        ref: e.ref,
        turn: e.turn,
        label: e.label ?? null,
        createdAt: e.createdAt.toISOString(),
        addedBytes: e.addedBytes,
        reachableBytes: e.reachableBytes,
        logicalBytes: e.logicalBytes,
      })),
      next: t.next ?? null,
      forkedFrom: t.forkedFrom ?? null,
      forks: t.forks,
      forkCount: t.forkCount,
    });
  });

  app.get("/api/checkpoints/:ref", async (c) => {
    const ref = refParam(c.req.param("ref"), "ref");
    const sessionId = textParam(c, "session");
    const seq = intParam(c, "seq", 1, Number.MAX_SAFE_INTEGER);
    if ((sessionId === undefined) !== (seq === undefined)) throw invalid(sessionId === undefined ? "session" : "seq", "session and seq are given together, or neither");
    let row: HistoryEntry | undefined;
    let parent: HistoryEntry | undefined;
    let next: HistoryEntry | undefined;
    if (sessionId !== undefined && seq !== undefined) {
      const session = store.session(sessionId);
      const rows = await session.history({ before: seq + 1, limit: 2 });
      row = rows[0];
      if (row === undefined || row.seq !== seq) throw new CairnError("NOT_FOUND", `session ${sessionId} has no checkpoint ${seq}`, { session: sessionId, seq });
      if (row.ref !== ref) throw invalid("ref", `checkpoint ${seq} of session ${sessionId} is ${row.ref}, not ${ref}`);
      parent = rows[1];
      next = await nextRow(session, seq);
    }
    const checkpoint = await store.checkpoints.get(ref);
    const slots: Record<string, { ref: Ref; kind: string; size: number; storedSize: number }> = {};
    const infos = await Promise.all(Object.entries(checkpoint.manifest.slots).map(async ([name, slotRef]) => [name, slotRef, await store.blobs.info(slotRef)] as const));
    for (const [name, slotRef, info] of infos) slots[name] = { ref: slotRef, kind: info?.kind ?? "missing", size: info?.size ?? 0, storedSize: info?.storedSize ?? 0 };
    const state: Record<string, Rendered> = {};
    for (const [name, value] of Object.entries(checkpoint.snapshots)) state[name] = render(value, "");
    const kind = sessionId === undefined ? undefined : sessionKind(sessionId);
    const meta = checkpoint.manifest.meta;
    const isAgents = kind === "openai-agents" || (kind === undefined && typeof meta === "object" && meta !== null && (meta as { format?: unknown }).format === AGENTS_FORMAT);
    const format = kind === "langgraph" ? "langgraph" : isAgents ? "openai-agents" : null;
    let conversation: Message[] | null = null;
    let conversationError: { code: string; message: string } | null = null;
    try {
      if (format === "langgraph") conversation = await langgraphConversation(store, sessionId!, row?.label);
      else if (format === "openai-agents") conversation = agentsConversation(checkpoint.snapshots.items);
    } catch (error) {
      conversationError = error instanceof CairnError ? { code: error.code, message: error.message } : { code: "INTERNAL", message: String(error) };
    }
    return sendJson(c, {
      ref,
      session: sessionId ?? null,
      seq: seq ?? null,
      turn: checkpoint.turn,
      label: row?.label ?? null,
      meta: meta === undefined ? null : render(meta, ""),
      historyMeta: row?.meta === undefined ? null : render(row.meta, ""),
      createdAt: iso(row?.createdAt),
      pluginRevision: checkpoint.pluginRevision ?? null,
      slots,
      state,
      format,
      conversation,
      ...(conversationError === null ? {} : { conversationError }),
      parent: parent === undefined ? null : { seq: parent.seq, ref: parent.ref },
      next: next === undefined ? null : { seq: next.seq, ref: next.ref },
    });
  });

  app.get("/api/checkpoints/:ref/value", async (c) => {
    const ref = refParam(c.req.param("ref"), "ref");
    const slot = textParam(c, "slot");
    if (slot === undefined) throw invalid("slot", "slot is required");
    const path = c.req.query("path") ?? "";
    parsePointer(path); // checked before anything is read
    const manifest = await store.checkpoints.manifest(ref);
    if (!Object.prototype.hasOwnProperty.call(manifest.slots, slot)) throw new CairnError("NOT_FOUND", `checkpoint ${ref} has no slot ${JSON.stringify(slot)}`, { ref, slot });
    const checkpoint = await store.checkpoints.get(ref, { slots: [slot] });
    return sendJson(c, { value: renderWhole(resolvePointer(checkpoint.snapshots[slot], path), path) });
  });

  app.get("/api/blobs/:ref/raw", async (c) => {
    const ref = refParam(c.req.param("ref"), "ref");
    const info = await store.blobs.info(ref);
    if (info === undefined) throw new CairnError("NOT_FOUND", `no blob ${ref} in the store`, { ref });
    if (info.size > MAX_RAW_BYTES) {
      throw new CairnError("LIMIT_EXCEEDED", `blob ${ref} has ${info.size} bytes; at most ${MAX_RAW_BYTES} are sent (use cairn cat)`, { ref, size: info.size, limit: MAX_RAW_BYTES });
    }
    const bytes = await store.blobs.get(ref);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": `attachment; filename="${ref}.bin"`,
    });
  });

  app.get("/api/diff", async (c) => {
    const a = refParam(textParam(c, "a"), "a");
    const b = refParam(textParam(c, "b"), "b");
    const diff = await store.diff(a, b, { lineDiffMinLength: LINE_DIFF_ABOVE + 1 });
    const [ma, mb] = await Promise.all([store.checkpoints.manifest(a), store.checkpoints.manifest(b)]);
    const slots = Object.entries(diff.slots).map(([name, slot]) => {
      const prefix = `/snapshots/${pointerSegment(name)}`;
      return {
        name,
        status: slot.status,
        ...(slot.status === "unchanged" ? {} : { ops: slot.patch.map((op) => renderOp(op, prefix)), lineDiffs: slot.lineDiffs.map((d) => diffLinesOf(d, prefix)) }),
      };
    });
    return sendJson(c, {
      a: { ref: a, turn: ma.turn, label: null },
      b: { ref: b, turn: mb.turn, label: null },
      equal: diff.equal,
      slots,
      turn: diff.turn ?? null,
      pluginRevision: diff.pluginRevision ?? null,
      meta: diff.meta === undefined ? null : { ops: diff.meta.patch.map((op) => renderOp(op, "/meta")), lineDiffs: diff.meta.lineDiffs.map((d) => diffLinesOf(d, "/meta")) },
    });
  });

  app.get("/api/store", async (c) => {
    const [stats, usage] = await Promise.all([store.stats(), store.du({ top: 20, limit: 1 })]);
    return sendJson(c, { stats, usage: { largest: usage.largest, totals: usage.totals } });
  });

  app.post("/api/verify", (c) => {
    if (!verifyJob.running) {
      Object.assign(verifyJob, { running: true, done: 0, total: 0, report: null, error: null, startedAt: new Date().toISOString(), finishedAt: null });
      store
        .verify({
          onProgress: (done, total) => {
            verifyJob.done = done;
            verifyJob.total = total;
          },
        })
        .then(
          (report) => {
            verifyJob.report = report;
            verifyJob.done = verifyJob.total;
          },
          (error: unknown) => {
            verifyJob.error = error instanceof CairnError ? { code: error.code, message: error.message } : { code: "INTERNAL", message: String(error) };
          },
        )
        .finally(() => {
          verifyJob.running = false;
          verifyJob.finishedAt = new Date().toISOString();
        });
    }
    return sendJson(c, { started: true });
  });

  app.get("/api/verify", (c) => sendJson(c, verifyJob));

  app.post("/api/sessions/:id/fork", async (c) => {
    const body = await jsonBody(c);
    const { at, newId } = body;
    if (!Number.isSafeInteger(at) || (at as number) < 1) throw invalid("at", `at must be a sequence number (an integer of at least 1)`);
    if (typeof newId !== "string") throw invalid("newId", "newId must be a string: the new session's id");
    const forked = await store.session(c.req.param("id")).fork(newId, { at: at as number });
    return sendJson(c, { session: forked.id });
  });

  app.post("/api/pins", async (c) => {
    const body = await jsonBody(c);
    const { name, ref } = body;
    if (typeof name !== "string") throw invalid("name", "name must be a string");
    const pin = await store.pin(name, refParam(typeof ref === "string" ? ref : undefined, "ref"));
    return sendJson(c, { name: pin.name, ref: pin.ref, createdAt: pin.createdAt.toISOString() });
  });

  app.all("/api/*", (c) => sendJson(c, { error: { code: "NOT_FOUND", message: `no API ${c.req.method} ${c.req.path}` } }, 404));
}

/**
 * A diff operation for the app: its path within the slot (or meta), `value`
 * rendered (paths in it as within the checkpoint diffed to), `old` rendered
 * when small (paths as within the checkpoint diffed from).
 */
function renderOp(op: { op: string; path: string; value?: unknown; old?: unknown }, prefix: string): Record<string, Rendered> {
  const path = op.path.startsWith(prefix) ? op.path.slice(prefix.length) : op.path;
  const out: Record<string, Rendered> = { op: op.op, path };
  if ("value" in op) out.value = render(op.value, path);
  if ("old" in op) {
    const old = render(op.old, path);
    if (JSON.stringify(old).length <= MAX_OLD_JSON) out.old = old;
  }
  return out;
}

/** A run of lines of a line diff: unchanged (context), added or deleted. */
interface LineRun {
  kind: "same" | "add" | "del";
  lines: string[];
}

/**
 * A line diff for the app: its path within the slot (or meta), and its hunks'
 * lines as runs of one kind each, in order (the unchanged lines between two
 * hunks are not sent, and no run spans two hunks). `complete` is false when the texts differed in
 * too many lines to diff (then there are no runs).
 */
function diffLinesOf(d: LineDiff, prefix: string): { path: string; complete: boolean; hunks: LineRun[] } {
  const runs: LineRun[] = [];
  for (const hunk of d.hunks) {
    const first = runs.length; // runs never join across hunks: the lines between them are not sent
    for (const line of hunk.lines) {
      const kind = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith(" ") ? "same" : undefined;
      if (kind === undefined) continue; // "\\ No newline at end of file"
      const last = runs.length > first ? runs.at(-1) : undefined;
      if (last?.kind === kind) last.lines.push(line.slice(1));
      else runs.push({ kind, lines: [line.slice(1)] });
    }
  }
  return { path: d.path.startsWith(prefix) ? d.path.slice(prefix.length) : d.path, complete: d.complete, hunks: runs };
}
