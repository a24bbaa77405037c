/**
 * openStore: parses and validates the options once, opens the database, brings
 * its schema up to date, and hands out the blob, value, checkpoint and session APIs.
 */
import { CairnError, describe } from "./errors.js";
import { Database, type BackendKind } from "./storage/libsql/database.js";
import { migrate } from "./storage/libsql/schema.js";
import { LibsqlStorage } from "./storage/libsql/libsql-storage.js";
import { libsqlAdapterStorage } from "./storage/libsql/libsql-adapter-storage.js";
import { LibsqlMaintenance } from "./storage/libsql/libsql-maintenance.js";
import { LibsqlUsage } from "./storage/libsql/libsql-usage.js";
import { COMPRESSION_PROFILES, type CompressionProfile } from "./codec/compression.js";
import { DEFAULT_CHUNKING, type ChunkingParams } from "./codec/chunker.js";
import type { BlobContext } from "./blob/context.js";
import { StringCache } from "./blob/large-string-cache.js";
import { PartCache } from "./blob/part-cache.js";
import { BlobStore, ValueStore } from "./blob/blob-store.js";
import { CheckpointStore } from "./checkpoint/checkpoint-store.js";
import { Session, SessionList } from "./session/session.js";
import type { Ref } from "./hash/ref.js";
import type {
  VerifyOptions,
  VerifyReport,
  GcOptions,
  GcReport,
  PinInfo,
  Retention,
  StoreStats,
  DuOptions,
  DuReport,
  Timeline,
  TimelineOptions,
  ExportOptions,
  ExportResult,
  ImportOptions,
  ImportResult,
} from "./maintenance/index.js";
import type { CheckpointDiff, DiffOptions, RefLike, ValueDiff } from "./checkpoint/diff.js";

// Diff (with its rfc6902 and diff libraries) and maintenance load on first use:
// opening a store and reading its sessions never pays for their import.
/**
 * How long a commit to a libSQL server whose outcome was lost keeps retrying
 * under its commit id before it gives up with DATABASE (details.commitId): long
 * enough for a server restart (sqld restarted here in under 1 s).
 */
const COMMIT_RETRY_MS = 10_000;

const loadDiff = () => import("./checkpoint/diff.js");
const loadMaintenance = () => import("./maintenance/index.js");

/** Options for {@link openStore}. Every field is optional. */
export interface StoreOptions {
  /**
   * Where the database lives: `file:path.db` (embedded, the default is
   * `file:.cairn/cairn.db` under the working directory, folder created),
   * `:memory:`, or a libSQL server (`http://`, `ws://`, `libsql://`).
   */
  readonly url?: string;
  /** Token for a libSQL server. */
  readonly authToken?: string;
  /** With a `file:` url: keep it as an embedded replica of this server. */
  readonly syncUrl?: string;
  /** Seconds between background syncs of an embedded replica. */
  readonly syncInterval?: number;
  /** Compression profile for new blobs. Default `fast`. */
  readonly profile?: CompressionProfile;
  /** Strings and byte arrays inside values of at least this many bytes are stored as blobs of their own. Default 16 KiB. */
  readonly moveOutThreshold?: number;
  /** Blobs larger than this are stored as content-defined chunks. Default 8 KiB. */
  readonly chunkAbove?: number;
  /** Chunk sizes for content-defined chunking. */
  readonly chunking?: ChunkingParams;
  /** The largest blob the store writes or reads. Default 1 GiB. */
  readonly maxBlobBytes?: number;
  /** How long a write waits for another process's lock on a file, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Whether a `file:` store that does not exist yet is created (with its folder).
   * Default true. With false, a missing file, or a file that is not a cairn store
   * (empty, or another application's SQLite database), is refused with NOT_FOUND
   * and nothing is created or written (`details.reason` is `"missing"` or
   * `"not-a-store"`): for tools that only read or check a store. Other backends
   * ignore it.
   */
  readonly create?: boolean;
  /**
   * What an acknowledged commit survives, on a `file:` store (WAL):
   * - `"full"` (default): a process crash and a power loss or OS crash. Every
   *   commit waits for an fsync of the WAL (SQLite `synchronous=FULL`).
   * - `"normal"`: a process crash (SIGKILL, an exception, OOM): the commit is in
   *   the WAL file when commit returns. A power loss or OS crash may lose the
   *   last commits (never tear one: the store stays whole at an earlier head).
   *   The WAL is synced at checkpoints only (SQLite `synchronous=NORMAL`, what
   *   LangGraph's SqliteSaver runs with through better-sqlite3).
   * A `:memory:` store survives neither and ignores it; on a libSQL server the
   * server decides, so any value but `"full"` is refused there.
   */
  readonly durability?: Durability;
}

