/**
 * The embedded engine: one connection of the `libsql` package (the native
 * libSQL library @libsql/client's sqlite3 entry also uses) for file: and
 * :memory: stores, with its prepared statements kept and reused.
 *
 * Why not @libsql/client here: it prepares every statement anew and leaves it
 * for the garbage collector to finalize, and a finalized-late statement keeps
 * the values bound to it (a copy of every blob row written) in native memory
 * the JavaScript engine does not see. Measured on 1 GiB of 64 KiB rows written
 * in transactions of 16 (bench/engine-memory.ts): +69-70 MiB of resident
 * memory through the client, +37-39 MiB with one reused statement (most of it
 * the test's own garbage), and 4.2-4.3 s against 3.8 s. A reused statement's bindings are replaced on
 * its next run, so what it holds is bounded by one run's values.
 *
 * Every call is synchronous under the promise: a batch runs from BEGIN to
 * COMMIT in one turn of the event loop, so nothing of this process interleaves
 * with it, and one connection serves the store (no pool, so a per-connection
 * setting holds everywhere).
 */
import { createRequire } from "node:module";

/** A value bound to or read from a statement. */
export type SqlValue = null | string | number | bigint | boolean | Uint8Array | ArrayBuffer;

/** One statement: its SQL and its positional arguments (`?` or `?N`). */
export type InStatement = string | { readonly sql: string; readonly args?: readonly SqlValue[] };

/** A result row: its columns by position. */
export interface Row {
  readonly length: number;
  readonly [index: number]: unknown;
}

/** What a statement returned: its rows (none for a write) and how many rows a write changed. */
export interface ResultSet {
  readonly rows: readonly Row[];
  readonly rowsAffected: number;
}

/** The subset of the `libsql` package's Database this engine uses. */
interface NativeDatabase {
  prepare(sql: string): NativeStatement;
  exec(sql: string): void;
  close(): void;
  readonly inTransaction: boolean;
}
interface NativeStatement {
  readonly reader: boolean;
  raw(on?: boolean): NativeStatement;
  all(args: readonly unknown[]): unknown[][];
  run(args: readonly unknown[]): { changes: number };
}
type NativeDatabaseClass = new (path: string, options: { timeout?: number }) => NativeDatabase;

/** Prepared statements kept per connection (least recently used dropped first). */
const STATEMENT_CACHE = 128;

/**
 * Loads the `libsql` package's Database class with require: where its native
 * module is missing, Node 20's import() would reject and also leave the error
 * uncaught, ending the process (measured on 20.20); require throws it once, to the caller.
 * @throws the loader's error when the native module cannot load.
 */
export function loadEngine(): NativeDatabaseClass {
  return createRequire(import.meta.url)("libsql") as NativeDatabaseClass;
}

/** One embedded connection with a statement cache. */
export class EmbeddedConnection {
  readonly #db: NativeDatabase;
  readonly #statements = new Map<string, { statement: NativeStatement; reader: boolean }>();

  /**
   * Opens `path` (":memory:" for a database in memory) with a busy timeout in ms.
   * @throws the engine's error (a SqliteError) when the file cannot be opened.
   */
  constructor(path: string, busyTimeoutMs: number) {
    const Native = loadEngine();
    this.#db = new Native(path, { timeout: busyTimeoutMs });
    // Fail fast on a file that is not a database (or cannot be read).
    this.execute("SELECT 1");
  }

  /** Runs one statement. @throws the engine's error. */
  execute(statement: InStatement): ResultSet {
    const { sql, args } = typeof statement === "string" ? { sql: statement, args: [] } : { sql: statement.sql, args: statement.args ?? [] };
    const { statement: prepared, reader } = this.#prepared(sql);
    const values = args.map(toNative);
    if (reader) return { rows: prepared.all(values), rowsAffected: 0 };
    return { rows: [], rowsAffected: prepared.run(values).changes };
  }

  /**
   * Runs `statements` in one transaction (BEGIN IMMEDIATE for "write", a
   * read-only one for "read"): all of them, or none (rolled back on the first error).
   * @throws the first statement's error, after the rollback.
   */
  batch(statements: readonly InStatement[], mode: "write" | "read"): ResultSet[] {
    this.execute(mode === "write" ? "BEGIN IMMEDIATE" : "BEGIN TRANSACTION READONLY");
    try {
      const results = statements.map((statement) => this.execute(statement));
      this.execute("COMMIT");
      return results;
    } catch (error) {
      if (this.#db.inTransaction) this.execute("ROLLBACK");
      throw error;
    }
  }

  /**
   * Runs `sql` (no arguments, no rows wanted) to completion on a statement of
   * its own, finalized at once: for a statement that works step by step, as
   * `PRAGMA incremental_vacuum` frees one page per step, which a cached
   * statement run once would leave half done and holding its lock.
   * @throws the engine's error.
   */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** Closes the connection (its statements first). Synchronous: nothing is left to the garbage collector. */
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  #prepared(sql: string): { statement: NativeStatement; reader: boolean } {
    const cached = this.#statements.get(sql);
    if (cached) {
      // Most recently used last: the first entry is the one to drop.
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = this.#db.prepare(sql);
    const reader = statement.reader;
    if (reader) statement.raw(true);
    const entry = { statement, reader };
    this.#statements.set(sql, entry);
    if (this.#statements.size > STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value!);
    return entry;
  }
}

/** A value as the native module binds it: bytes as a Buffer view (no copy), booleans as 0/1. */
function toNative(value: SqlValue): unknown {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" && !Number.isFinite(value)) throw new RangeError(`cannot bind ${value}: only finite numbers can be stored`);
  return value;
}
