/**
 * Usage ledger: token usage per session, recorded on its own or in the same
 * transaction as the checkpoint of the turn that consumed it, and totalled per
 * session, model or source.
 *
 * Entries are rows of the `usage` table (schema version 2). An entry recorded
 * with a commit carries the commit's sequence number and is inserted by the
 * commit's own transaction (after its history row), so a commit that fails, for
 * instance with CONFLICT, leaves no entry, and a committed turn never lacks its
 * usage. Totals are computed by SQLite (`SUM ... GROUP BY`) over indexed rows.
 */
import { CairnError } from "../../errors.js";
import type { Database, InStatement } from "../../storage/libsql/database.js";
import type { Checkpoint } from "../../checkpoint/checkpoint.js";
import { COMMIT_EXTRA, Session, type CommitOptions, type CommitResult } from "../../session/session.js";
import type { Store } from "../../store.js";
import { bad, databaseOf, decodeInline, encodeInline, parseInteger, parseOptions, parseText, parseTime } from "./common.js";

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
const COLUMNS = "id, session, seq, source, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, time, meta";
const SUMS = `COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
  COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(reasoning_tokens), 0)`;
const GROUP_COLUMN: Record<UsageGroup, string> = { session: "session", model: "model", source: "source" };

interface UsageRow {
  readonly source: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly time: number;
  /** The encoded meta, or null. */
  readonly meta: Uint8Array | null;
}

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
  readonly #db: Database;

  /**
   * The usage ledger of `store`.
   * Guarantee: writes nothing.
   * @throws CairnError INVALID_ARGUMENT (not a store).
   * @example const ledger = new UsageLedger(store);
   */
  constructor(store: Store) {
    this.#db = databaseOf(store);
    this.#store = store;
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
    const results = await this.#db.writeBatch(rows.map((row) => insert(id, row, false)));
    const list = Array.isArray(usage) ? (usage as readonly UsageInput[]) : [usage as UsageInput];
    return rows.map((row, i) => toEntry(Number(results[i]!.rows[0]![0]), id, undefined, row, list[i]!.meta));
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
    return this.#store.session(id).commit(checkpoint, { ...commitOptions, [COMMIT_EXTRA]: rows.map((row) => insert(id, row, true)) });
  }

  /**
   * Entries in the order they were recorded, optionally filtered; page with `after`.
   * Guarantee: every stored entry matching the filter, each once, by increasing id.
   * @throws CairnError INVALID_ARGUMENT (bad filter, after or limit).
   * @example const mine = await ledger.entries({ session: "session-1", model: "gpt-4.1" });
   */
  async entries(options?: UsageEntriesOptions): Promise<UsageEntry[]> {
    const parsed = parseOptions(options);
    const { where, args } = filterClause(parsed);
    const conditions = [...where];
    if (parsed.after !== undefined) {
      conditions.push("id > ?");
      args.push(parseInteger(parsed.after, "after", 0));
    }
    let limit = "";
    if (parsed.limit !== undefined) {
      limit = "LIMIT ?";
      args.push(parseInteger(parsed.limit, "limit", 1, MAX_BATCH));
    }
    const result = await this.#db.execute(
      `SELECT ${COLUMNS} FROM usage ${conditions.length ? `WHERE ${conditions.join(" AND ")}` : ""} ORDER BY id ${limit}`,
      args,
    );
    return result.rows.map((row) =>
      toEntry(Number(row[0]), String(row[1]), row[2] === null ? undefined : Number(row[2]), {
        source: String(row[3]),
        model: String(row[4]),
        inputTokens: Number(row[5]),
        outputTokens: Number(row[6]),
        cachedTokens: Number(row[7]),
        reasoningTokens: Number(row[8]),
        time: Number(row[9]),
        meta: null,
      }, decodeInline(row[10])),
    );
  }

  /**
   * The sums over every entry matching `filter` (all entries by default).
   * Guarantee: computed in one statement, so it sees one consistent state; zeros when nothing matches.
   * @throws CairnError INVALID_ARGUMENT (bad filter).
   * @example const { totalTokens } = await ledger.totals({ session: "session-1" });
   */
  async totals(filter?: UsageFilter): Promise<UsageTotals> {
    const { where, args } = filterClause(parseOptions(filter));
    const result = await this.#db.execute(`SELECT ${SUMS} FROM usage ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`, args);
    return toTotals(result.rows[0]!, 0);
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
    if (typeof group !== "string" || !Object.hasOwn(GROUP_COLUMN, group)) throw bad("group", `one of ${Object.keys(GROUP_COLUMN).join(", ")}`, group);
    const column = GROUP_COLUMN[group];
    const { where, args } = filterClause(parseOptions(filter));
    const result = await this.#db.execute(
      `SELECT ${column}, ${SUMS} FROM usage ${where.length ? `WHERE ${where.join(" AND ")}` : ""} GROUP BY ${column} ORDER BY ${column}`,
      args,
    );
    return new Map(result.rows.map((row) => [String(row[0]), toTotals(row, 1)]));
  }
}

function parseUsage(usage: UsageInput | readonly UsageInput[]): UsageRow[] {
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

function parseEntry(entry: UsageInput, now: number): UsageRow {
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
    meta: entry.meta === undefined ? null : encodeInline(entry.meta, "meta", MAX_META),
  };
}

function insert(session: string, row: UsageRow, withCommit: boolean): { sql: string; args: Array<string | number | null | Uint8Array> } {
  const seq = withCommit ? "(SELECT MAX(seq) FROM history WHERE session = ?1)" : "NULL";
  return {
    sql: `INSERT INTO usage (session, seq, source, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, time, meta)
          VALUES (?1, ${seq}, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id`,
    args: [session, row.source, row.model, row.inputTokens, row.outputTokens, row.cachedTokens, row.reasoningTokens, row.time, row.meta],
  };
}

function filterClause(filter: Partial<UsageFilter>): { where: string[]; args: Array<string | number> } {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (filter.session !== undefined) {
    where.push("session = ?");
    args.push(parseText(filter.session, "session", 512));
  }
  if (filter.model !== undefined) {
    where.push("model = ?");
    args.push(parseText(filter.model, "model", MAX_NAME));
  }
  if (filter.source !== undefined) {
    where.push("source = ?");
    args.push(parseText(filter.source, "source", MAX_NAME));
  }
  return { where, args };
}

function toEntry(id: number, session: string, seq: number | undefined, row: UsageRow, meta: unknown): UsageEntry {
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

function toTotals(row: ArrayLike<unknown>, offset: number): UsageTotals {
  const inputTokens = Number(row[offset + 1]);
  const outputTokens = Number(row[offset + 2]);
  return {
    entries: Number(row[offset]),
    inputTokens,
    outputTokens,
    cachedTokens: Number(row[offset + 3]),
    reasoningTokens: Number(row[offset + 4]),
    totalTokens: inputTokens + outputTokens,
  };
}
