/**
 * Sessions: ordered histories of checkpoints. Commit (optionally as a
 * compare-and-swap on the head), resume from the latest, page through history,
 * fork, drop chosen checkpoints and delete.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeValue, decodeValue } from "../codec/value-codec.js";
import { CairnError, describe } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import type { BlobContext } from "../blob/context.js";
import { executeWrite } from "../blob/blob-writer.js";
import type { Checkpoint, SessionCheckpoint } from "../checkpoint/checkpoint.js";
import { dehydrate, hydrate, withPath } from "../checkpoint/dehydrate.js";
import { parseSlots } from "../checkpoint/checkpoint-store.js";
import type { CommitAddition, HistoryRow, SessionRow } from "../storage/storage.js";

/**
 * @internal Typed additions applied in the commit's transaction after its history
 * row (for session stores that record something with a checkpoint, such as a
 * usage ledger); only the storage floor turns them into SQL.
 */
export const COMMIT_EXTRA: unique symbol = Symbol.for("cairn.commitExtra") as never;

/** Options for {@link Session.commit}. */
export interface CommitOptions {
  /** @internal */
  readonly [COMMIT_EXTRA]?: readonly CommitAddition[];
  /** Commit only if the head is this sequence number (0: the session is empty); else CONFLICT. */
  readonly expectedHead?: number;
  /** A short label for the history row (not part of the checkpoint's identity). */
  readonly label?: string;
  /** Any value to keep on the history row (not part of the checkpoint's identity). */
  readonly meta?: unknown;
  /**
   * The commit's identifier (at most 2,048 characters), stored with its history
   * row: a session holds at most one row per id. Committing again with an id
   * the session has returns the first commit's `{ seq, ref }` (`replayed:
   * true`) instead of committing twice or failing with CONFLICT against itself,
   * from any process, at any later time. Give one to retry safely after an
   * error whose outcome you could not see (a runtime's turn or operation id).
   * Without it, a commit to a libSQL server gets a random id of its own, so its
   * internal retries are safe too.
   */
  readonly commitId?: string;
}

/** What a commit stored. */
export interface CommitResult {
  /** The checkpoint's ref (its manifest's). */
  readonly ref: Ref;
  /** Its sequence number in the session, from 1. */
  readonly seq: number;
  /** Blob rows (values, chunks, the manifest) this commit added; those the store had are not counted. */
  readonly blobsWritten: number;
  /** Bytes those rows hold, after compression. */
  readonly bytesWritten: number;
  /** The commit's identifier, when it has one (given, or generated for a libSQL server). */
  readonly commitId?: string;
  /** True when the commit id was committed before: `seq` and `ref` are that commit's, and nothing new was appended. */
  readonly replayed: boolean;
}

/** One row of a session's history; reading it reads no blob. */
export interface HistoryEntry {
  readonly seq: number;
  /** The checkpoint's ref (its manifest). */
  readonly ref: Ref;
  readonly turn: number;
  readonly label: string | undefined;
  readonly meta: unknown;
  readonly createdAt: Date;
  /** The commit's identifier, if it carried one (see {@link CommitOptions.commitId}). */
  readonly commitId?: string;
}

/** Options for {@link Session.history}. */
export interface HistoryOptions {
  /** At most this many rows. Default: all. */
  readonly limit?: number;
  /** Only rows with a sequence number below this one (for paging back). */
  readonly before?: number;
}

/** Options for {@link Session.fork}. */
export interface ForkOptions {
  /** Fork at this sequence number. Default: the head. */
  readonly at?: number;
}

/** Options for reading a checkpoint from a session. */
export interface ReadOptions {
  /** Decode only these slots. Default: all. */
  readonly slots?: readonly string[];
}

const MAX_ID = 512;
const MAX_LABEL = 1024;

/** Checks a session id. @throws CairnError INVALID_ARGUMENT. */
export function parseSessionId(id: unknown, what = "session id"): string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID || !id.isWellFormed()) {
    throw new CairnError("INVALID_ARGUMENT", `${what} must be a non-empty string of at most ${MAX_ID} characters, got ${describe(id)}`, { argument: what });
  }
  return id;
}

/** The longest commit id. */
const MAX_COMMIT_ID = 2048;

function parseCommitId(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_COMMIT_ID || !value.isWellFormed()) {
    throw new CairnError("INVALID_ARGUMENT", `commitId must be a non-empty string of at most ${MAX_COMMIT_ID} characters, got ${describe(value)}`, { argument: "commitId" });
  }
  return value;
}

/**
 * Whether a failed write may have been applied: a DATABASE error that is not
 * SQLite's answer to the statement (a transport failure, a server that went
 * away mid-request). SQLite's answers, SQLITE_BUSY included (which the
 * database layer already retried), left nothing applied.
 */
