/**
 * Usage ledger: token usage per session, recorded on its own or in the same
 * transaction as the checkpoint of the turn that consumed it, and totalled per
 * session, model or source.
 *
 * Entries are rows the storage floor keeps (the `session-stores` component,
 * src/storage/session-stores-storage.ts). An entry recorded with a commit
 * carries the commit's sequence number and is written by the commit's own
 * transaction (a typed `usage` addition, after its history row), so a commit
 * that fails, for instance with CONFLICT, leaves no entry, and a committed turn
 * never lacks its usage. Totals are computed by the database over indexed rows.
 */
import { CairnError } from "../../errors.js";
import type { NewUsageRow, UsageRowFilter, UsageSums } from "../../storage/session-stores-storage.js";
import type { Checkpoint } from "../../checkpoint/checkpoint.js";
import { COMMIT_EXTRA, Session, type CommitOptions, type CommitResult } from "../../session/session.js";
import type { Store } from "../../store.js";
import { bad, checkStore, decodeInline, sessionStoresOf, encodeInline, parseInteger, parseOptions, parseText, parseTime } from "./common.js";

/** Token usage to record: what one call to a model consumed. */
export interface UsageInput {
  /** Who made the call (`agent`, `summarizer`, `tool:search`): 1 to 256 characters. */
  readonly source: string;
  /** The model called (`gpt-4.1`, `claude-sonnet-4`): 1 to 256 characters. */
  readonly model: string;
  /** Input (prompt) tokens, as the provider reports them. */
  readonly inputTokens: number;
  /** Output (completion) tokens, as the provider reports them. */
  readonly outputTokens: number;
  /** Cached input tokens, as reported. Default 0. */
  readonly cachedTokens?: number;
  /** Reasoning tokens, as reported. Default 0. */
  readonly reasoningTokens?: number;
  /** When the call was made: a Date or ms since the epoch. Default: now. */
  readonly time?: Date | number;
  /** Any small value to keep with the entry (request id, cost), inline, at most 64 KiB encoded. */
  readonly meta?: unknown;
}

/** An entry read back. */
export interface UsageEntry {
  /** The entry's id: increasing in the order entries were recorded. */
  readonly id: number;
  readonly session: string;
  /** The sequence number of the checkpoint it was committed with, or undefined when recorded on its own. */
  readonly seq: number | undefined;
  readonly source: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly time: Date;
  readonly meta: unknown;
}

/** Sums over a set of entries. */
export interface UsageTotals {
  /** How many entries were summed. */
  readonly entries: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  /** inputTokens + outputTokens. */
  readonly totalTokens: number;
}

/** Which entries to read or total: every given field must match. */
export interface UsageFilter {
  readonly session?: string;
  readonly model?: string;
  readonly source?: string;
}

/** Options for {@link UsageLedger.entries}. */
export interface UsageEntriesOptions extends UsageFilter {
  /** Only entries with an id above this one (for paging: the last entry's id). */
  readonly after?: number;
  /** At most this many entries (1 to 10,000). Default: all. */
  readonly limit?: number;
}

/** What {@link UsageLedger.totalsBy} groups by. */
export type UsageGroup = "session" | "model" | "source";

/** Commit options for {@link UsageLedger.commit}: those of `Session.commit`. */
export type UsageCommitOptions = Omit<CommitOptions, typeof COMMIT_EXTRA>;

const MAX_NAME = 256;
const MAX_META = 64 * 1024;
const MAX_BATCH = 10_000;
const GROUPS: readonly UsageGroup[] = ["session", "model", "source"];

/**
 * The token-usage ledger of a store.
 *
 * @example
 * const ledger = new UsageLedger(store);
 * // the turn's checkpoint and its usage, in one transaction
 * await ledger.commit("session-1", checkpoint, [
 *   { source: "agent", model: "gpt-4.1", inputTokens: 1200, outputTokens: 300, cachedTokens: 1024 },
 * ], { expectedHead: 6 });
 * const perModel = await ledger.totalsBy("model", { session: "session-1" });
 */
export class UsageLedger {
  readonly #store: Store;

  /**
   * The usage ledger of `store`.
   * Guarantee: writes nothing.
   * @throws CairnError INVALID_ARGUMENT (not a store).
   * @example const ledger = new UsageLedger(store);
   */
  constructor(store: Store) {
    this.#store = checkStore(store);
  }