/** What an acknowledged commit survives: see {@link StoreOptions.durability}. */
export type Durability = "full" | "normal";

export const DEFAULT_URL = "file:.cairn/cairn.db";

/** @internal The store's database, for cairn's own tests and maintenance tools. */
export const DATABASE: unique symbol = Symbol.for("cairn.database") as never;

/** @internal The store's blob context (database and settings), for cairn's own layers above blob/. Throws CLOSED once closed. */
export const CONTEXT: unique symbol = Symbol.for("cairn.context") as never;

/** An opened cairn store. */
export interface Store {
  /** @internal */
  readonly [DATABASE]: Database;
  /** @internal */
  readonly [CONTEXT]: () => BlobContext;
  /** Raw bytes by ref. */
  readonly blobs: BlobStore;
  /** Any supported value by ref, as canonical MessagePack. */
  readonly values: ValueStore;
  /** Checkpoints (manifests and their slots) by ref. */
  readonly checkpoints: CheckpointStore;
  /** The sessions of the store. */
  readonly sessions: SessionList;
  /** Where the database lives. */
  readonly url: string;
  /** Which kind of backend the url names. */
  readonly backend: BackendKind;
  /** The session `id` (created by its first commit). @throws CairnError INVALID_ARGUMENT for an empty or oversized id. */
  session(id: string): Session;
  /**
   * Diffs two checkpoints (refs, commit results or hydrated checkpoints): slots added, removed,
   * changed (as RFC 6902 operations under /snapshots/<slot>) or unchanged (never read), and turn,
   * pluginRevision and meta changes. See docs/diff.md.
   * @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY (not a checkpoint, or corrupt), INVALID_ARGUMENT, CLOSED.
   * @example expect(await store.diff(before, after)).toChangeOnly(["/snapshots/tool"]);
   */
  diff(a: RefLike, b: RefLike, options?: DiffOptions): Promise<CheckpointDiff>;
  /** Diffs two stored values; equal refs read nothing. @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY, INVALID_ARGUMENT, CLOSED. */
  diffValues(a: RefLike, b: RefLike, options?: DiffOptions): Promise<ValueDiff>;
  /**
   * Re-hashes every blob and checks every edge, manifest, history row and pin. Read-only: returns
   * every finding, never stops at the first, never repairs. See docs/maintenance.md.
   */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /**
   * Garbage collection: optional retention (keepLast, olderThan), then deletes the blobs no root
   * reaches that are older than the grace period. `dryRun` returns the plan. See docs/maintenance.md.
   */
  gc(options?: GcOptions): Promise<GcReport>;
  /**
   * Retention policies kept in the store (keep the last N checkpoints, keep those younger than a
   * duration, expire a session after a time without commits), per session, per session-id
   * prefix, or for every session; gc applies them. See docs/maintenance.md, "Retention policies".
   */
  readonly retention: Retention;
  /** Points the pin `name` (a named root that gc keeps) at the stored blob `ref`. @throws CairnError NOT_FOUND, INVALID_ARGUMENT. */
  pin(name: string, ref: Ref | string): Promise<PinInfo>;
  /** Removes the pin `name`; true if it existed. */
  unpin(name: string): Promise<boolean>;
  /** Every pin, by name. */
  listPins(): Promise<PinInfo[]>;
  /** Counts, sizes by kind, dedup and compression ratios. */
  stats(): Promise<StoreStats>;
  /**
   * Where the bytes are: per session (by id; `limit` / `after` page), the stored bytes only it
   * reaches (what deleting it and a gc free), those it shares, its checkpoints and last commit;
   * store totals (history, pins only, garbage); the largest blobs and who reaches them.
   * Read-only, one read transaction. See docs/maintenance.md, "du".
   * @throws CairnError INVALID_ARGUMENT, NOT_FOUND (`session` is not in the store).
   */
  du(options?: DuOptions): Promise<DuReport>;
  /**
   * A page of one session's history, newest first (`before` / `limit` page back), with each
   * checkpoint's stored bytes (everything it reaches), the stored bytes it added over the
   * previous checkpoint, and the logical size of its state; where the session was forked from
   * and the sessions forked from it. Read-only, one read transaction, reads no blob bytes; the
   * cost follows the page, not the history. See docs/ui.md, "Timeline figures".
   * @throws CairnError INVALID_ARGUMENT, NOT_FOUND (no such session), CLOSED, DATABASE.
   */
  timeline(session: string, options?: TimelineOptions): Promise<Timeline>;
  /** Writes sessions (default: all, with pins) and exactly the blobs they reach to a portable bundle. */
  exportBundle(options: ExportOptions): Promise<ExportResult>;
  /** Checks a bundle whole (every hash), then writes what the store lacks; idempotent. */
  importBundle(options: ImportOptions): Promise<ImportResult>;
  /** Pulls changes from the primary into an embedded replica; a no-op elsewhere. */
  sync(): Promise<void>;
  /** Closes the store; later calls throw CLOSED. Files get their WAL merged first. */
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) a cairn store.
 *
 * Guarantee: the options are validated before anything is opened; a database from
 * a newer cairn is refused untouched.
 * @throws CairnError INVALID_ARGUMENT (bad option), NOT_FOUND (a missing file with `create: false`), SCHEMA_TOO_NEW, DATABASE.
 * @example
 * const store = await openStore();                       // .cairn/cairn.db
 * const mem = await openStore({ url: ":memory:" });
 * const remote = await openStore({ url: "http://127.0.0.1:8080" });
 */
