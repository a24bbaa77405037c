/**
 * The storage floor: the rows a store keeps (blobs and the edges between them,
 * history rows and sessions) and the one write transaction that adds them. The
 * layers above call this interface and never write SQL; the libSQL
 * implementation (src/storage/libsql/) is the only place that names a table.
 *
 * Outcomes a caller acts on (a commit whose expected head moved, a link to a
 * blob that vanished, a fork onto an existing session) come back as typed
 * results, never as database message text.
 */
import type { Ref } from "../hash/ref.js";
import type { NewUsageRow } from "./session-stores-storage.js";

/** A blob row to insert (ignored if a row with its ref exists). */
export interface NewBlobRow {
  readonly ref: Ref;
  readonly kind: string;
  /** How `data` holds the blob (see src/blob/encoding.ts). */
  readonly encoding: number;
  /** The logical size in bytes. */
  readonly size: number;
  readonly data: Uint8Array;
  /** The blobs this one links to: one edge each. Every one must be stored, or be in the same write. */
  readonly links: readonly Ref[];
}

/** A stored blob row. */
export interface BlobRow {
  readonly ref: Ref;
  readonly kind: string;
  readonly encoding: number;
  readonly size: number;
  readonly data: Uint8Array;
}

/** A stored blob row without its data. */
export interface BlobRowInfo {
  readonly kind: string;
  readonly encoding: number;
  readonly size: number;
  readonly storedSize: number;
}

/** A history row to append to a session. */
export interface NewHistoryRow {
  readonly session: string;
  /** Append only if the session's head is this sequence number (0: empty); undefined appends after any head. */
  readonly expectedHead: number | undefined;
  /** The checkpoint's manifest: stored already, or in the same write. */
  readonly manifest: Ref;
  readonly turn: number;
  readonly label: string | undefined;
  /** The encoded meta value. */
  readonly meta: Uint8Array | undefined;
  /** The commit's identifier: at most one row of the session carries it. */
  readonly commitId?: string;
}

/** A stored history row. */
export interface HistoryRow {
  readonly seq: number;
  /** Its manifest's ref. */
  readonly ref: Ref;
  readonly turn: number;
  readonly label: string | undefined;
  /** The encoded meta value. */
  readonly meta: Uint8Array | undefined;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** The identifier the commit carried, if it was stored with one. */
  readonly commitId?: string;
}

/** Which history rows of a session to read: at most `limit`, below `before`, or the one `seq`. */
export interface HistoryQuery {
  readonly seq?: number;
  readonly before?: number;
  readonly limit?: number;
}

/** A stored session. */
export interface SessionRow {
  readonly id: string;
  readonly head: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The session it was forked from (schema 4; a fork made before, or a session that is no fork, has none). */
  readonly forkedFrom?: string;
  /** The seq of `forkedFrom` it was forked at (with `forkedFrom`). */
  readonly forkedAt?: number;
}

/** Which sessions a page reads: those whose id starts with `prefix` and sorts after `after`, the first `limit` by id. */
export interface SessionPageQuery {
  /** Only ids that start with this (case-sensitive); undefined: every id. */
  readonly prefix: string | undefined;
  /** Only ids that sort after this one (as SQLite compares text: by UTF-8 bytes); undefined: from the first. */
  readonly after: string | undefined;
  /** At most this many sessions (at least 1). */
  readonly limit: number;
}

/** A session of a page, with its number of history rows. */
export interface SessionPageRow extends SessionRow {
  readonly checkpoints: number;
}

/** What {@link Storage.sessionPage} returns. */
export interface StoredSessionPage {
  /** The page's sessions, by id. */
  readonly rows: readonly SessionPageRow[];
  /** Whether sessions matching the query sort after the page's last. */
  readonly more: boolean;
}

/** One write transaction: all of it or nothing. */
export interface WriteBatch {
  readonly blobs: readonly NewBlobRow[];
  /** Stored blobs to treat as written now, so that gc's grace period protects them until they are rooted. */
  readonly touch: readonly Ref[];
  readonly history?: NewHistoryRow;
  /** The write's time, milliseconds since the epoch. */
  readonly now: number;
  /**
   * @internal Typed additions of the session stores, applied after the history
   * row (which they need) in the same transaction. Only the floor turns them into SQL.
   */
  readonly extra?: readonly CommitAddition[];
}

/**
 * @internal What a commit may carry besides its history row, applied in its transaction:
 * - `usage`: usage-ledger rows of the history row's session, each with the new row's seq;
 * - `drop-older-history`: removes the session's older history rows, keeping only the new one (keyed state).
 */
export type CommitAddition =
  | { readonly type: "usage"; readonly rows: readonly NewUsageRow[] }
  | { readonly type: "drop-older-history" };

/** @internal The former name of {@link CommitAddition} (blob/blob-writer.ts's WriteTail uses it). */
export type ExtraStatement = CommitAddition;

/** What became of a {@link WriteBatch}. Nothing was written unless `ok`. */
export type WriteOutcome =
  | { readonly ok: true; /** The appended history row's seq, if the batch had one. */ readonly seq: number | undefined }
  /** A new row links to (or the history row names) a blob that is neither stored nor in the batch. */
  | { readonly ok: false; readonly reason: "missing-link" }
  /** The session's head was not the expected one. */
  | { readonly ok: false; readonly reason: "head-moved"; readonly head: number }
  /** The session has a history row with the batch's commit id already (see {@link Storage.commitById}). */
  | { readonly ok: false; readonly reason: "commit-exists" };

/** What became of a fork. Nothing was written unless `forked`. */
export type ForkOutcome = "forked" | "no-such-row" | "target-exists";

/** The storage floor. */
export interface Storage {
  /** Which of `refs` are stored. */
  storedRefs(refs: Iterable<Ref>): Promise<Set<Ref>>;
  /** The rows of those of `refs` that are stored. */
  blobRows(refs: readonly Ref[]): Promise<Map<Ref, BlobRow>>;
  /** The row of `ref` without its data, or undefined. */
  blobRowInfo(ref: Ref): Promise<BlobRowInfo | undefined>;
  /** Runs `batch` as one transaction. */
  write(batch: WriteBatch): Promise<WriteOutcome>;
  /** The seq of the session's newest history row; 0 when it has none. */
  head(session: string): Promise<number>;
  /** History rows of `session`, newest first. */
  historyRows(session: string, query?: HistoryQuery): Promise<HistoryRow[]>;
  /** The history row of `session` that carries `commitId`, or undefined. */
  commitById(session: string, commitId: string): Promise<HistoryRow | undefined>;
  /** Every session with history, by id. */
  sessions(): Promise<SessionRow[]>;
  /**
   * One page of sessions by id (see {@link SessionPageQuery}), each with its
   * history row count: one range read of the sessions table's key, so the
   * page costs the same however many sessions the store holds.
   */
  sessionPage(query: SessionPageQuery): Promise<StoredSessionPage>;
  /** Copies the history rows of `source` up to `at` into the new session `target`, in one transaction. */
  fork(source: string, target: string, at: number, now: number): Promise<ForkOutcome>;
  /** Removes a session and its history rows; returns how many rows it had. */
  dropSession(session: string): Promise<number>;
  /**
   * Removes the history rows of `session` whose seq is one of `seqs` (others are
   * ignored), in one write transaction: the session's head becomes its newest
   * remaining row (its `updated_at` then `now`), and a session left with no row
   * is removed as by {@link Storage.dropSession}. Returns rows removed. Blobs stay.
   */
  dropHistoryRows(session: string, seqs: readonly number[], now: number): Promise<number>;
}