  /**
   * Records usage for `session` on its own (not tied to a checkpoint), in one transaction.
   * Guarantee: all entries or none; every entry is checked before anything is written.
   * @throws CairnError INVALID_ARGUMENT (bad session or entry, with details.index),
   *   UNSUPPORTED_VALUE, LIMIT_EXCEEDED (meta over 64 KiB).
   * @example await ledger.record("session-1", { source: "summarizer", model: "gpt-4.1-mini", inputTokens: 5000, outputTokens: 200 });
   */
  async record(session: string, usage: UsageInput | readonly UsageInput[]): Promise<UsageEntry[]> {
    const id = parseText(session, "session", 512);
    const rows = parseUsage(usage);
    if (rows.length === 0) return [];
    const ids = await sessionStoresOf(this.#store).recordUsage(id, rows);
    const list = Array.isArray(usage) ? (usage as readonly UsageInput[]) : [usage as UsageInput];
    return rows.map((row, i) => toEntry(ids[i]!, id, undefined, row, list[i]!.meta));
  }

  /**
   * Commits `checkpoint` to `session` (as `Session.commit` does) and records
   * `usage` with it, in the commit's own transaction; each entry gets the new
   * checkpoint's `seq`.
   * Guarantee: the checkpoint and its entries are stored together or not at
   * all: a commit that fails (CONFLICT from a stale `expectedHead`, a value that
   * cannot be encoded) leaves no entry. Bad usage throws before anything is written.
   * @throws CairnError CONFLICT, INVALID_ARGUMENT, UNSUPPORTED_VALUE, LIMIT_EXCEEDED,
   *   NOT_FOUND (as `Session.commit`), with nothing written.
   * @example
   * const { seq } = await ledger.commit(session, { turn: 7, snapshots: { execution } }, usageOfTurn, { expectedHead: 6 });
   */
  async commit(session: string | Session, checkpoint: Checkpoint, usage: UsageInput | readonly UsageInput[], options?: UsageCommitOptions): Promise<CommitResult> {
    const id = session instanceof Session ? session.id : parseText(session, "session", 512);
    const rows = parseUsage(usage);
    const commitOptions = parseOptions(options);
    return this.#store.session(id).commit(checkpoint, { ...commitOptions, [COMMIT_EXTRA]: [{ type: "usage", rows }] });
  }

  /**
   * Entries in the order they were recorded, optionally filtered; page with `after`.
   * Guarantee: every stored entry matching the filter, each once, by increasing id.
   * @throws CairnError INVALID_ARGUMENT (bad filter, after or limit).
   * @example const mine = await ledger.entries({ session: "session-1", model: "gpt-4.1" });
   */
  async entries(options?: UsageEntriesOptions): Promise<UsageEntry[]> {
    const parsed = parseOptions(options);
    const filter = parseFilter(parsed);
    const after = parsed.after === undefined ? undefined : parseInteger(parsed.after, "after", 0);
    const limit = parsed.limit === undefined ? undefined : parseInteger(parsed.limit, "limit", 1, MAX_BATCH);
    const rows = await sessionStoresOf(this.#store).usage({ ...filter, after, limit });
    return rows.map((row) => toEntry(row.id, row.session, row.seq, row, decodeInline(row.meta)));
  }

  /**
   * The sums over every entry matching `filter` (all entries by default).
   * Guarantee: computed in one statement, so it sees one consistent state; zeros when nothing matches.
   * @throws CairnError INVALID_ARGUMENT (bad filter).
   * @example const { totalTokens } = await ledger.totals({ session: "session-1" });
   */
  async totals(filter?: UsageFilter): Promise<UsageTotals> {
    return toTotals(await sessionStoresOf(this.#store).usageSums(parseFilter(parseOptions(filter))));
  }

  /**
   * Sums per session, model or source over the entries matching `filter`, keyed
   * by that name, in name order. Groups without entries are absent.
   * Guarantee: computed in one statement; the groups' sums add up to {@link UsageLedger.totals} with the same filter.
   * @throws CairnError INVALID_ARGUMENT (bad group or filter).
   * @example
   * const perModel = await ledger.totalsBy("model", { session: "session-1" });
   * const perSession = await ledger.totalsBy("session");
   */
  async totalsBy(group: UsageGroup, filter?: UsageFilter): Promise<Map<string, UsageTotals>> {
    if (typeof group !== "string" || !GROUPS.includes(group)) throw bad("group", `one of ${GROUPS.join(", ")}`, group);
    const sums = await sessionStoresOf(this.#store).usageSumsBy(group, parseFilter(parseOptions(filter)));
    return new Map([...sums].map(([name, row]) => [name, toTotals(row)]));
  }
}

function parseUsage(usage: UsageInput | readonly UsageInput[]): NewUsageRow[] {
  const list = Array.isArray(usage) ? (usage as readonly UsageInput[]) : [usage as UsageInput];
  if (list.length > MAX_BATCH) throw bad("usage", `at most ${MAX_BATCH} entries`, usage);
  const now = Date.now();
  return list.map((entry, index) => {
    try {
      return parseEntry(entry, now);
    } catch (error) {
      if (error instanceof CairnError) {
        throw new CairnError(error.code, `usage entry ${index}: ${error.message}`, { ...error.details, index }, { cause: error.cause });
      }
      throw error;
    }
  });
}

function parseEntry(entry: UsageInput, now: number): NewUsageRow {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw bad("usage", "an object { source, model, inputTokens, outputTokens, ... }", entry);
  }
  return {
    source: parseText(entry.source, "source", MAX_NAME),
    model: parseText(entry.model, "model", MAX_NAME),
    inputTokens: parseInteger(entry.inputTokens, "inputTokens", 0),
    outputTokens: parseInteger(entry.outputTokens, "outputTokens", 0),
    cachedTokens: parseInteger(entry.cachedTokens ?? 0, "cachedTokens", 0),
    reasoningTokens: parseInteger(entry.reasoningTokens ?? 0, "reasoningTokens", 0),
    time: parseTime(entry.time, "time", now),
    meta: entry.meta === undefined ? undefined : encodeInline(entry.meta, "meta", MAX_META),
  };
}

function parseFilter(filter: Partial<UsageFilter>): UsageRowFilter {
  return {
    ...(filter.session === undefined ? {} : { session: parseText(filter.session, "session", 512) }),
    ...(filter.model === undefined ? {} : { model: parseText(filter.model, "model", MAX_NAME) }),
    ...(filter.source === undefined ? {} : { source: parseText(filter.source, "source", MAX_NAME) }),
  };
}

function toEntry(id: number, session: string, seq: number | undefined, row: NewUsageRow, meta: unknown): UsageEntry {
  return {
    id,
    session,
    seq,
    source: row.source,
    model: row.model,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    cachedTokens: row.cachedTokens,
    reasoningTokens: row.reasoningTokens,
    time: new Date(row.time),
    meta,
  };
}

function toTotals(sums: UsageSums): UsageTotals {
  return { ...sums, totalTokens: sums.inputTokens + sums.outputTokens };
}
