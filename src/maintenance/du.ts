/**
 * du(): where a store's bytes are. Per session, what deleting it (and running
 * gc) would free and what it shares; for the store, how its stored bytes split
 * into what history reaches, what pins alone keep and garbage; and the largest
 * blobs with the sessions and pins that reach them. Figures come from the
 * storage floor (ctx.usage) in one read transaction; no blob bytes are read.
 */
import type { BlobContext } from "../blob/context.js";
import { Encoding, encodingName, type EncodingName } from "../blob/encoding.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { parseSessionId } from "../session/session.js";
import { PIECE_KINDS } from "./blob-rows.js";
import { optionalInt, optionsObject, since } from "./options.js";

/** Options for {@link du}. Every field is optional. */
export interface DuOptions {
  /** Only this session's figures (still exact against the rest of the store). Not with `prefix`, `limit` or `after`. */
  readonly session?: string;
  /** Only sessions whose id starts with this (case-sensitive). */
  readonly prefix?: string;
  /** How many of the largest blobs to list, 0 to 1000. Default 10; 0 skips that walk. */
  readonly top?: number;
  /** At most this many sessions, the first by id (page on with `after` set to the report's `next`). */
  readonly limit?: number;
  /** Only sessions whose id sorts after this one (as SQLite compares text: by UTF-8 bytes). */
  readonly after?: string;
}

/**
 * One session's figures. Bytes are stored bytes (`stored_size`: after
 * compression and chunk sharing) unless named logical.
 */
export interface SessionUsage {
  readonly id: string;
  /** History rows. */
  readonly checkpoints: number;
  /** When its newest history row was committed (a fork's rows keep their source's times); undefined with no history. */
  readonly lastCommitAt: Date | undefined;
  /**
   * Stored bytes of the blob rows reachable from this session's history rows
   * and from no other root (no other session's history row, no pin): what
   * deleting the session and then `gc({ grace: 0 })` frees (retention aside).
   */
  readonly exclusiveBytes: number;
  /** Stored bytes of the rows it reaches that another root also reaches. */
  readonly sharedBytes: number;
  /** exclusiveBytes + sharedBytes: every row its history reaches, each once. */
  readonly reachableBytes: number;
  /** Logical sizes of the exclusive blobs (chunk pieces not counted: a chunked blob's size counts once, whole). */
  readonly exclusiveLogicalBytes: number;
  readonly sharedLogicalBytes: number;
  readonly reachableLogicalBytes: number;
  /** Rows (chunks and list nodes included) that are exclusive, and shared. */
  readonly exclusiveBlobs: number;
  readonly sharedBlobs: number;
}

/**
 * Whole-store figures, always over the whole store. Every blob row is in exactly
 * one of three classes: `storedBytes = historyBytes + pinnedOnlyBytes + garbageBytes`.
 */
export interface UsageTotals {
  /** Sessions in the store, and those matching `session` or `prefix` (paging aside). */
  readonly sessions: number;
  readonly matchedSessions: number;
  /** History rows in the store. */
  readonly checkpoints: number;
  readonly pins: number;
  /** Blob rows. */
  readonly blobs: number;
  /** Σ `stored_size` of every row. */
  readonly storedBytes: number;
  /** Σ `size` of every row that is not a chunk piece (as `stats().logicalBytes`). */
  readonly logicalBytes: number;
  /** Stored bytes of the rows some history row reaches. */
  readonly historyBytes: number;
  /** Stored bytes of the rows pins reach and no history row does: what unpinning everything would let gc take. */
  readonly pinnedOnlyBytes: number;
  /** Stored bytes and rows no root reaches: what `gc({ grace: 0 })` deletes now (retention aside; a default gc keeps the ones younger than its grace). */
  readonly garbageBytes: number;
  readonly garbageBlobs: number;
}

/** One of the largest blobs (never a chunk piece on its own: a chunked blob counts with its tree). */
export interface LargeBlob {
  readonly ref: Ref;
  readonly kind: string;
  readonly encoding: EncodingName;
  /** Its logical size. */
  readonly logicalBytes: number;
  /**
   * Stored bytes of its row and, for a chunked blob, of every distinct chunk and
   * list node of its tree: pieces it shares with another blob count in both.
   */
  readonly storedBytes: number;
  /** Sessions whose history reaches it: the first 10 by id, and how many in all. */
  readonly sessions: readonly string[];
  readonly sessionCount: number;
  /** Pins that reach it: the first 10 by name, and how many in all. None of either: garbage. */
  readonly pins: readonly string[];
  readonly pinCount: number;
}

