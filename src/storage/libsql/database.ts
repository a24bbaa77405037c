/**
 * The libSQL connection: opening by URL, error translation, and the statement
 * helpers the layers above use. file: and :memory: stores run on the embedded
 * engine (embedded.ts: one connection of the `libsql` package, statements
 * prepared once); servers and embedded replicas on @libsql/client. Nothing
 * above this folder imports either.
 */
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Client, Config, LibsqlError } from "@libsql/client";
import { CairnError } from "../../errors.js";
import { EmbeddedConnection, loadEngine, type InStatement, type ResultSet, type Row, type SqlValue } from "./embedded.js";

export type { InStatement, ResultSet, Row, SqlValue };

/** Where the database lives, as parsed from the URL. */
export type BackendKind = "memory" | "file" | "remote" | "replica";

export interface DatabaseConfig {
  readonly url: string;
  readonly authToken?: string;
  readonly syncUrl?: string;
  readonly syncInterval?: number;
  readonly busyTimeoutMs: number;
  /** False: a file: database that does not exist is refused with NOT_FOUND, and nothing is created. */
  readonly create: boolean;
  /** The embedded connection's `synchronous` level: FULL, or NORMAL (see StoreOptions.durability). Default full. */
  readonly durability?: "full" | "normal";
}

/** One opened database: a libSQL client and what kind of backend it talks to. */
export class Database {
  readonly kind: BackendKind;
  readonly url: string;
  /** The SQLite file on this machine, for file and replica backends. */
  readonly path: string | undefined;
  /** The engine: the embedded connection (file, memory) or a @libsql/client client (remote, replica). */
  readonly #engine: EmbeddedConnection | Client;
  /** How long a statement or batch refused by a busy server is tried again, in ms (busyTimeoutMs; the embedded engine waits inside SQLite instead). */
  readonly #transientBudgetMs: number;
  #closed = false;

  private constructor(engine: EmbeddedConnection | Client, kind: BackendKind, url: string, path: string | undefined, transientBudgetMs: number) {
    this.#engine = engine;
    this.kind = kind;
    this.url = url;
    this.path = path;
    this.#transientBudgetMs = transientBudgetMs;
  }