function isUncertain(error: unknown): boolean {
  if (!(error instanceof CairnError) || error.code !== "DATABASE") return false;
  const code = error.details.libsqlCode;
  return typeof code !== "string" || !code.startsWith("SQLITE_");
}

/** An uncertain error of a commit that carried an id, with the id in its details, so the caller can retry under it. */
function withCommitId(error: unknown, commitId: string | undefined): unknown {
  if (commitId === undefined || !isUncertain(error)) return error;
  if (!(error instanceof CairnError)) return error;
  return new CairnError(
    "DATABASE",
    `${error.message} (the commit may or may not have been applied: commit again with commitId ${JSON.stringify(commitId)} to find out, safely)`,
    { ...error.details, commitId },
    { cause: error },
  );
}

function parseSeq(value: unknown, what: string, min = 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new CairnError("INVALID_ARGUMENT", `${what} must be an integer of at least ${min}, got ${describe(value)}`, { argument: what });
  }
  return value as number;
}

/** An ordered history of checkpoints under one id. Get one with `store.session(id)`. */
export class Session {
  /** The session id. */
  readonly id: string;
  readonly #ctx: () => BlobContext;

  /** @internal Created by `store.session(id)`. */
  constructor(ctx: () => BlobContext, id: string) {
    this.#ctx = ctx;
    this.id = parseSessionId(id);
  }

  /**
   * Commits `checkpoint` as the session's next entry: its blobs the store lacks,
   * their edges, the manifest and the history row, in one transaction.
   * Guarantee: all or nothing; sequence numbers start at 1 and have no gaps
   * (unless {@link Session.dropCheckpoints} removed rows); with
   * `expectedHead`, two writers never both succeed from the same head.
   * @throws CairnError CONFLICT (details.expectedHead, details.actualHead) when
   *   `expectedHead` is not the head; INVALID_ARGUMENT, UNSUPPORTED_VALUE, NOT_FOUND,
   *   LIMIT_EXCEEDED with nothing written.
   */
  async commit(checkpoint: Checkpoint, options: CommitOptions = {}): Promise<CommitResult> {
    const ctx = this.#ctx();
    const expected = options.expectedHead === undefined ? null : parseSeq(options.expectedHead, "expectedHead", 0);
    if (options.label !== undefined && (typeof options.label !== "string" || options.label.length > MAX_LABEL)) {
      throw new CairnError("INVALID_ARGUMENT", `label must be a string of at most ${MAX_LABEL} characters`, { argument: "label" });
    }
    const given = options.commitId === undefined ? undefined : parseCommitId(options.commitId);
    const meta = options.meta === undefined ? null : withPath("/meta", () => encodeValue(options.meta));
    const { plan, ref } = dehydrate(ctx, checkpoint);
    // Where a write's outcome can be lost on the way back (a server), every commit carries an id, so a retry is safe.
    const commitId = given ?? (ctx.commitRetryMs > 0 ? randomUUID() : undefined);
    const history = { session: this.id, expectedHead: expected ?? undefined, manifest: ref, turn: checkpoint.turn, label: options.label, meta: meta ?? undefined, commitId };
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let written: Awaited<ReturnType<typeof executeWrite>>;
      try {
        written = await executeWrite(ctx, plan, { history, extra: options[COMMIT_EXTRA] });
      } catch (error) {
        // A server that failed mid-commit may have applied it: ask again under the same id, which answers either way.
        if (ctx.commitRetryMs === 0 || !isUncertain(error) || commitId === undefined || Date.now() - started >= ctx.commitRetryMs) {
          throw withCommitId(error, commitId);
        }
        await sleep(Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      const { outcome, prepared } = written;
      if (outcome.ok) return { ref, seq: outcome.seq!, blobsWritten: prepared.blobsWritten, bytesWritten: prepared.bytesWritten, ...(commitId === undefined ? {} : { commitId }), replayed: false };
      if (outcome.reason === "commit-exists") return this.#replayed(ref, commitId!);
      throw new CairnError("CONFLICT", `session ${this.id} is at head ${outcome.head}, not the expected head ${expected}; nothing was committed`, {
        session: this.id,
        expectedHead: expected,
        actualHead: outcome.head,
      });
    }
  }

  /** The result of a commit whose id the session has: that commit's, if it is the same checkpoint. */
  async #replayed(ref: Ref, commitId: string): Promise<CommitResult> {
    const row = await this.#ctx().storage.commitById(this.id, commitId);
    if (!row) throw new CairnError("NOT_FOUND", `session ${this.id}'s commit ${JSON.stringify(commitId)} vanished while it was read (the session was deleted?)`, { session: this.id, commitId });
    if (row.ref !== ref) {
      throw new CairnError(
        "CONFLICT",
        `session ${this.id} has commit id ${JSON.stringify(commitId)} already, for another checkpoint (seq ${row.seq}, ${row.ref}); nothing was committed`,
        { session: this.id, commitId, committedSeq: row.seq, committedRef: row.ref, ref },
      );
    }
    return { ref, seq: row.seq, blobsWritten: 0, bytesWritten: 0, commitId, replayed: true };
  }

