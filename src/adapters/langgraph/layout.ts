/**
 * Where the LangGraph saver keeps things in cairn: session ids, slot names, the
 * shapes of the values and history metadata it writes. Reads by label and by
 * session-id range go through the storage floor's extension point
 * (src/storage/labelled-history-storage.ts).
 */
import { createHash } from "node:crypto";
import type { ChannelVersions } from "@langchain/langgraph-checkpoint";
import { CairnError, describe } from "../../errors.js";
import type { Serialized } from "./codec.js";

/** A channel version as LangGraph has them. */
export type ChannelVersion = number | string;

/** The cairn session id limit. */
const MAX_SESSION_ID = 512;
/**
 * Channel values whose serialized form has at most this many characters (or
 * bytes) are kept in the checkpoint's manifest, not in a slot of their own: a
 * blob per small channel (counters, routing flags) would cost more to write and
 * read than it could ever save by being shared.
 */
export const INLINE_CHARS = 512;

/** The cairn label limit (a checkpoint id is a label). */
export const MAX_CHECKPOINT_ID = 1024;

/** One LangGraph thread namespace: the unit a cairn session holds. */
export interface Target {
  readonly thread: string;
  readonly ns: string;
}

/**
 * A checkpoint's own fields (everything but the channel values): the `meta` of
 * its cairn manifest, so reading the manifest reads them, and the manifest's ref
 * names the whole LangGraph checkpoint.
 */
export interface OwnFields {
  readonly v: number;
  readonly ts: string;
  readonly channel_versions: ChannelVersions;
  readonly versions_seen: Record<string, ChannelVersions>;
  /** For each channel with a value: the version of the value stored (in its slot, or inline). */
  readonly stored: Record<string, ChannelVersion>;
  /** Values small enough to keep here rather than in a slot (see INLINE_CHARS), by channel. */
  readonly inline?: Record<string, Serialized>;
  /** Any other checkpoint field, through the serde. */
  readonly extra?: Serialized;
}

/** The `meta` of a checkpoint's history row: what `list()` filters on without reading a blob. */
export interface CheckpointRowMeta {
  readonly parent: string | null;
  readonly metadata: Serialized;
}

/** The manifest `meta` of one `putWrites` call. */
export interface WritesMeta {
  readonly task: string;
  readonly path: string;
  /** Per write, in slot order (`w0`, `w1`, ...): its channel and its index (negative for special channels). */
  readonly writes: Array<[channel: string, idx: number]>;
}

/** Session ids of one saver: `<prefix>/c/<json [thread, ns]>` for checkpoints, `<prefix>/w/...` for pending writes. */
export class SessionIds {
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The checkpoints session of `target`. */
  checkpoints(target: Target): string {
    return this.#id("c", target);
  }

  /** The pending-writes session of `target`. */
  writes(target: Target): string {
    return this.#id("w", target);
  }

  /**
   * The half-open range [lo, hi) of session ids of `kind` for `thread`, or for
   * every thread. Ids compare as SQLite compares text (UTF-8 bytes); JSON
   * escaping makes `[<json thread>,` a prefix of exactly that thread's ids.
   */
  range(kind: "c" | "w", thread?: string): [string, string] {
    const lo = thread === undefined ? `${this.#prefix}/${kind}/[` : `${this.#prefix}/${kind}/[${JSON.stringify(thread)},`;
    // Both possible last characters, "[" and ",", are ASCII: the next code point bounds the prefix.
    const hi = lo.slice(0, -1) + String.fromCharCode(lo.charCodeAt(lo.length - 1) + 1);
    return [lo, hi];
  }

