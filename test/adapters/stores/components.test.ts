/**
 * Components: the session stores' tables are versioned apart from the core schema.
 * A store from schema v2 is recognised as session-stores version 1 without a
 * write; a newer component version is refused untouched; a component's own
 * migrations run once, recorded in `components`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../../src/index.js";
import { EventLog, UsageLedger } from "../../../src/adapters/stores/index.js";
import { componentVersion, ensureComponent, type Component } from "../../../src/storage/libsql/components.js";
import { SESSION_STORES } from "../../../src/storage/libsql/libsql-session-stores.js";
import { DATABASE } from "../../../src/store.js";
import { expectCode, rowCounts } from "./helpers.js";

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function open(): Promise<Store> {
  const store = await openStore({ url: ":memory:" });
  stores.push(store);
  return store;
}

const hasComponentsTable = async (store: Store) =>
  Number((await store[DATABASE].execute("SELECT count(*) FROM sqlite_schema WHERE name = 'components'")).rows[0]![0]) > 0;

describe("components", () => {
  it("recognises the session stores' tables of a core v2 store as version 1, writing nothing", async () => {
    const store = await open();
    expect(await componentVersion(store[DATABASE], SESSION_STORES)).toBe(1);
    await new EventLog(store, "s").append({ type: "x" });
    await new UsageLedger(store).record("s", { source: "a", model: "m", inputTokens: 1, outputTokens: 1 });
    expect(await hasComponentsTable(store)).toBe(false);
  });

  it("refuses a store whose session-stores tables are newer, writing nothing", async () => {
    const store = await open();
    await store[DATABASE].writeBatch([
      "CREATE TABLE components (name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID",
      { sql: "INSERT INTO components VALUES (?, ?)", args: [SESSION_STORES.name, SESSION_STORES.version + 1] },
    ]);
    const before = await rowCounts(store);
    const error = await expectCode(new EventLog(store, "s").append({ type: "x" }), "SCHEMA_TOO_NEW");
    expect(error.details).toMatchObject({ component: "session-stores", found: SESSION_STORES.version + 1, supported: SESSION_STORES.version });
    await expectCode(new UsageLedger(store).commit("s", { turn: 1, snapshots: { execution: 1 } }, { source: "a", model: "m", inputTokens: 1, outputTokens: 1 }), "SCHEMA_TOO_NEW");
    expect(await rowCounts(store)).toEqual(before);
  });

  it("runs a component's own migrations once, in order, and records its version", async () => {
    const store = await open();
    const db = store[DATABASE];
    const v1: Component = { name: "test-widgets", version: 1, migrations: { 1: ["CREATE TABLE widgets (id INTEGER PRIMARY KEY)"] } };
    expect(await componentVersion(db, v1)).toBe(0);
    await Promise.all([ensureComponent(db, v1), ensureComponent(db, v1)]);
    expect(await componentVersion(db, v1)).toBe(1);
    const v2: Component = { ...v1, version: 2, migrations: { ...v1.migrations, 2: ["ALTER TABLE widgets ADD COLUMN name TEXT"] } };
    await ensureComponent(db, v2);
    expect(await componentVersion(db, v2)).toBe(2);
    expect((await db.execute("SELECT name FROM pragma_table_info('widgets') ORDER BY cid")).rows.map((r) => String(r[0]))).toEqual(["id", "name"]);
    // The core's own version is untouched, and the session stores still count as version 1.
    expect(await componentVersion(db, SESSION_STORES)).toBe(1);
  });
});
