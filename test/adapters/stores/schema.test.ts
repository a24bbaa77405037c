/**
 * Migration 2 (the event log's and usage ledger's tables): a version 1 database
 * is brought forward on open, keeping everything it held.
 */
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../../src/index.js";
import { EventLog, UsageLedger } from "../../../src/adapters/stores/index.js";
import { SCHEMA_VERSION } from "../../../src/storage/libsql/schema.js";
import { DATABASE } from "../../../src/store.js";
import { tempDir } from "../../support/backends.js";

const dirs: Array<{ remove: () => void }> = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe("schema version 2", () => {
  it("is this build's version", () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
  });

  it("upgrades a version 1 database in place, keeping its sessions", async () => {
    const dir = tempDir("cairn-stores-schema-");
    dirs.push(dir);
    const url = `file:${join(dir.dir, "old.db")}`;
    const store = await openStore({ url });
    await store.session("kept").commit({ turn: 1, snapshots: { execution: { hello: "world" } } });
    await store.close();
    // Take the file back to what version 1 wrote: no events or usage tables, no commit ids or repairs table (version 3),
    // no retention table or fork columns (version 4).
    const client = createClient({ url });
    await client.batch(
      [
        "DROP TABLE events",
        "DROP TABLE usage",
        "DROP INDEX history_commit",
        "ALTER TABLE history DROP COLUMN commit_id",
        "DROP TABLE repairs",
        "DROP TABLE retention",
        "DROP INDEX sessions_fork",
        "ALTER TABLE sessions DROP COLUMN forked_at",
        "ALTER TABLE sessions DROP COLUMN forked_from",
        "PRAGMA user_version = 1",
      ],
      "write",
    );
    client.close();

    const upgraded = await openStore({ url });
    expect(Number((await upgraded[DATABASE].execute("PRAGMA user_version")).rows[0]![0])).toBe(SCHEMA_VERSION);
    expect((await upgraded.session("kept").latest())?.snapshots.execution).toEqual({ hello: "world" });
    await new EventLog(upgraded, "kept").append({ type: "after-upgrade" });
    await new UsageLedger(upgraded).record("kept", { source: "agent", model: "m", inputTokens: 1, outputTokens: 2 });
    expect(await new EventLog(upgraded, "kept").head()).toBe(1);
    expect((await new UsageLedger(upgraded).totals()).totalTokens).toBe(3);
    const indexes = await upgraded[DATABASE].execute("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('events', 'usage') ORDER BY name");
    expect(indexes.rows.map((r) => String(r[0]))).toEqual(["events_session_seq", "usage_model", "usage_session"]);
    await upgraded.close();
  });
});
