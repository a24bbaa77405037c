/**
 * The session stores' rows on libSQL: the `events` and `usage` tables, their
 * migrations (component `session-stores`, versioned apart from the core schema:
 * see components.ts), their statements, and the statements of the typed
 * additions a commit carries for them ({@link CommitAddition}).
 *
 * Order comes from the database, never from a `time` column: an event's seq is
 * computed inside the INSERT that appends it (writers are serialized by the
 * database, so seqs are 1, 2, 3, ... with no gaps), a usage entry's id is its
 * rowid. Sums are computed by SQLite over indexed rows, in one statement.
 */
import { CairnError } from "../../errors.js";
import type { CommitAddition, NewHistoryRow } from "../storage.js";
import {
  SESSION_STORES_COMPONENT,
  type EventRow,
  type NewEventRow,
  type NewUsageRow,
  type SessionStoresStorage,
  type UsageGroupColumn,
  type UsageRow,
  type UsageRowFilter,
  type UsageRowQuery,
  type UsageSums,
} from "../session-stores-storage.js";
import { ensureComponent, type Component } from "./components.js";
import { toBytes, type Database, type InStatement } from "./database.js";

/**
 * The session stores' tables. Version 1 was installed by core schema migration 2
 * (schema.ts runs these statements as that migration, frozen), so every store at
 * core version 2 or later has it without a record; later versions are
 * migrations of this component, recorded in `components`, never core versions.
 */
export const SESSION_STORES: Component = {
  name: SESSION_STORES_COMPONENT,
  version: 1,
  installedAtCore: 2,
  migrations: {
    1: [
      `CREATE TABLE events (
      session TEXT NOT NULL,
      seq INTEGER NOT NULL,
      type TEXT NOT NULL,
      time INTEGER NOT NULL,
      data BLOB
    )`,
      `CREATE UNIQUE INDEX events_session_seq ON events (session, seq)`,
      `CREATE TABLE usage (
      id INTEGER PRIMARY KEY,
      session TEXT NOT NULL,
      seq INTEGER,
      source TEXT NOT NULL,
      model TEXT NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cached_tokens INTEGER NOT NULL,
      reasoning_tokens INTEGER NOT NULL,
      time INTEGER NOT NULL,
      meta BLOB
    )`,
      `CREATE INDEX usage_session ON usage (session)`,
      `CREATE INDEX usage_model ON usage (model)`,
    ],
  },
};

const APPEND_EVENT = `INSERT INTO events (session, seq, type, time, data)
  SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 FROM events WHERE session = ?1
  RETURNING seq`;

const USAGE_COLUMNS = "id, session, seq, source, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, time, meta";
const SUMS = `COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
  COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(reasoning_tokens), 0)`;
const GROUP_COLUMN: Record<UsageGroupColumn, string> = { session: "session", model: "model", source: "source" };

/** The libSQL implementation of {@link SessionStoresStorage}. */
export class LibsqlSessionStores implements SessionStoresStorage {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async appendEvents(session: string, events: readonly NewEventRow[]): Promise<number[]> {
    if (events.length === 0) return [];
    await ensureComponent(this.#db, SESSION_STORES);
    const results = await this.#db.writeBatch(events.map((event) => ({ sql: APPEND_EVENT, args: [session, event.type, event.time, event.data ?? null] })));
    return results.map((result) => Number(result.rows[0]![0]));
  }

