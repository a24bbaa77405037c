/**
 * The storage floor's operations for the session stores (src/adapters/stores/):
 * the event log's rows and the usage ledger's rows. The adapters call this
 * interface and never write SQL; the libSQL implementation
 * (src/storage/libsql/libsql-session-stores.ts) holds the statements and the
 * component's own migrations (component `session-stores`, see
 * src/storage/libsql/components.ts).
 *
 * Values kept inline in rows (an event's data, a usage entry's meta) pass
 * through as encoded bytes: the floor neither encodes nor decodes them.
 */

/** The name under which the session stores' tables are versioned (their own version, apart from the core schema's). */
export const SESSION_STORES_COMPONENT = "session-stores";

/** An event to append. */
export interface NewEventRow {
  readonly type: string;
  /** Milliseconds since the epoch, as given (never used to order). */
  readonly time: number;
  /** The encoded data, or undefined. */
  readonly data: Uint8Array | undefined;
}

/** A stored event. */
export interface EventRow extends NewEventRow {
  /** Its place in its session's log: 1, 2, 3, ... with no gaps. */
  readonly seq: number;
}

/** A usage entry to record. */
export interface NewUsageRow {
  readonly source: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** The encoded meta, or undefined. */
  readonly meta: Uint8Array | undefined;
}

/** A stored usage entry. */
export interface UsageRow extends NewUsageRow {
  /** Increasing in the order entries were recorded. */
  readonly id: number;
  readonly session: string;
  /** The seq of the history row it was committed with, or undefined when recorded on its own. */
  readonly seq: number | undefined;
}

/** Which usage entries to read or sum: every given field must match. */
export interface UsageRowFilter {
  readonly session?: string;
  readonly model?: string;
  readonly source?: string;
}

/** Which usage entries to read: those matching, with an id above `after`, at most `limit`, by id. */
export interface UsageRowQuery extends UsageRowFilter {
  readonly after?: number;
  readonly limit?: number;
}

/** Sums over a set of usage entries. */
export interface UsageSums {
  readonly entries: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
}

/** What usage sums can be grouped by. */
export type UsageGroupColumn = "session" | "model" | "source";

/**
 * The session stores' rows. Every operation first brings the component's tables
 * to the version this build knows (once per store handle; a store whose tables
 * are newer is refused with SCHEMA_TOO_NEW).
 */
export interface SessionStoresStorage {
  /** Appends events to `session`'s log in one transaction, numbered by the database; returns their seqs, in order. */
  appendEvents(session: string, events: readonly NewEventRow[]): Promise<number[]>;
  /** Events of `session` with a seq above `after`, in log order, at most `limit`. */
  events(session: string, after: number, limit: number): Promise<EventRow[]>;
  /** The seq of `session`'s last event; 0 for an empty log. */
  eventHead(session: string): Promise<number>;
  /** Records usage entries of `session`, not tied to a history row, in one transaction; returns their ids, in order. */
  recordUsage(session: string, rows: readonly NewUsageRow[]): Promise<number[]>;
  /** Usage entries matching `query`, by increasing id. */
  usage(query: UsageRowQuery): Promise<UsageRow[]>;
  /** The sums over the entries matching `filter`, in one statement. */
  usageSums(filter: UsageRowFilter): Promise<UsageSums>;
  /** The sums per value of `group` over the entries matching `filter`, in one statement, by that value. */
  usageSumsBy(group: UsageGroupColumn, filter: UsageRowFilter): Promise<Map<string, UsageSums>>;
}
