/**
 * The storage floor's usage figures: where a store's bytes are (`store.du`),
 * and what each checkpoint of a session holds (`store.timeline`).
 * Maintenance (src/maintenance/du.ts) calls this interface and never writes SQL;
 * the libSQL implementation (src/storage/libsql/libsql-usage.ts) holds the
 * statements.
 *
 * Reachability follows the edges table from the roots gc keeps: every history
 * row's manifest and every pin's blob. As everywhere in the floor, callers pass
 * the kinds and encodings a figure is about (which kinds are pieces of a chunked
 * blob, which encoding is a chunk list); the floor knows rows, not their meaning.
 */
import type { Ref } from "../hash/ref.js";
import type { HistoryRow, SessionRow } from "./storage.js";

/** Which sessions a usage read reports on. Sessions are rows of the sessions table, by id. */
export interface UsageQuery {
  /** Only this session (exact id); undefined: every session (or those with `prefix`). */
  readonly session: string | undefined;
  /** Only sessions whose id starts with this (case-sensitive); undefined: no prefix. */
  readonly prefix: string | undefined;
  /** Only sessions whose id sorts after this one (paging by id). */
  readonly after: string | undefined;
  /** At most this many sessions (the first by id); undefined: all. */
  readonly limit: number | undefined;
  /** How many of the largest blobs to report (0: none, and the walk is skipped). */
  readonly top: number;
  /** At most this many sessions and pins named per large blob (each list also has its full count). */
  readonly reachersPerBlob: number;
  /** Kinds of the rows that are pieces of a chunked blob (their logical size is their blob's). */
  readonly pieceKinds: readonly string[];
  /** The encoding of a row whose data is a chunk list (its tree is counted in its stored size). */
  readonly chunkedEncoding: number;
}

/** One session's figures, exact against the whole store. Bytes are `stored_size` unless named logical. */
export interface SessionUsageRow {
  readonly session: string;
  /** History rows of the session. */
  readonly checkpoints: number;
  /** `created_at` of its newest history row (epoch ms); undefined when it has none. */
  readonly lastCommitAt: number | undefined;
  /** Rows reachable from this session's history rows and from no other root (another session's history row, a pin). */
  readonly exclusiveBlobs: number;
  readonly exclusiveBytes: number;
  /** Σ `size` of the exclusive rows that are not chunk pieces. */
  readonly exclusiveLogicalBytes: number;
  /** Rows reachable from this session's history rows and from some other root too. */
  readonly sharedBlobs: number;
  readonly sharedBytes: number;
  /** Σ `size` of the shared rows that are not chunk pieces. */
  readonly sharedLogicalBytes: number;
}

/** Whole-store figures. Every blob row is in exactly one of: reachable from history, reachable from pins only, garbage. */
export interface UsageTotalsRow {
  /** Rows of the sessions table. */
  readonly sessions: number;
  /** History rows. */
  readonly checkpoints: number;
  readonly pins: number;
  /** Blob rows, and Σ `stored_size` over them. */
  readonly blobs: number;
  readonly storedBytes: number;
  /** Σ `size` over rows that are not chunk pieces. */
  readonly logicalBytes: number;
  /** Rows reachable from some history row, and their stored bytes. */
  readonly historyBlobs: number;
  readonly historyBytes: number;
  /** Rows reachable from a pin and from no history row. */
  readonly pinnedOnlyBlobs: number;
  readonly pinnedOnlyBytes: number;
  /** Rows no root reaches. */
  readonly garbageBlobs: number;
  readonly garbageBytes: number;
  /** Sessions matching the query's session or prefix (paging aside). */
  readonly matchedSessions: number;
  /** Sessions matching it whose ids sort after the query's `after`: the page is the first `limit` of them. */
  readonly pagedSessions: number;
}

/** One of the largest blobs: a row that is not a chunk piece, with the size of its whole chunk tree. */
export interface LargeBlobRow {
  readonly ref: Ref;
  readonly kind: string;
  readonly encoding: number;
  /** The blob's logical size (`size` of its row). */
  readonly size: number;
  /** Its row's `stored_size`, plus, for a chunk list, that of every distinct chunk and list node of its tree. */
  readonly storedSize: number;
  /** Sessions whose history reaches it, the first `reachersPerBlob` by id, and how many in all. */
  readonly sessions: readonly string[];
  readonly sessionCount: number;
  /** Pins that reach it, the first `reachersPerBlob` by name, and how many in all. */
  readonly pins: readonly string[];
  readonly pinCount: number;
}

/** What one usage read returns. */
export interface UsageSnapshot {
  /** The query's sessions, by id. */
  readonly sessions: readonly SessionUsageRow[];
  readonly totals: UsageTotalsRow;
  /**
   * The `top` largest blobs by stored size (ties by ref), among the blobs the
   * query's sessions reach when it names a session or prefix, else among every row.
   */
  readonly largest: readonly LargeBlobRow[];
}

/** Which history rows of a session a timeline read reports on: the newest `limit` below `before`. */
export interface TimelineQuery {
  readonly session: string;
  /** Only rows whose seq is below this; undefined: from the head. */
  readonly before: number | undefined;
  /** At most this many rows (at least 1). */
  readonly limit: number;
  /** At most this many forks of the session listed (their count is whole). */
  readonly forksListed: number;
  /** Kinds of the rows that are pieces of a chunked blob (their logical size is their blob's). */
  readonly pieceKinds: readonly string[];
}

/**
 * One history row with the figures of what its checkpoint reaches (its
 * manifest and everything linked from it, each row once). Bytes are
 * `stored_size` unless named logical.
 */
export interface TimelineRow extends HistoryRow {
  /** Σ `stored_size` of every row the checkpoint reaches. */
  readonly reachableBytes: number;
  /**
   * Σ `stored_size` of the rows it reaches that the session's previous history
   * row (the next lower seq) does not; every row it reaches for the session's first.
   */
  readonly addedBytes: number;
  /** Σ `size` of the rows it reaches that are not chunk pieces: the logical size of the state. */
  readonly logicalBytes: number;
  /** Rows it reaches, and of them those the previous row does not. */
  readonly reachableBlobs: number;
  readonly addedBlobs: number;
}

/** What one timeline read returns. */
export interface TimelineSnapshot {
  /** The session's row; undefined when the store has no such session. */
  readonly session: SessionRow | undefined;
  /** The page, newest first. */
  readonly rows: readonly TimelineRow[];
  /** Whether the session has rows older than the page's oldest. */
  readonly more: boolean;
  /** Sessions forked from this one (schema 4 records it), by seq forked at then id: the first `forksListed`. */
  readonly forks: readonly { readonly session: string; readonly at: number }[];
  /** How many sessions were forked from this one in all. */
  readonly forkCount: number;
}

/** The storage floor's usage figures. */
export interface UsageStorage {
  /**
   * Per-session, whole-store and largest-blob figures, in one read transaction
   * (every figure describes the same state); reads no blob bytes.
   */
  usage(query: UsageQuery): Promise<UsageSnapshot>;
  /**
   * A page of a session's history with, per row, the stored bytes its
   * checkpoint reaches, those the previous row does not reach, and the logical
   * size of its state; the session's row and its forks. One read transaction;
   * reads no blob bytes. The walk covers the page's rows and the row just
   * before the page's oldest, so its cost follows the page, not the history.
   */
  timeline(query: TimelineQuery): Promise<TimelineSnapshot>;
}
