/**
 * Event log: append-only events per session, read back in the order they were
 * appended, page by page.
 *
 * Events are rows the storage floor keeps per session (the `session-stores`
 * component, src/storage/session-stores-storage.ts). The database gives each
 * appended event the next `seq` inside the write transaction that inserts it,
 * so the order is the order of commits:
 * never a wall clock's, which may go backwards. Writers are serialized by the
 * database, so appends from any number of connections or processes land in one
 * total order, with sequence numbers 1, 2, 3, ... and no gaps.
 *
 * An event's `data` is kept inline in its row as canonical MessagePack (up to
 * `maxDataBytes`, default 1 MiB); large payloads belong in a snapshot or keyed
 * state, where cairn deduplicates them.
 */
import { CairnError } from "../../errors.js";
import type { Store } from "../../store.js";
import { bad, checkStore, decodeInline, sessionStoresOf, encodeInline, parseInteger, parseOptions, parseText, parseTime } from "./common.js";

/** An event to append. */
export interface EventInput {
  /** What happened: a non-empty string of at most 256 characters (`message`, `tool-call`, ...). */
  readonly type: string;
  /** Any value cairn can encode; kept inline in the row. */
  readonly data?: unknown;
  /** When it happened, by the caller's clock: a Date or ms since the epoch. Default: now. Recorded, never used to order. */
  readonly time?: Date | number;
}

/** An event read back. */
export interface LoggedEvent {
  /** Its place in the log: 1, 2, 3, ... with no gaps. The log's only order. */
  readonly seq: number;
  readonly type: string;
  readonly data: unknown;
  /** The time given at append (or the append's clock), as recorded. */
  readonly time: Date;
}

/** Options for {@link EventLog.read}. */
export interface ReadEventsOptions {
  /** Only events with a `seq` above this one: pass the previous page's `cursor`. Default 0 (from the start). */
  readonly after?: number;
  /** At most this many events (1 to 10,000). Default 100. */
  readonly limit?: number;
}

/** One page of events. */
export interface EventPage {
  /** The events, in log order. */
  readonly events: LoggedEvent[];
  /** Pass as `after` to read the next page: the last event's seq (or `after` when the page is empty). */
  readonly cursor: number;
  /** Whether events after this page existed when it was read. */
  readonly hasMore: boolean;
}

/** Options for {@link EventLog}. */
export interface EventLogOptions {
  /** The largest encoded `data` of one event, in bytes. Default 1 MiB. */
  readonly maxDataBytes?: number;
}

const MAX_TYPE = 256;
const MAX_PAGE = 10_000;
const MAX_BATCH = 10_000;

/**
 * The append-only event log of one session.
 *
 * @example
 * const log = new EventLog(store, "session-1");
 * await log.append({ type: "message", data: { role: "user", content: "hi" } });
 * let cursor = 0;
 * for (;;) {
 *   const page = await log.read({ after: cursor, limit: 500 });
 *   for (const event of page.events) handle(event);
 *   cursor = page.cursor;
 *   if (!page.hasMore) break;
 * }
 */
export class EventLog {
  /** The session whose events this log holds. */
  readonly session: string;
  readonly #store: Store;
  readonly #maxDataBytes: number;

  /**
   * The event log of `session` in `store`.
   * Guarantee: writes nothing; logs of different sessions never share events or numbers.
   * @throws CairnError INVALID_ARGUMENT (not a store, bad session id or options).
   * @example const log = new EventLog(store, "session-1");
   */
  constructor(store: Store, session: string, options?: EventLogOptions) {
    this.#store = checkStore(store);
    this.session = parseText(session, "session", 512);
    const { maxDataBytes = 1024 * 1024 } = parseOptions(options);
    this.#maxDataBytes = parseInteger(maxDataBytes, "maxDataBytes", 1, 64 * 1024 * 1024);
  }

  /**
   * Appends one event at the end of the log and returns it with its `seq` (and `data` as given).
   * Guarantee: durable once returned; its `seq` is one more than the event before
   * it in the log, whoever appended that; bad input throws with nothing written.
   * @throws CairnError INVALID_ARGUMENT (bad type or time), UNSUPPORTED_VALUE,
   *   LIMIT_EXCEEDED (data over `maxDataBytes`).
   * @example const { seq } = await log.append({ type: "tool-call", data: { name: "search", args } });
   */
  async append(event: EventInput): Promise<LoggedEvent> {
    return (await this.appendMany([event]))[0]!;
  }

  /**
   * Appends events in one transaction, in the order given.
   * Guarantee: all or none; they get consecutive sequence numbers, with no other
   * writer's event between them. Every event is checked before anything is written.
   * @throws CairnError INVALID_ARGUMENT (not an array, more than 10,000, a bad
   *   event, with details.index), UNSUPPORTED_VALUE, LIMIT_EXCEEDED.
   * @example await log.appendMany([{ type: "message", data: question }, { type: "message", data: answer }]);
   */
  async appendMany(events: readonly EventInput[]): Promise<LoggedEvent[]> {
    if (!Array.isArray(events) || events.length > MAX_BATCH) throw bad("events", `an array of at most ${MAX_BATCH} events`, events);
    const now = Date.now();
    const rows = events.map((event, index) => this.#parse(event, index, now));
    if (rows.length === 0) return [];
    const seqs = await sessionStoresOf(this.#store).appendEvents(this.session, rows);
    return rows.map((row, i) => ({ seq: seqs[i]!, type: row.type, data: row.value, time: new Date(row.time) }));
  }

  /**
   * A page of events in log order, starting after `after`.
   * Guarantee: pages read with each previous page's `cursor` see every event
   * exactly once, in order, even while other writers append.
   * @throws CairnError INVALID_ARGUMENT (bad after or limit); INTEGRITY (a row that does not decode).
   * @example const { events, cursor, hasMore } = await log.read({ after: lastSeen, limit: 100 });
   */
  async read(options?: ReadEventsOptions): Promise<EventPage> {
    const { after = 0, limit = 100 } = parseOptions(options);
    const from = parseInteger(after, "after", 0);
    const count = parseInteger(limit, "limit", 1, MAX_PAGE);
    const found = await sessionStoresOf(this.#store).events(this.session, from, count + 1);
    const events = found.slice(0, count).map((row) => ({ seq: row.seq, type: row.type, time: new Date(row.time), data: decodeInline(row.data) }));
    return { events, cursor: events.length > 0 ? events[events.length - 1]!.seq : from, hasMore: found.length > count };
  }

  /**
   * The seq of the last event, 0 for an empty log. Reads one index entry.
   * Guarantee: equal to the number of events in the log, since numbers have no gaps.
   * @example const total = await log.head();
   */
  async head(): Promise<number> {
    return sessionStoresOf(this.#store).eventHead(this.session);
  }

  #parse(event: EventInput, index: number, now: number): { type: string; time: number; data: Uint8Array | undefined; value: unknown } {
    try {
      if (typeof event !== "object" || event === null || Array.isArray(event)) throw bad("event", "an object { type, data?, time? }", event);
      const type = parseText(event.type, "type", MAX_TYPE);
      const time = parseTime(event.time, "time", now);
      const data = event.data === undefined ? undefined : encodeInline(event.data, "data", this.#maxDataBytes);
      return { type, time, data, value: event.data };
    } catch (error) {
      if (error instanceof CairnError) {
        throw new CairnError(error.code, `event ${index}: ${error.message}`, { ...error.details, index }, { cause: error.cause });
      }
      throw error;
    }
  }
}