export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const config = parseOptions(options);
  const db = await Database.open({
    url: config.url,
    authToken: options.authToken,
    syncUrl: options.syncUrl,
    syncInterval: options.syncInterval,
    busyTimeoutMs: config.busyTimeoutMs,
    create: config.create,
    durability: config.durability,
  });
  try {
    // create: false never turns a file that is not a cairn store (empty, or another app's) into one.
    await migrate(db, { create: config.create || db.kind !== "file" });
  } catch (error) {
    await db.close();
    throw error;
  }
  const ctx: BlobContext = {
    storage: new LibsqlStorage(db),
    adapters: libsqlAdapterStorage(db),
    maintenance: new LibsqlMaintenance(db),
    usage: new LibsqlUsage(db),
    profile: config.profile,
    moveOutThreshold: config.moveOutThreshold,
    chunkAbove: config.chunkAbove,
    chunking: config.chunking,
    maxBlobBytes: config.maxBlobBytes,
    knownStored: new Set(),
    strings: new StringCache(),
    parts: new PartCache(),
    knownValues: new Set(),
    commitRetryMs: db.kind === "remote" || db.kind === "replica" ? COMMIT_RETRY_MS : 0,
  };
  try {
    // A store migrated from before schema 3 first gets the edges its content implies (see maintenance/repair.ts).
    if ((await ctx.maintenance.pendingRepairs()).length > 0) await (await loadMaintenance()).runRepairs(ctx);
  } catch (error) {
    await db.close();
    throw error;
  }
  const live = (): BlobContext => {
    if (db.closed) throw new CairnError("CLOSED", "the store is closed");
    return ctx;
  };
  const store: Store = {
    [DATABASE]: db,
    [CONTEXT]: live,
    blobs: new BlobStore(live),
    values: new ValueStore(live),
    checkpoints: new CheckpointStore(live),
    sessions: new SessionList(live),
    url: config.url,
    backend: db.kind,
    session: (id: string) => new Session(live, id),
    diff: async (a, b, options) => (await loadDiff()).diffCheckpoints(live(), a, b, options),
    diffValues: async (a, b, options) => (await loadDiff()).diffStoredValues(live(), a, b, options),
    sync: () => db.sync(),
    close: () => db.close(),
    verify: async (options) => (await loadMaintenance()).verify(live(), options),
    gc: async (options) => (await loadMaintenance()).gc(live(), options),
    retention: {
      set: async (scope, policy) => (await loadMaintenance()).retention(live()).set(scope, policy),
      get: async (scope) => (await loadMaintenance()).retention(live()).get(scope),
      remove: async (scope) => (await loadMaintenance()).retention(live()).remove(scope),
      list: async () => (await loadMaintenance()).retention(live()).list(),
      forSession: async (sessionId) => (await loadMaintenance()).retention(live()).forSession(sessionId),
    },
    pin: async (name, ref) => (await loadMaintenance()).pin(live(), name, ref),
    unpin: async (name) => (await loadMaintenance()).unpin(live(), name),
    listPins: async () => (await loadMaintenance()).listPins(live()),
    stats: async () => (await loadMaintenance()).stats(live()),
    du: async (options) => (await loadMaintenance()).du(live(), options),
    timeline: async (session, options) => (await loadMaintenance()).timeline(live(), session, options),
    exportBundle: async (options) => (await loadMaintenance()).exportBundle(live(), options),
    importBundle: async (options) => (await loadMaintenance()).importBundle(live(), options),
  };
  return store;
}