  /** The sequence number of the newest checkpoint, 0 when the session is empty. Reads no blob. */
  async head(): Promise<number> {
    return this.#ctx().storage.head(this.id);
  }

  /**
   * The newest checkpoint, hydrated: the resume point after a crash. Undefined
   * when the session has no checkpoint.
   * Guarantee: a commit that returned is visible here, whole; every blob is re-hashed.
   */
  async latest(options: ReadOptions = {}): Promise<SessionCheckpoint | undefined> {
    const rows = await this.#rows({ limit: 1 });
    const row = rows[0];
    if (!row) return undefined;
    return { ...(await hydrate(this.#ctx(), row.ref, parseSlots(options))), seq: row.seq };
  }

  /**
   * The checkpoint with sequence number `seq`, hydrated.
   * @throws CairnError NOT_FOUND when the session has no such entry; INVALID_ARGUMENT.
   */
  async at(seq: number, options: ReadOptions = {}): Promise<SessionCheckpoint> {
    parseSeq(seq, "seq");
    const row = (await this.#rows({ seq }))[0];
    if (!row) throw new CairnError("NOT_FOUND", `session ${this.id} has no checkpoint ${seq}`, { session: this.id, seq });
    return { ...(await hydrate(this.#ctx(), row.ref, parseSlots(options))), seq: row.seq };
  }

  /**
   * History rows, newest first. Reads no blob: only the history table and refs.
   * Page back with `before` set to the last row's `seq`.
   */
  async history(options: HistoryOptions = {}): Promise<HistoryEntry[]> {
    const before = options.before === undefined ? undefined : parseSeq(options.before, "before");
    const limit = options.limit === undefined ? undefined : parseSeq(options.limit, "limit", 0);
    return this.#rows({ before, limit });
  }

  /**
   * A new session `newId` whose history is this one's up to `at` (default: the head).
   * Shares every blob: only history rows are copied.
   * @throws CairnError NOT_FOUND (no such entry here), CONFLICT (`newId` has history already).
   */
  async fork(newId: string, options: ForkOptions = {}): Promise<Session> {
    const target = parseSessionId(newId, "new session id");
    const at = options.at === undefined ? await this.head() : parseSeq(options.at, "at");
    if (at === 0) throw new CairnError("NOT_FOUND", `session ${this.id} has no checkpoint to fork`, { session: this.id });
    const outcome = await this.#ctx().storage.fork(this.id, target, at, Date.now());
    if (outcome === "no-such-row") throw new CairnError("NOT_FOUND", `session ${this.id} has no checkpoint ${at}`, { session: this.id, seq: at });
    if (outcome === "target-exists") throw new CairnError("CONFLICT", `session ${target} already exists`, { session: target });
    return new Session(this.#ctx, target);
  }

  /**
   * Removes the session's history. Its blobs stay until a gc finds them unreachable.
   * Returns how many checkpoints the history held (0 if the session did not exist).
   */
  async delete(): Promise<number> {
    return this.#ctx().storage.dropSession(this.id);
  }

  /**
   * Removes exactly the history rows with these sequence numbers (seqs the
   * session does not have are ignored). Dropping the head makes the newest
   * remaining row the head, so `latest()` resumes from it and the next commit
   * takes the seq after it (a dropped head's seq is given again); a session left
   * with no row is deleted, as by `delete()`. Rows kept keep their seqs, so
   * history may then have gaps. Blobs stay until a gc finds them unreachable.
   * Guarantee: one write transaction, all or nothing, and the head is always a
   * row that exists; rows committed meanwhile are kept unless named.
   * @returns How many rows were removed.
   * @throws CairnError INVALID_ARGUMENT (not an array of integers of at least 1) with nothing written; DATABASE, CLOSED.
   * @example await session.dropCheckpoints([2, 3]); // history 1, 4, 5; head still 5
   */
  async dropCheckpoints(seqs: readonly number[]): Promise<number> {
    if (!Array.isArray(seqs)) {
      throw new CairnError("INVALID_ARGUMENT", `seqs must be an array of sequence numbers, got ${describe(seqs)}`, { argument: "seqs" });
    }
    const unique = [...new Set(seqs.map((seq, i) => parseSeq(seq, `seqs[${i}]`)))];
    if (unique.length === 0) return 0;
    return this.#ctx().storage.dropHistoryRows(this.id, unique, Date.now());
  }

  /** History rows of this session, newest first, with their meta decoded. */
  async #rows(query: { seq?: number; before?: number; limit?: number }): Promise<HistoryEntry[]> {
    return (await this.#ctx().storage.historyRows(this.id, query)).map(historyEntry);
  }
}

/** @internal A stored history row as the public API gives it: its meta decoded, its time a Date. */
export function historyEntry(row: HistoryRow): HistoryEntry {
  return {
    seq: row.seq,
    ref: row.ref,
    turn: row.turn,
    label: row.label,
    meta: row.meta === undefined ? undefined : decodeValue(row.meta).value,
    createdAt: new Date(row.createdAt),
    ...(row.commitId === undefined ? {} : { commitId: row.commitId }),
  };
}

/** Summary of one session, from `store.sessions.list()`. */
export interface SessionInfo {
  readonly id: string;
  /** Sequence number of the newest checkpoint. */
  readonly head: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /**
   * Where the session was forked from ({@link Session.fork}): the source session
   * and the seq it branched at. Absent for a session that is no fork, and for
   * forks made before schema 4 (cairn 0.2), which did not record it.
   */
  readonly forkedFrom?: { readonly session: string; readonly at: number };
}

/** A session of {@link SessionList.page}: its summary and how many checkpoints its history holds. */
export interface SessionSummary extends SessionInfo {
  /** History rows (fewer than `head` when rows were dropped). */
  readonly checkpoints: number;
}

/** Options for {@link SessionList.page}. Every field is optional. */
export interface SessionPageOptions {
  /** Only sessions whose id starts with this (case-sensitive). */
  readonly prefix?: string;
  /** Only sessions whose id sorts after this one: pass the previous page's `next`. */
  readonly after?: string;
  /** At most this many sessions, 1 to 1000. Default 100. */
  readonly limit?: number;
}

/** One page of sessions, from {@link SessionList.page}. */
export interface SessionPage {
  /** The sessions, by id (as SQLite compares text: by UTF-8 bytes). */
  readonly sessions: readonly SessionSummary[];
  /** The id to pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** A stored session row as the public API gives it. */
function sessionInfo(row: SessionRow): SessionInfo {
  return {
    id: row.id,
    head: row.head,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    ...(row.forkedFrom === undefined ? {} : { forkedFrom: { session: row.forkedFrom, at: row.forkedAt! } }),
  };
}

/** The sessions of a store. */
export class SessionList {
  readonly #ctx: () => BlobContext;

  /** @internal Created by openStore. */
  constructor(ctx: () => BlobContext) {
    this.#ctx = ctx;
  }

  /** Every session with at least one checkpoint, by id. Reads no blob. */
  async list(): Promise<SessionInfo[]> {
    return (await this.#ctx().storage.sessions()).map(sessionInfo);
  }

  /**
   * One page of sessions by id, each with its checkpoint count: those whose id
   * starts with `prefix`, after `after`, at most `limit`. Page on with `after`
   * set to the returned `next`.
   *
   * Guarantee: one indexed range read of the sessions (and, per session of the
   * page, a count over its history's key): a page costs the same with 100,000
   * sessions as with ten. Reads no blob. Options are checked before anything is read.
   * @throws CairnError INVALID_ARGUMENT (an unknown option, a prefix or `after` that is
   *   not a non-empty string of at most 512 characters, a limit outside 1 to 1000), CLOSED, DATABASE.
   * @example
   * let page = await store.sessions.page({ prefix: "langgraph/", limit: 50 });
   * while (page.next) page = await store.sessions.page({ prefix: "langgraph/", after: page.next, limit: 50 });
   */
  async page(options: SessionPageOptions = {}): Promise<SessionPage> {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new CairnError("INVALID_ARGUMENT", `page takes an options object, got ${describe(options)}`, { argument: "options" });
    }
    for (const key of Object.keys(options)) {
      if (key !== "prefix" && key !== "after" && key !== "limit") {
        throw new CairnError("INVALID_ARGUMENT", `page has no option ${JSON.stringify(key)} (known: prefix, after, limit)`, { argument: key });
      }
    }
    const prefix = options.prefix === undefined ? undefined : parseSessionId(options.prefix, "prefix");
    const after = options.after === undefined ? undefined : parseSessionId(options.after, "after");
    const limit = options.limit === undefined ? DEFAULT_PAGE : parseSeq(options.limit, "limit");
    if (limit > MAX_PAGE) {
      throw new CairnError("INVALID_ARGUMENT", `limit must be an integer from 1 to ${MAX_PAGE}, got ${describe(limit)}`, { argument: "limit" });
    }
    const page = await this.#ctx().storage.sessionPage({ prefix, after, limit });
    const sessions = page.rows.map((row): SessionSummary => ({ ...sessionInfo(row), checkpoints: row.checkpoints }));
    return { sessions, next: page.more ? sessions.at(-1)?.id : undefined };
  }
}
