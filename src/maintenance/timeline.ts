/**
 * timeline(): a page of one session's history with what each checkpoint holds
 * on disk: the stored bytes it reaches, those it added over the previous
 * checkpoint, and the logical size of its state; where the session was forked
 * from and the sessions forked from it. Figures come from the storage floor
 * (ctx.usage) in one read transaction; no blob bytes are read.
 */
import type { BlobContext } from "../blob/context.js";
import { CairnError } from "../errors.js";
import { parseSessionId, historyEntry, type HistoryEntry } from "../session/session.js";
import { PIECE_KINDS } from "./blob-rows.js";
import { optionalInt, optionsObject, since } from "./options.js";

/** Options for {@link timeline}. Every field is optional. */
export interface TimelineOptions {
  /** Only checkpoints whose seq is below this (page back with the previous page's `next`). */
  readonly before?: number;
  /** At most this many checkpoints, 1 to 1000. Default 100. */
  readonly limit?: number;
}

/**
 * One checkpoint of a timeline: its history row and its figures. Bytes are
 * stored bytes (`stored_size`: after compression, each blob row once) unless
 * named logical.
 */
export interface TimelineEntry extends HistoryEntry {
  /** Stored bytes of every blob row the checkpoint reaches (manifest, values, moved-out strings, chunks), each once. */
  readonly reachableBytes: number;
  /**
   * Stored bytes of the rows it reaches that the session's previous checkpoint
   * (the next lower seq) does not: what this commit added to what the session
   * already held. For the session's first checkpoint, all it reaches. A row
   * shared with another session still counts here when the previous checkpoint
   * lacks it.
   */
  readonly addedBytes: number;
  /** The logical size of its state: the logical sizes of the distinct blobs it reaches that are not chunk pieces. */
  readonly logicalBytes: number;
  /** Blob rows it reaches, and of them those the previous checkpoint does not. */
  readonly reachableBlobs: number;
  readonly addedBlobs: number;
}

/** A session another one was forked from, or one forked from it, and the seq of the branch point. */
export interface ForkPoint {
  readonly session: string;
  /** The seq of the source session the fork branched at. */
  readonly at: number;
}

/** What {@link timeline} returns. */
export interface Timeline {
  readonly session: string;
  /** The seq of the session's newest checkpoint. */
  readonly head: number;
  /** The page, newest first. */
  readonly entries: readonly TimelineEntry[];
  /** The seq to pass as `before` for the next (older) page; undefined on the last page. */
  readonly next: number | undefined;
  /** Where this session was forked from; undefined for a session that is no fork (or a fork made before schema 4). */
  readonly forkedFrom: ForkPoint | undefined;
  /** Sessions forked from this one, by branch seq then id: at most the first 1,000. */
  readonly forks: readonly ForkPoint[];
  /** How many sessions were forked from this one in all. */
  readonly forkCount: number;
  readonly timings: { readonly total: number };
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const FORKS_LISTED = 1000;

/**
 * A page of `session`'s history, newest first, with each checkpoint's
 * reachable, added and logical bytes, and the session's fork relations.
 *
 * Guarantee: read-only and consistent: one read transaction, so the rows, their
 * figures, the head and the forks describe one state of the store. Reads no blob
 * bytes; the walk covers the page and the checkpoint before its oldest, so a
 * page costs the same at the start of a long history as at its end. Options
 * are checked before anything is read.
 * @throws CairnError INVALID_ARGUMENT (bad session id or options), NOT_FOUND (no such session), CLOSED, DATABASE.
 * @example
 * const t = await store.timeline("run-42", { limit: 20 });
 * for (const e of t.entries) console.log(e.seq, e.addedBytes, e.reachableBytes);
 */
export async function timeline(ctx: BlobContext, session: string, options?: TimelineOptions): Promise<Timeline> {
  const started = performance.now();
  const id = parseSessionId(session, "session");
  const opts = optionsObject<TimelineOptions>(options, "timeline", ["before", "limit"]);
  const before = optionalInt("before", opts.before, 1);
  const limit = optionalInt("limit", opts.limit, 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const snapshot = await ctx.usage.timeline({ session: id, before, limit, forksListed: FORKS_LISTED, pieceKinds: PIECE_KINDS });
  if (snapshot.session === undefined) throw new CairnError("NOT_FOUND", `no session ${JSON.stringify(id)} in the store`, { session: id });
  const entries = snapshot.rows.map(
    (row): TimelineEntry => ({
      ...historyEntry(row),
      reachableBytes: row.reachableBytes,
      addedBytes: row.addedBytes,
      logicalBytes: row.logicalBytes,
      reachableBlobs: row.reachableBlobs,
      addedBlobs: row.addedBlobs,
    }),
  );
  const s = snapshot.session;
  return {
    session: id,
    head: s.head,
    entries,
    next: snapshot.more ? entries.at(-1)?.seq : undefined,
    forkedFrom: s.forkedFrom === undefined ? undefined : { session: s.forkedFrom, at: s.forkedAt! },
    forks: snapshot.forks,
    forkCount: snapshot.forkCount,
    timings: { total: since(started) },
  };
}
