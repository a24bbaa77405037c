/**
 * Components: tables an adapter needs, versioned apart from the core schema.
 *
 * The core schema is versioned by `PRAGMA user_version` (schema.ts). A component
 * (the session stores' tables, and any adapter's later) has a name, a version
 * and forward-only migrations of its own, declared next to its SQL in the floor
 * and brought up to date by {@link ensureComponent} the first time the adapter
 * uses a store handle, not by openStore. Its version is recorded in the table
 * `components (name, version)`, which the first component migration creates.
 *
 * Recognition without a record: a component that a core migration installed
 * before components had versions of their own (core schema v2 made the
 * session stores' tables) declares `installedAtCore`; a store at that core
 * version or later with no row for it is at version 1, and nothing is written
 * to recognise it. So stores written by schema v2 open unchanged.
 *
 * A store whose recorded version of a component is newer than this build's is
 * refused with SCHEMA_TOO_NEW (details.component), untouched, as the core
 * refuses a newer schema.
 */
import { CairnError } from "../../errors.js";
import type { Database } from "./database.js";

/** A component's schema: its name, the version this build writes, and its migrations. */
export interface Component {
  readonly name: string;
  readonly version: number;
  /** Statements by the version they produce; each version runs in one write transaction with its record. */
  readonly migrations: Readonly<Record<number, readonly string[]>>;
  /** The core schema version whose migration installed version 1 of this component (for stores from before component versions). */
  readonly installedAtCore?: number;
}

const COMPONENTS_TABLE = `CREATE TABLE IF NOT EXISTS components (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL
) WITHOUT ROWID`;

/** Per database handle, the components already brought up to date (or being). */
const ready = new WeakMap<Database, Map<string, Promise<void>>>();

/**
 * Brings `component`'s tables in `db` to `component.version`, once per database
 * handle (a failure is retried on the next call).
 * @throws CairnError SCHEMA_TOO_NEW when the store records a newer version of it.
 */
export function ensureComponent(db: Database, component: Component): Promise<void> {
  let done = ready.get(db);
  if (done === undefined) ready.set(db, (done = new Map()));
  const key = `${component.name}@${component.version}`;
  let pending = done.get(key);
  if (pending === undefined) {
    pending = migrateComponent(db, component);
    done.set(key, pending);
    pending.catch(() => done.delete(key));
  }
  return pending;
}

/** The version of `component` the store holds: recorded, recognised from the core version, or 0. */
export async function componentVersion(db: Database, component: Component): Promise<number> {
  const [table, core] = await db.readBatch([
    { sql: "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'components'", args: [] },
    { sql: "PRAGMA user_version", args: [] },
  ]);
  if (Number(table!.rows[0]![0]) > 0) {
    const row = (await db.execute("SELECT version FROM components WHERE name = ?", [component.name])).rows[0];
    if (row !== undefined) return Number(row[0]);
  }
  const installedAt = component.installedAtCore;
  return installedAt !== undefined && Number(core!.rows[0]![0]) >= installedAt ? 1 : 0;
}

async function migrateComponent(db: Database, component: Component): Promise<void> {
  const found = await componentVersion(db, component);
  if (found > component.version) {
    throw new CairnError(
      "SCHEMA_TOO_NEW",
      `the store's ${component.name} tables have version ${found}; this cairn reads up to ${component.version}. Upgrade cairn to use them.`,
      { component: component.name, found, supported: component.version },
    );
  }
  for (let version = found + 1; version <= component.version; version++) {
    try {
      await db.writeBatch([
        COMPONENTS_TABLE,
        ...component.migrations[version]!,
        { sql: "INSERT INTO components (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version", args: [component.name, version] },
      ]);
    } catch (error) {
      // Two handles migrating at once: the loser finds the version recorded.
      if ((await componentVersion(db, component)) >= version) continue;
      throw error;
    }
  }
}
