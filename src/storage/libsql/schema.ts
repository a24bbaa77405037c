/**
 * The core schema and its forward-only migrations, versioned with PRAGMA user_version.
 * A database from a newer cairn is refused, never rewritten. Adapters' tables are
 * versioned apart, as components (components.ts).
 */
import { CairnError } from "../../errors.js";
import type { Database } from "./database.js";
import { SESSION_STORES } from "./libsql-session-stores.js";

/** The schema version this build writes. */
export const SCHEMA_VERSION = 4;

/** Migrations by the version they produce; each runs in one write transaction. */
const MIGRATIONS: Record<number, string[]> = {
  1: [
    `CREATE TABLE blobs (
      id INTEGER PRIMARY KEY,
      ref BLOB NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      encoding INTEGER NOT NULL,
      size INTEGER NOT NULL,
      stored_size INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      data BLOB NOT NULL
    )`,
    `CREATE TABLE edges (
      src INTEGER NOT NULL,
      dst INTEGER NOT NULL,
      PRIMARY KEY (src, dst)
    ) WITHOUT ROWID`,
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      head INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID`,
    `CREATE TABLE history (
      session TEXT NOT NULL,
      seq INTEGER NOT NULL,
      manifest INTEGER NOT NULL,
      turn INTEGER NOT NULL,
      label TEXT,
      meta BLOB,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (session, seq)
    ) WITHOUT ROWID`,
    `CREATE INDEX history_label ON history (session, label)`,
    `CREATE INDEX history_manifest ON history (manifest)`,
    `CREATE INDEX edges_dst ON edges (dst)`,
    `CREATE TABLE pins (
      name TEXT PRIMARY KEY,
      blob INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    ) WITHOUT ROWID`,
  ],
  // Frozen: version 2 installed version 1 of the session stores' tables (the
  // component `session-stores`, whose statements live in libsql-session-stores.ts).
  // Tables an adapter adds later are migrations of its component, with a version
  // of their own (components.ts), never core versions.
  2: [...SESSION_STORES.migrations[1]!],
  // The commit identifier (one outcome per commit, even when a client retries
  // after losing the answer), unique within a session where present. Stores
  // first written by cairn 0.1 lack two indexes version 1 has since gained, and
  // the edges schema-1 code did not record from chunked values to the blobs
  // they link to: only the blob layer can read those links, so a store with
  // blobs is marked for the `content-edges` repair, which the next open runs
  // (and runs again if it is interrupted) before anything else.
  3: [
    `ALTER TABLE history ADD COLUMN commit_id TEXT`,
    `CREATE UNIQUE INDEX history_commit ON history (session, commit_id) WHERE commit_id IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS history_manifest ON history (manifest)`,
    `CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst)`,
    `CREATE TABLE repairs (name TEXT PRIMARY KEY) WITHOUT ROWID`,
    `INSERT INTO repairs (name) SELECT 'content-edges' WHERE EXISTS (SELECT 1 FROM blobs)`,
  ],
  // Retention policies kept in the store, which gc applies (maintenance/retention.ts):
  // scope '' is the store's default, 's:<id>' one session, 'p:<prefix>' the sessions whose
  // id starts with the prefix. And where a session was forked from (session and seq), so
  // retention keeps the checkpoint a fork branched at; forks made before carry none.
  4: [
    `CREATE TABLE retention (
      scope TEXT PRIMARY KEY,
      keep_last INTEGER,
      keep_for INTEGER,
      expire_after INTEGER,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID`,
    `ALTER TABLE sessions ADD COLUMN forked_from TEXT`,
    `ALTER TABLE sessions ADD COLUMN forked_at INTEGER`,
    `CREATE INDEX sessions_fork ON sessions (forked_from, forked_at) WHERE forked_from IS NOT NULL`,
  ],
};

/**
 * Brings the database to {@link SCHEMA_VERSION}.
 * @throws CairnError SCHEMA_TOO_NEW when the database was written by a newer schema;
 *   nothing is written then.
 */
export async function migrate(db: Database, { create = true }: { readonly create?: boolean } = {}): Promise<void> {
  const found = await readVersion(db);
  if (found === 0 && !create) {
    throw new CairnError("NOT_FOUND", `${db.path ?? db.url} is not a cairn store (its schema version is 0); nothing was written to it`, { path: db.path, reason: "not-a-store" });
  }
  if (found > SCHEMA_VERSION) {
    throw new CairnError("SCHEMA_TOO_NEW", `the database has schema version ${found}; this cairn reads up to ${SCHEMA_VERSION}. Upgrade cairn to open it.`, {
      found,
      supported: SCHEMA_VERSION,
    });
  }
  // A new database returns the pages gc frees to the file system (design.md, "Giving the disk back"):
  // auto-vacuum can only be chosen before the first table, and before WAL mode. A libSQL
  // server refuses the statement (it manages its own file), and a replica's file is the primary's copy.
  if (found === 0 && (db.kind === "file" || db.kind === "memory")) await db.execute("PRAGMA auto_vacuum = INCREMENTAL");
  await db.useWal();
  for (let version = found + 1; version <= SCHEMA_VERSION; version++) {
    try {
      await db.writeBatch([...MIGRATIONS[version]!, `PRAGMA user_version = ${version}`]);
    } catch (error) {
      // Two processes opening a new database at once: the loser finds the tables made.
      if ((await readVersion(db)) >= version) continue;
      throw error;
    }
  }
}

/** The schema version recorded in the database (0 for a new one). */
export async function readVersion(db: Database): Promise<number> {
  const result = await db.execute("PRAGMA user_version");
  return Number(result.rows[0]?.[0] ?? 0);
}