/** What {@link du} returns. */
export interface DuReport {
  /** The sessions asked for, by id. */
  readonly sessions: readonly SessionUsage[];
  /** With `limit`: the id to pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
  readonly totals: UsageTotals;
  /**
   * The `top` largest blobs by stored size (ties by ref), among the blobs the
   * chosen sessions reach when `session` or `prefix` is given, else among every
   * blob in the store (garbage and pinned blobs included).
   */
  readonly largest: readonly LargeBlob[];
  readonly timings: { readonly total: number };
}

/** Sessions and pins named per large blob. */
const REACHERS_PER_BLOB = 10;
const DEFAULT_TOP = 10;
const MAX_TOP = 1000;

/**
 * Where the bytes are: per session (exclusive, shared and reachable bytes,
 * checkpoints, last commit), whole-store totals, and the largest blobs with who
 * reaches them. Sessions come by id; `limit` and `after` page through them.
 *
 * Guarantee: read-only and consistent: one read transaction, so every figure
 * (a session's, the totals, the largest) describes the same state of the store,
 * and a session's exclusive bytes are exactly what deleting it and then running
 * `gc({ grace: 0 })` would free beyond `totals.garbageBytes`. Reads no blob bytes.
 * Options are checked before anything is read.
 * @throws CairnError INVALID_ARGUMENT (bad options), NOT_FOUND (`session` is not in the store), CLOSED, DATABASE.
 */
export async function du(ctx: BlobContext, options?: DuOptions): Promise<DuReport> {
  const started = performance.now();
  const opts = optionsObject<DuOptions>(options, "du", ["session", "prefix", "top", "limit", "after"]);
  const session = opts.session === undefined ? undefined : parseSessionId(opts.session, "session");
  const prefix = opts.prefix === undefined ? undefined : parseSessionId(opts.prefix, "prefix");
  const after = opts.after === undefined ? undefined : parseSessionId(opts.after, "after");
  const top = optionalInt("top", opts.top, 0, MAX_TOP) ?? DEFAULT_TOP;
  const limit = optionalInt("limit", opts.limit, 1);
  if (session !== undefined) {
    const other = prefix !== undefined ? "prefix" : limit !== undefined ? "limit" : after !== undefined ? "after" : undefined;
    if (other !== undefined) throw new CairnError("INVALID_ARGUMENT", `du takes session or ${other}, not both`, { argument: other });
  }

  const snapshot = await ctx.usage.usage({
    session,
    prefix,
    after,
    limit,
    top,
    reachersPerBlob: REACHERS_PER_BLOB,
    pieceKinds: PIECE_KINDS,
    chunkedEncoding: Encoding.CHUNKED,
  });
  if (session !== undefined && snapshot.sessions.length === 0) {
    throw new CairnError("NOT_FOUND", `no session ${JSON.stringify(session)} in the store`, { session });
  }
  const sessions = snapshot.sessions.map(
    (s): SessionUsage => ({
      id: s.session,
      checkpoints: s.checkpoints,
      lastCommitAt: s.lastCommitAt === undefined ? undefined : new Date(s.lastCommitAt),
      exclusiveBytes: s.exclusiveBytes,
      sharedBytes: s.sharedBytes,
      reachableBytes: s.exclusiveBytes + s.sharedBytes,
      exclusiveLogicalBytes: s.exclusiveLogicalBytes,
      sharedLogicalBytes: s.sharedLogicalBytes,
      reachableLogicalBytes: s.exclusiveLogicalBytes + s.sharedLogicalBytes,
      exclusiveBlobs: s.exclusiveBlobs,
      sharedBlobs: s.sharedBlobs,
    }),
  );
  const t = snapshot.totals;
  const last = sessions.at(-1);
  return {
    sessions,
    next: limit !== undefined && last !== undefined && t.pagedSessions > sessions.length ? last.id : undefined,
    totals: {
      sessions: t.sessions,
      matchedSessions: t.matchedSessions,
      checkpoints: t.checkpoints,
      pins: t.pins,
      blobs: t.blobs,
      storedBytes: t.storedBytes,
      logicalBytes: t.logicalBytes,
      historyBytes: t.historyBytes,
      pinnedOnlyBytes: t.pinnedOnlyBytes,
      garbageBytes: t.garbageBytes,
      garbageBlobs: t.garbageBlobs,
    },
    largest: snapshot.largest.map((b) => ({
      ref: b.ref,
      kind: b.kind,
      encoding: encodingName(b.encoding),
      logicalBytes: b.size,
      storedBytes: b.storedSize,
      sessions: b.sessions,
      sessionCount: b.sessionCount,
      pins: b.pins,
      pinCount: b.pinCount,
    })),
    timings: { total: since(started) },
  };
}