  /** The target a session id of `kind` names, or undefined for any other id. */
  parse(kind: "c" | "w", id: string): Target | undefined {
    const head = `${this.#prefix}/${kind}/`;
    if (!id.startsWith(head)) return undefined;
    try {
      const parsed = JSON.parse(id.slice(head.length)) as unknown;
      if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string") {
        return { thread: parsed[0], ns: parsed[1] };
      }
    } catch {
      // not one of ours
    }
    return undefined;
  }

  #id(kind: "c" | "w", target: Target): string {
    const id = `${this.#prefix}/${kind}/${JSON.stringify([target.thread, target.ns])}`;
    if (id.length > MAX_SESSION_ID) {
      throw new CairnError(
        "INVALID_ARGUMENT",
        `thread_id and checkpoint_ns are too long: together they must fit a ${MAX_SESSION_ID}-character cairn session id (got ${id.length})`,
        { argument: "thread_id", limit: MAX_SESSION_ID, actual: id.length },
      );
    }
    return id;
  }
}

/** Longest value slot name: room for `pg:<page>:` or `el:<index>:` in front within cairn's 128-character slot names. */
const MAX_VALUE_SLOT = 116;

/** The slot of a channel's value: `ch:<name>`, or `ch#<sha-256 of name>` for long names. */
export function channelSlot(channel: string): string {
  const direct = `ch:${channel}`;
  return direct.length <= MAX_VALUE_SLOT ? direct : `ch#${createHash("sha256").update(channel).digest("hex")}`;
}

/** The slot of the `i`-th write of a `putWrites` call. */
export function writeSlot(i: number): string {
  return `w${i}`;
}

/** The slot of page `page` of the list stored in slot `valueSlot`. */
export function pageSlot(valueSlot: string, page: number): string {
  return `pg:${page}:${valueSlot}`;
}

/** The slot of the large element at `index` of the tail of the list stored in slot `valueSlot`. */
export function elementSlot(valueSlot: string, index: number): string {
  return `el:${index}:${valueSlot}`;
}

/** The page and element slots (name and ref) among `slots` that belong to the list in `valueSlot`. */
export function partSlotsOf<T>(slots: Readonly<Record<string, T>>, valueSlot: string): Array<[string, T]> {
  const out: Array<[string, T]> = [];
  for (const [name, ref] of Object.entries(slots)) {
    if (!name.startsWith("pg:") && !name.startsWith("el:")) continue;
    const colon = name.indexOf(":", 3);
    if (colon > 3 && name.slice(colon + 1) === valueSlot && /^\d+$/.test(name.slice(3, colon))) out.push([name, ref]);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSerialized(value: unknown): value is Serialized {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && (typeof value[1] === "string" || value[1] instanceof Uint8Array);
}

function notOurs(what: string, value: unknown): CairnError {
  return new CairnError("INTEGRITY", `not a LangGraph ${what} written by CairnSaver: ${describe(value)}`, {});
}

/** Checks the own-fields value read from a checkpoint. @throws CairnError INTEGRITY. */
export function parseOwnFields(value: unknown): OwnFields {
  if (!isRecord(value) || !isRecord(value.channel_versions) || !isRecord(value.versions_seen) || !isRecord(value.stored)) {
    throw notOurs("checkpoint", value);
  }
  if (value.extra !== undefined && !isSerialized(value.extra)) throw notOurs("checkpoint", value);
  if (value.inline !== undefined && (!isRecord(value.inline) || !Object.values(value.inline).every(isSerialized))) throw notOurs("checkpoint", value);
  return value as unknown as OwnFields;
}

/** Checks the meta of a checkpoint's history row. @throws CairnError INTEGRITY. */
export function parseRowMeta(value: unknown): CheckpointRowMeta {
  if (!isRecord(value) || !(value.parent === null || typeof value.parent === "string") || !isSerialized(value.metadata)) {
    throw notOurs("history row", value);
  }
  return value as unknown as CheckpointRowMeta;
}

/** Checks the manifest meta of a `putWrites` commit. @throws CairnError INTEGRITY. */
export function parseWritesMeta(value: unknown): WritesMeta {
  if (
    !isRecord(value) ||
    typeof value.task !== "string" ||
    typeof value.path !== "string" ||
    !Array.isArray(value.writes) ||
    !value.writes.every((w) => Array.isArray(w) && w.length === 2 && typeof w[0] === "string" && Number.isSafeInteger(w[1]))
  ) {
    throw notOurs("pending write", value);
  }
  return value as unknown as WritesMeta;
}
