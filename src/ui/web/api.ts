/**
 * The server's JSON API (src/ui/CONTRACT.md): response types and fetch helpers.
 * Everything here comes from the store, which is untrusted: it is only ever
 * rendered as text (Preact escapes it), never as HTML.
 */
import { useEffect, useState } from "preact/hooks";

export interface Meta {
  url: string;
  backend: string;
  readOnly: boolean;
  version: string;
}

export type SessionKind = "langgraph" | "openai-agents" | "cairn";

export interface SessionRow {
  id: string;
  head: number;
  checkpoints: number;
  createdAt: string;
  updatedAt: string;
  kind: SessionKind;
  forkedFrom?: ForkLink | null;
}

export interface SessionsPage {
  sessions: SessionRow[];
  next: string | null;
  total: number | null;
}

export interface TimelineRow {
  seq: number;
  ref: string;
  turn: number;
  label: string | null;
  createdAt: string;
  addedBytes: number;
  reachableBytes: number;
  logicalBytes: number;
}

export interface ForkLink {
  session: string;
  at: number;
}

export interface Timeline {
  session: string;
  head: number;
  rows: TimelineRow[];
  next: number | null;
  forkedFrom: ForkLink | null;
  forks: ForkLink[];
  /** How many sessions were forked from this one in all (`forks` lists the first 1,000). */
  forkCount?: number;
}

export interface SlotInfo {
  ref: string;
  kind: string;
  size: number;
  storedSize: number;
}

/** JSON that can show any cairn value; see the contract's `Rendered`. */
export type Rendered = unknown;

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface Message {
  role: "user" | "assistant" | "system" | "tool" | string;
  content: string;
  name?: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

export interface SeqRef {
  seq: number;
  ref: string;
}

export interface CheckpointData {
  ref: string;
  session: string | null;
  seq: number | null;
  turn: number;
  label: string | null;
  meta: Rendered;
  /** The history row's meta (commit option), when the checkpoint is read with its session. */
  historyMeta?: Rendered;
  createdAt: string | null;
  pluginRevision: string | number | null;
  slots: Record<string, SlotInfo>;
  state: Record<string, Rendered>;
  format: "langgraph" | "openai-agents" | null;
  conversation: Message[] | null;
  /** Present when reading the conversation failed (the raw state is still there). */
  conversationError?: { code: string; message: string };
  parent: SeqRef | null;
  next: SeqRef | null;
}

export interface DiffOp {
  op: string;
  path: string;
  value?: Rendered;
  from?: string;
  old?: Rendered;
}

/** A hunk as the contract gives it, or as the store's LineHunk (lines prefixed with " ", "-", "+"). */
export interface Hunk {
  kind?: "same" | "add" | "del";
  lines: string[];
  oldStart?: number;
  newStart?: number;
}

export interface LineDiffData {
  path: string;
  hunks: Hunk[];
  complete?: boolean;
  aLength?: number;
  bLength?: number;
}

export type SlotStatus = "added" | "removed" | "changed" | "unchanged";

export interface SlotDiffData {
  name: string;
  status: SlotStatus;
  ops?: DiffOp[];
  lineDiffs?: LineDiffData[];
  aRef?: string;
  bRef?: string;
}

export interface DiffSide {
  ref: string;
  turn: number;
  label: string | null;
  session?: string | null;
  seq?: number | null;
}

export interface DiffData {
  a: DiffSide;
  b: DiffSide;
  slots: SlotDiffData[];
  turn: { from: number; to: number } | null;
  meta: { ops?: DiffOp[]; patch?: DiffOp[]; lineDiffs?: LineDiffData[] } | null;
  equal?: boolean;
}

export interface BlobTotals {
  count: number;
  logicalBytes: number;
  storedBytes: number;
}

export interface StoreStats {
  sessions: number;
  checkpoints: number;
  pins: number;
  edges: number;
  blobs: BlobTotals;
  byKind: Record<string, BlobTotals>;
  logicalBytes: number;
  storedBytes: number;
  referencedBytes: number;
  dedupRatio: number | null;
  compressionRatio: number | null;
}

export interface LargeBlob {
  ref: string;
  kind: string;
  encoding: string;
  logicalBytes: number;
  storedBytes: number;
  sessions: string[];
  sessionCount: number;
  pins: string[];
  pinCount: number;
}

export interface UsageTotals {
  sessions: number;
  checkpoints: number;
  pins: number;
  blobs: number;
  storedBytes: number;
  logicalBytes: number;
  historyBytes: number;
  pinnedOnlyBytes: number;
  garbageBytes: number;
  garbageBlobs: number;
}

export interface StoreData {
  stats: StoreStats;
  usage: { largest: LargeBlob[]; totals: UsageTotals };
}

export interface VerifyFinding {
  type: string;
  [key: string]: unknown;
}

export interface VerifyReport {
  ok: boolean;
  findings: VerifyFinding[];
  counts: Record<string, number>;
  timings: Record<string, number>;
}

export interface VerifyStatus {
  running: boolean;
  done: number;
  total: number;
  report: VerifyReport | null;
  error?: { code: string; message: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** An error answer of the API, or a failure to reach it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const TOKEN_KEY = "cairn-token";
let token: string | null = null;

/**
 * The write token: from `<meta name="cairn-token">` (the server fills it in on
 * the page opened with the printed `?token=` address), kept in this tab's
 * sessionStorage so a reload of a later page keeps it. Empty: read-only.
 */
export function writeToken(): string {
  if (token !== null) return token;
  const meta = document.querySelector<HTMLMetaElement>('meta[name="cairn-token"]')?.content.trim() ?? "";
  let kept = "";
  try {
    if (meta !== "") window.sessionStorage.setItem(TOKEN_KEY, meta);
    else kept = window.sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    // storage disabled: the meta token only
  }
  token = meta !== "" ? meta : /^[0-9a-f]{16,128}$/.test(kept) ? kept : "";
  return token;
}

/** Takes `?token=` out of the address bar (the token is kept as above), so it is not bookmarked or shared by accident. */
export function hideTokenInUrl(): void {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("token")) return;
  writeToken();
  url.searchParams.delete("token");
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof err?.code === "string" ? err.code : String(response.status);
    const message = typeof err?.message === "string" ? err.message : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, code, message);
  }
  if (body === null && text !== "null") throw new ApiError(response.status, "BAD_RESPONSE", "the server's answer is not JSON");
  return body as T;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { Accept: "application/json" }, signal, credentials: "same-origin" });
  return answer<T>(response);
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", "Content-Type": "application/json" };
  const token = writeToken();
  if (token !== "") headers["X-Cairn-Token"] = token;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body ?? {}), credentials: "same-origin" });
  return answer<T>(response);
}

/** Builds a query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

export interface Loaded<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  reload: () => void;
}

/** Fetches `path` (null: nothing) and refetches when it changes; a stale answer is dropped. */
export function useJson<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ path: string | null; data: T | null; error: Error | null }>({ path: null, data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setState((s) => (s.path === path ? s : { path, data: null, error: null }));
    getJson<T>(path, controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ path, data, error: null });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ path, data: null, error: error instanceof Error ? error : new Error(String(error)) });
      },
    );
    return () => controller.abort();
  }, [path, tick]);
  const current = state.path === path;
  return {
    data: current ? state.data : null,
    error: current ? state.error : null,
    loading: path !== null && (!current || (state.data === null && state.error === null)),
    reload: () => setTick((t) => t + 1),
  };
}