  async events(session: string, after: number, limit: number): Promise<EventRow[]> {
    await ensureComponent(this.#db, SESSION_STORES);
    const result = await this.#db.execute("SELECT seq, type, time, data FROM events WHERE session = ? AND seq > ? ORDER BY seq LIMIT ?", [session, after, limit]);
    return result.rows.map((row) => ({
      seq: Number(row[0]),
      type: String(row[1]),
      time: Number(row[2]),
      data: row[3] === null || row[3] === undefined ? undefined : toBytes(row[3]),
    }));
  }

  async eventHead(session: string): Promise<number> {
    await ensureComponent(this.#db, SESSION_STORES);
    const result = await this.#db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE session = ?", [session]);
    return Number(result.rows[0]![0]);
  }

  async recordUsage(session: string, rows: readonly NewUsageRow[]): Promise<number[]> {
    if (rows.length === 0) return [];
    await ensureComponent(this.#db, SESSION_STORES);
    const results = await this.#db.writeBatch(rows.map((row) => insertUsage(session, row, false)));
    return results.map((result) => Number(result.rows[0]![0]));
  }

  async usage(query: UsageRowQuery): Promise<UsageRow[]> {
    await ensureComponent(this.#db, SESSION_STORES);
    const { where, args } = filterClause(query);
    if (query.after !== undefined) {
      where.push("id > ?");
      args.push(query.after);
    }
    let limit = "";
    if (query.limit !== undefined) {
      limit = "LIMIT ?";
      args.push(query.limit);
    }
    const result = await this.#db.execute(`SELECT ${USAGE_COLUMNS} FROM usage ${whereOf(where)} ORDER BY id ${limit}`, args);
    return result.rows.map((row) => ({
      id: Number(row[0]),
      session: String(row[1]),
      seq: row[2] === null ? undefined : Number(row[2]),
      source: String(row[3]),
      model: String(row[4]),
      inputTokens: Number(row[5]),
      outputTokens: Number(row[6]),
      cachedTokens: Number(row[7]),
      reasoningTokens: Number(row[8]),
      time: Number(row[9]),
      meta: row[10] === null || row[10] === undefined ? undefined : toBytes(row[10]),
    }));
  }

  async usageSums(filter: UsageRowFilter): Promise<UsageSums> {
    await ensureComponent(this.#db, SESSION_STORES);
    const { where, args } = filterClause(filter);
    const result = await this.#db.execute(`SELECT ${SUMS} FROM usage ${whereOf(where)}`, args);
    return toSums(result.rows[0]!, 0);
  }

  async usageSumsBy(group: UsageGroupColumn, filter: UsageRowFilter): Promise<Map<string, UsageSums>> {
    const column = GROUP_COLUMN[group];
    if (column === undefined) throw new TypeError(`cannot group usage by ${String(group)}`);
    await ensureComponent(this.#db, SESSION_STORES);
    const { where, args } = filterClause(filter);
    const result = await this.#db.execute(`SELECT ${column}, ${SUMS} FROM usage ${whereOf(where)} GROUP BY ${column} ORDER BY ${column}`, args);
    return new Map(result.rows.map((row) => [String(row[0]), toSums(row, 1)]));
  }
}

/**
 * The statements of a commit's typed additions, run after its history row (and
 * the session's head) in the same transaction. The database names the new row's
 * seq, so a commit that fails leaves none of them.
 * @throws TypeError for an addition without a history row in the batch.
 */
export async function additionStatements(db: Database, additions: readonly CommitAddition[], history: NewHistoryRow | undefined): Promise<InStatement[]> {
  if (additions.length === 0) return [];
  if (history === undefined) throw new TypeError("a commit addition needs the batch's history row");
  const statements: InStatement[] = [];
  for (const addition of additions) {
    switch (addition.type) {
      case "usage":
        if (addition.rows.length > 0) await ensureComponent(db, SESSION_STORES);
        for (const row of addition.rows) statements.push(insertUsage(history.session, row, true));
        break;
      case "drop-older-history":
        statements.push({
          sql: "DELETE FROM history WHERE session = ?1 AND seq < (SELECT MAX(seq) FROM history WHERE session = ?1)",
          args: [history.session],
        });
        break;
      default:
        throw new TypeError(`unknown commit addition ${JSON.stringify((addition as { type: unknown }).type)}`);
    }
  }
  return statements;
}

/** The INSERT of one usage row; with `withCommit`, its seq is the newest history row's of the session (the one just appended). */
function insertUsage(session: string, row: NewUsageRow, withCommit: boolean): InStatement {
  const seq = withCommit ? "(SELECT MAX(seq) FROM history WHERE session = ?1)" : "NULL";
  return {
    sql: `INSERT INTO usage (session, seq, source, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, time, meta)
          VALUES (?1, ${seq}, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id`,
    args: [session, row.source, row.model, row.inputTokens, row.outputTokens, row.cachedTokens, row.reasoningTokens, row.time, row.meta ?? null],
  };
}

function filterClause(filter: UsageRowFilter): { where: string[]; args: Array<string | number> } {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (filter.session !== undefined) {
    where.push("session = ?");
    args.push(filter.session);
  }
  if (filter.model !== undefined) {
    where.push("model = ?");
    args.push(filter.model);
  }
  if (filter.source !== undefined) {
    where.push("source = ?");
    args.push(filter.source);
  }
  return { where, args };
}

function whereOf(where: readonly string[]): string {
  return where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
}

function toSums(row: ArrayLike<unknown>, offset: number): UsageSums {
  return {
    entries: Number(row[offset]),
    inputTokens: Number(row[offset + 1]),
    outputTokens: Number(row[offset + 2]),
    cachedTokens: Number(row[offset + 3]),
    reasoningTokens: Number(row[offset + 4]),
  };
}