interface ParsedOptions {
  url: string;
  profile: CompressionProfile;
  moveOutThreshold: number;
  chunkAbove: number;
  chunking: ChunkingParams;
  maxBlobBytes: number;
  busyTimeoutMs: number;
  create: boolean;
  durability: Durability;
}

function parseOptions(options: StoreOptions): ParsedOptions {
  if (typeof options !== "object" || options === null) {
    throw new CairnError("INVALID_ARGUMENT", `openStore takes an options object, got ${describe(options)}`, { argument: "options" });
  }
  const bad = (name: string, want: string, actual: unknown) =>
    new CairnError("INVALID_ARGUMENT", `${name} must be ${want}, got ${describe(actual)}`, { argument: name, actual: describe(actual) });
  const int = (name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) throw bad(name, `an integer from ${min} to ${max}`, value);
    return value as number;
  };
  const url = options.url ?? DEFAULT_URL;
  if (typeof url !== "string" || url.length === 0) throw bad("url", "a non-empty string", url);
  const profile = options.profile ?? "fast";
  if (!COMPRESSION_PROFILES.includes(profile)) throw bad("profile", `one of ${COMPRESSION_PROFILES.join(", ")}`, profile);
  const chunking = options.chunking ?? DEFAULT_CHUNKING;
  if (typeof chunking !== "object" || chunking === null) throw bad("chunking", "an object { min, avg, max }", chunking);
  const min = int("chunking.min", chunking.min, DEFAULT_CHUNKING.min, 64);
  const avg = int("chunking.avg", chunking.avg, DEFAULT_CHUNKING.avg, min * 2);
  const max = int("chunking.max", chunking.max, DEFAULT_CHUNKING.max, avg * 2, 16 * 1024 * 1024);
  if (options.syncUrl !== undefined && (typeof options.syncUrl !== "string" || !url.startsWith("file:"))) {
    throw bad("syncUrl", "a server URL, with a file: url for the local replica", options.syncUrl);
  }
  if (options.authToken !== undefined && typeof options.authToken !== "string") throw bad("authToken", "a string", options.authToken);
  if (options.syncInterval !== undefined && (typeof options.syncInterval !== "number" || !(options.syncInterval > 0))) {
    throw bad("syncInterval", "a positive number of seconds", options.syncInterval);
  }
  if (options.create !== undefined && typeof options.create !== "boolean") throw bad("create", "a boolean", options.create);
  const durability = options.durability ?? "full";
  if (durability !== "full" && durability !== "normal") throw bad("durability", `"full" or "normal"`, durability);
  if (durability !== "full" && (/^(libsql|https?|wss?):/i.test(url) || options.syncUrl !== undefined)) {
    throw bad("durability", `"full" on a libSQL server or replica (the server decides how it syncs)`, durability);
  }
  const known = new Set(["url", "authToken", "syncUrl", "syncInterval", "profile", "moveOutThreshold", "chunkAbove", "chunking", "maxBlobBytes", "busyTimeoutMs", "create", "durability"]);
  for (const key of Object.keys(options)) if (!known.has(key)) throw bad(key, "a known option (is it misspelled?)", (options as Record<string, unknown>)[key]);
  return {
    url,
    profile,
    moveOutThreshold: int("moveOutThreshold", options.moveOutThreshold, 16 * 1024, 64),
    chunkAbove: int("chunkAbove", options.chunkAbove, 8 * 1024, min),
    chunking: { min, avg, max },
    maxBlobBytes: int("maxBlobBytes", options.maxBlobBytes, 1024 * 1024 * 1024, 1024),
    busyTimeoutMs: int("busyTimeoutMs", options.busyTimeoutMs, 5000, 0),
    create: options.create ?? true,
    durability,
  };
}