  /**
   * Opens (and for files, creates) the database at `config.url`.
   *
   * Files get WAL (a property of the file, set once the schema is known:
   * {@link useWal}) and a busy timeout. `synchronous` stays at SQLite's
   * default, FULL (a 1 KiB WAL commit measured 0.19 ms at FULL, 0.14 ms at NORMAL: bench part E).
   */
  static async open(config: DatabaseConfig): Promise<Database> {
    const { kind, path } = classify(config.url, config.syncUrl);
    if (kind === "file" && !config.create && !existsSync(path!)) {
      throw new CairnError("NOT_FOUND", `no store at ${path}; nothing was created (create: false)`, { path, reason: "missing" });
    }
    if (path !== undefined) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (error) {
        throw new CairnError("DATABASE", `cannot create the folder for ${path}: ${(error as Error).message}`, { path }, { cause: error });
      }
    }
    if (kind === "file" || kind === "memory") {
      try {
        loadEngine();
      } catch (error) {
        throw engineUnavailable(config.url, error);
      }
      try {
        const connection = new EmbeddedConnection(path ?? ":memory:", config.busyTimeoutMs);
        // Per connection, and this store has one: set once, it holds for every statement.
        if (config.durability === "normal") connection.execute("PRAGMA synchronous = NORMAL");
        return new Database(connection, kind, config.url, path, 0);
      } catch (error) {
        throw translate(error, `cannot open ${redact(config.url)}`);
      }
    }
    let client: Client;
    try {
      const createClient = await clientFactory(config.url);
      client = createClient({
        url: config.url,
        authToken: config.authToken,
        syncUrl: config.syncUrl,
        syncInterval: config.syncInterval,
        timeout: kind === "replica" ? config.busyTimeoutMs : undefined,
        intMode: "number",
      });
    } catch (error) {
      throw translate(error, `cannot open ${redact(config.url)}`);
    }
    const db = new Database(client, kind, config.url, path, config.busyTimeoutMs);
    if (kind === "replica") {
      try {
        await db.sync();
      } catch (error) {
        await db.close();
        throw error;
      }
    }
    return db;
  }

  /**
   * Puts a local file in WAL mode (persistent in the file, so every pooled
   * connection shares it). Called only once the schema version is known to be
   * readable, so a database from a newer cairn is never touched. A no-op on
   * other backends: a server or replica manages its own journal.
   */
  async useWal(): Promise<void> {
    if (this.kind !== "file") return;
    const mode = await this.execute("PRAGMA journal_mode = WAL");
    if (String(mode.rows[0]?.[0]).toLowerCase() !== "wal") {
      throw new CairnError("DATABASE", `cannot switch ${this.path} to WAL mode (got ${String(mode.rows[0]?.[0])})`, { path: this.path });
    }
  }

  /** Runs one statement. @throws CairnError DATABASE or CLOSED. */
  async execute(sql: string, args: readonly SqlValue[] = []): Promise<ResultSet> {
    this.#checkOpen();
    const engine = this.#engine;
    try {
      if (engine instanceof EmbeddedConnection) return engine.execute({ sql, args });
    } catch (error) {
      throw translate(error, "statement failed");
    }
    return this.#remote(() => engine.execute({ sql, args: args as SqlValue[] }), "statement failed");
  }

  /**
   * Runs one statement without arguments to completion, its rows (if any)
   * discarded: for statements that work a step at a time (`PRAGMA
   * incremental_vacuum`, `VACUUM`). @throws CairnError DATABASE or CLOSED.
   */
  async executeToEnd(sql: string): Promise<void> {
    this.#checkOpen();
    const engine = this.#engine;
    try {
      if (engine instanceof EmbeddedConnection) return engine.exec(sql);
    } catch (error) {
      throw translate(error, "statement failed");
    }
    await this.#remote(() => engine.execute(sql), "statement failed");
  }

  /**
   * Runs statements in one write transaction: all of them or none.
   * @throws CairnError DATABASE or CLOSED; the raw libSQL error stays in `cause`.
   */
  async writeBatch(statements: InStatement[]): Promise<ResultSet[]> {
    return this.#batch(statements, "write", "write transaction failed");
  }

  /** Runs read statements in one read transaction, so they see one state. */
  async readBatch(statements: InStatement[]): Promise<ResultSet[]> {
    return this.#batch(statements, "read", "read transaction failed");
  }

  /** Pulls the primary's changes into an embedded replica; a no-op elsewhere. */
  async sync(): Promise<void> {
    if (this.kind !== "replica") return;
    try {
      await (this.#engine as Client).sync();
    } catch (error) {
      throw translate(error, "replica sync failed");
    }
  }

  /** True once {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the connection. For files, first merges the WAL into the main file
   * (when no other connection holds it), so the file alone is the whole store.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.kind === "file") {
      try {
        await this.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // another connection may hold the WAL; the next open merges it
      }
    }
    this.#closed = true;
    this.#engine.close();
  }

  /**
   * Whether statements are prepared once and reused (the embedded engine): the
   * floor may then run one short statement per row at no prepare cost.
   */
  get reusesStatements(): boolean {
    return this.#engine instanceof EmbeddedConnection;
  }

  async #batch(statements: InStatement[], mode: "write" | "read", what: string): Promise<ResultSet[]> {
    this.#checkOpen();
    const engine = this.#engine;
    try {
      if (engine instanceof EmbeddedConnection) return engine.batch(statements, mode);
    } catch (error) {
      throw translate(error, what);
    }
    return this.#remote(() => engine.batch(statements as Parameters<Client["batch"]>[0], mode), what);
  }

  /**
   * Runs a request to a server (or a replica's client), trying it again while
   * it is refused with SQLITE_BUSY or SQLITE_LOCKED: another connection held
   * the lock, and the statement or transaction was not applied (a write batch
   * that fails anywhere, its COMMIT included, is rolled back). Waits with
   * jittered exponential backoff (full jitter, 2 ms doubling to 250 ms) for at
   * most busyTimeoutMs in all, then gives up with the DATABASE error, whose
   * details say how often it was tried and that nothing was applied. Any other
   * failure (a connection lost mid-request, whose outcome is unknown) is not
   * tried again here: a commit decides that under its commit id.
   */
  async #remote<T>(request: () => Promise<T>, what: string): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        const transient = isTransient(error);
        const waited = Date.now() - started;
        // The budget is time, but a server under load can hold one refused request for seconds: at least MIN_TRANSIENT_TRIES tries (with a budget at all).
        const spent = waited >= this.#transientBudgetMs && (this.#transientBudgetMs === 0 || attempt >= MIN_TRANSIENT_TRIES);
        if (!transient || spent || this.#closed) {
          const translated = translate(error, what);
          if (!transient || translated.code !== "DATABASE") throw translated;
          throw new CairnError(
            "DATABASE",
            `${translated.message} (still refused after ${attempt} attempts over ${waited} ms; nothing was applied)`,
            { ...translated.details, attempts: attempt, waitedMs: waited, applied: false },
            { cause: error },
          );
        }
        const ceiling = Math.min(250, 2 * 2 ** Math.min(attempt - 1, 10));
        await sleep(Math.max(1, Math.min(Math.max(1, this.#transientBudgetMs - waited), Math.random() * ceiling)));
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError("CLOSED", "the store is closed");
  }
}

function classify(url: string, syncUrl: string | undefined): { kind: BackendKind; path: string | undefined } {
  if (url === ":memory:" || url === "file::memory:") return { kind: "memory", path: undefined };
  if (url.startsWith("file:")) {
    const rest = url.slice("file:".length).split("?")[0]!;
    if (rest === ":memory:") return { kind: "memory", path: undefined };
    if (rest === "" || rest === "//" || rest.endsWith("/")) {
      throw new CairnError("INVALID_ARGUMENT", `url ${JSON.stringify(url)} names no database file`, { argument: "url" });
    }
    const path = rest.startsWith("//") ? fileURLToPath(url.split("?")[0]!) : isAbsolute(rest) ? rest : resolve(rest);
    return { kind: syncUrl ? "replica" : "file", path };
  }
  if (/^(libsql|https?|wss?):/.test(url)) return { kind: "remote", path: undefined };
  throw new CairnError("INVALID_ARGUMENT", `url must start with file:, libsql:, http(s):, ws(s): or be ":memory:", got ${JSON.stringify(redact(url))}`, {
    argument: "url",
  });
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

/**
 * The createClient of the one @libsql/client entry the url needs, loaded on
 * first use: a file store never loads the http and WebSocket clients (about
 * 150 modules), a server store never loads the native libsql module.
 */
async function clientFactory(url: string): Promise<(config: Config) => Client> {
  // libsql: goes over HTTP, as @libsql/client's own root entry sends it.
  if (/^wss?:/i.test(url)) return (await import("@libsql/client/ws")).createClient;
  if (/^(https?|libsql):/i.test(url)) return (await import("@libsql/client/http")).createClient;
  try {
    requireEngine();
    return (await import("@libsql/client/sqlite3")).createClient;
  } catch (error) {
    throw engineUnavailable(url, error);
  }
}

/**
 * Loads the embedded engine (the `libsql` package, as @libsql/client resolves it)
 * with require before the import of @libsql/client/sqlite3. Where its native
 * module is missing, Node 20's import() rejects and also leaves the same error
 * uncaught, which ends the process (measured on 20.20; not on 22 or 24); require
 * throws it once, to the caller. Once loaded, the import reuses the module.
 */
function requireEngine(): void {
  const fromCairn = createRequire(import.meta.url);
  createRequire(fromCairn.resolve("@libsql/client/sqlite3"))("libsql");
}

/**
 * The error for a file:, :memory: or replica url when the embedded engine (the
 * native module of the `libsql` package, loaded when @libsql/client/sqlite3 is
 * imported) cannot load: its platform package was not installed (optional
 * dependencies omitted, a lockfile from another platform, an unsupported
 * platform) or the runtime refused it (Deno without --allow-ffi, --allow-sys
 * or --allow-env, measured on Deno 2.9). Says which runtime, what failed and
 * what works instead.
 */
function engineUnavailable(url: string, error: unknown): CairnError {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  const runtime = g.Bun ? `Bun ${g.Bun.version}` : g.Deno ? `Deno ${g.Deno.version.deno}` : `Node ${process.version}`;
  const reason = String((error as Error)?.message ?? error).split("\n")[0];
  const deno = g.Deno ? " (on Deno it needs --allow-ffi --allow-sys --allow-env, or -A)" : "";
  return new CairnError(
    "DATABASE",
    `cannot open ${redact(url)}: the embedded libSQL engine (the native module of the libsql package) did not load on ${runtime}, ` +
      `${process.platform}-${process.arch}: ${reason}. file: and :memory: stores need it${deno}; install the libsql package's native ` +
      `module for this platform (its optional dependencies), or use a libSQL server instead (url http://, ws:// or libsql://, e.g. sqld or Turso)`,
    { runtime, platform: process.platform, arch: process.arch },
    { cause: error },
  );
}

/** A LibsqlError (or its LibsqlBatchError) from whichever @libsql/client entry threw it: checked by name, as the entries load lazily. */
function isLibsqlError(error: unknown): error is LibsqlError {
  return error instanceof Error && (error.name === "LibsqlError" || error.name === "LibsqlBatchError") && typeof (error as LibsqlError).code === "string";
}

/**
 * Tries of a request a server refuses as busy before giving up, even past the
 * budget (a fresh-clone CI run saw sqld hold one refused request for 10 s under
 * full load, which used the whole 5 s budget in one try).
 */
const MIN_TRANSIENT_TRIES = 4;

/**
 * A server's refusal that left nothing applied and may pass if tried again:
 * SQLITE_BUSY or SQLITE_LOCKED (and their extended codes), as @libsql/client
 * reports them (for a batch, the failed statement's code: BEGIN IMMEDIATE,
 * a statement or COMMIT, after which the client's batch rolls back).
 */
function isTransient(error: unknown): boolean {
  if (!isLibsqlError(error)) return false;
  const codes = [error.code, error.extendedCode].filter((code): code is string => typeof code === "string");
  return codes.some((code) => /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code));
}

/** An error of the embedded engine (the `libsql` package's SqliteError: an extended code such as SQLITE_CONSTRAINT_NOTNULL, and the raw number). */
function isSqliteError(error: unknown): error is Error & { code: string; rawCode?: number } {
  return error instanceof Error && error.name === "SqliteError" && typeof (error as { code?: unknown }).code === "string";
}

/** SQLite's primary result codes by number (an extended code's low byte), as @libsql/client names them. */
const PRIMARY_CODES = [
  "SQLITE_OK", "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM", "SQLITE_ABORT", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_NOMEM",
  "SQLITE_READONLY", "SQLITE_INTERRUPT", "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTFOUND", "SQLITE_FULL", "SQLITE_CANTOPEN",
  "SQLITE_PROTOCOL", "SQLITE_EMPTY", "SQLITE_SCHEMA", "SQLITE_TOOBIG", "SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_MISUSE",
  "SQLITE_NOLFS", "SQLITE_AUTH", "SQLITE_FORMAT", "SQLITE_RANGE", "SQLITE_NOTADB", "SQLITE_NOTICE", "SQLITE_WARNING",
];

/**
 * A BLOB column as a plain Uint8Array: @libsql/client gives an ArrayBuffer, the
 * embedded engine a Buffer (viewed, not copied, so callers never see Buffer's
 * extra methods or its different equality).
 * @throws CairnError INTEGRITY when the column holds no bytes.
 */
export function toBytes(value: unknown): Uint8Array {
  if (Buffer.isBuffer(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new CairnError("INTEGRITY", `expected a BLOB column, got ${value === null ? "null" : typeof value}`);
}

/** Turns a libSQL error into a CairnError, keeping it as the cause. */
export function translate(error: unknown, what: string): CairnError {
  if (error instanceof CairnError) return error;
  if (isLibsqlError(error)) {
    if (error.code === "CLIENT_CLOSED") return new CairnError("CLOSED", "the store is closed", {}, { cause: error });
    return new CairnError("DATABASE", `${what}: ${error.message}`, { libsqlCode: error.code, extendedCode: error.extendedCode }, { cause: error });
  }
  if (isSqliteError(error)) {
    const primary = error.rawCode === undefined ? error.code : (PRIMARY_CODES[error.rawCode & 0xff] ?? `SQLITE_UNKNOWN_${error.rawCode & 0xff}`);
    return new CairnError("DATABASE", `${what}: ${error.message}`, { libsqlCode: primary, extendedCode: error.code }, { cause: error });
  }
  return new CairnError("DATABASE", `${what}: ${(error as Error)?.message ?? String(error)}`, {}, { cause: error });
}
