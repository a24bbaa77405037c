/**
 * What only a local file has: WAL, the busy timeout and the durability level
 * on its connection, the schema version check, and the default location.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterEach, describe, expect, it } from "vitest";
import { CairnError, openStore } from "../../src/index.js";
import { SCHEMA_VERSION } from "../../src/storage/libsql/schema.js";
import { DATABASE } from "../../src/store.js";
import { tempDir } from "../support/backends.js";

const dirs: Array<{ remove: () => void }> = [];
const newDir = () => {
  const d = tempDir();
  dirs.push(d);
  return d.dir;
};
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe("a file store", () => {
  it("applies durability normal to its connection (synchronous=NORMAL) and refuses it where the server decides", async () => {
    const path = join(newDir(), "normal.db");
    const store = await openStore({ url: `file:${path}`, durability: "normal" });
    const syncs = await Promise.all(Array.from({ length: 8 }, () => store[DATABASE].execute("PRAGMA synchronous")));
    expect(new Set(syncs.map((r) => Number(r.rows[0]![0])))).toEqual(new Set([1]));
    const { seq } = await store.session("s").commit({ turn: 1, snapshots: { execution: { ok: true } } });
    await store.close();
    // The level belongs to the handle, not the file: a default open is FULL again.
    const again = await openStore({ url: `file:${path}` });
    expect(Number((await again[DATABASE].execute("PRAGMA synchronous")).rows[0]![0])).toBe(2);
    expect((await again.session("s").latest())?.seq).toBe(seq);
    await again.close();
    for (const options of [
      { url: `file:${path}`, durability: "off" },
      { url: "http://127.0.0.1:1", durability: "normal" },
      { url: `file:${path}`, syncUrl: "http://127.0.0.1:1", durability: "normal" },
    ]) {
      const error = await openStore(options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe("INVALID_ARGUMENT");
      expect((error as CairnError).details.argument).toBe("durability");
    }
  });

  it("gives every pooled connection WAL, FULL sync and the busy timeout", async () => {
    const store = await openStore({ url: `file:${join(newDir(), "a.db")}`, busyTimeoutMs: 4321 });
    const db = store[DATABASE];
    // Concurrent statements make @libsql/client open several connections.
    const ask = (pragma: string) => Promise.all(Array.from({ length: 8 }, () => db.execute(`PRAGMA ${pragma}`)));
    const modes = await ask("journal_mode");
    const syncs = await ask("synchronous");
    const timeouts = await ask("busy_timeout");
    expect(new Set(modes.map((r) => String(r.rows[0]![0]).toLowerCase()))).toEqual(new Set(["wal"]));
    expect(new Set(syncs.map((r) => Number(r.rows[0]![0])))).toEqual(new Set([2]));
    expect(new Set(timeouts.map((r) => Number(r.rows[0]![0])))).toEqual(new Set([4321]));
    await store.close();
  });

  it("shows why cairn sets no per-connection PRAGMA: one set by statement reaches only one connection", async () => {
    const client = createClient({ url: `file:${join(newDir(), "drift.db")}` });
    await client.execute("PRAGMA synchronous = OFF");
    const seen = await Promise.all(Array.from({ length: 8 }, () => client.execute("PRAGMA synchronous")));
    const values = new Set(seen.map((r) => Number(r.rows[0]![0])));
    expect(values.has(2)).toBe(true);
    expect(values.size).toBeGreaterThan(1);
    client.close();
  });

  it("refuses a database of a newer schema with SCHEMA_TOO_NEW and leaves it untouched", async () => {
    const path = join(newDir(), "newer.db");
    const client = createClient({ url: `file:${path}` });
    await client.batch(["CREATE TABLE future (x)", `PRAGMA user_version = ${SCHEMA_VERSION + 1}`], "write");
    client.close();
    const before = createHash("sha256").update(readFileSync(path)).digest("hex");
    const error = await openStore({ url: `file:${path}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).code).toBe("SCHEMA_TOO_NEW");
    expect((error as CairnError).details).toMatchObject({ found: SCHEMA_VERSION + 1, supported: SCHEMA_VERSION });
    expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(before);
    const check = createClient({ url: `file:${path}` });
    expect(Number((await check.execute("PRAGMA user_version")).rows[0]![0])).toBe(SCHEMA_VERSION + 1);
    expect(String((await check.execute("PRAGMA journal_mode")).rows[0]![0])).toBe("delete");
    expect((await check.execute("SELECT name FROM sqlite_schema WHERE name = 'blobs'")).rows).toHaveLength(0);
    check.close();
  });

  it("records the schema version, and opens its own database again", async () => {
    const path = join(newDir(), "v.db");
    const store = await openStore({ url: `file:${path}` });
    await store.session("s").commit({ turn: 1, snapshots: { execution: "x" } });
    await store.close();
    const again = await openStore({ url: `file:${path}` });
    expect(Number((await again[DATABASE].execute("PRAGMA user_version")).rows[0]![0])).toBe(SCHEMA_VERSION);
    expect((await again.session("s").latest())?.snapshots.execution).toBe("x");
    await again.close();
  });

  it("defaults to .cairn/cairn.db under the working directory, creating the folder", async () => {
    const dir = newDir();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const store = await openStore();
      expect(store.url).toBe("file:.cairn/cairn.db");
      expect(store.backend).toBe("file");
      await store.blobs.put(new Uint8Array([1, 2, 3]));
      await store.close();
      expect(existsSync(join(dir, ".cairn", "cairn.db"))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it("validates options before opening anything", async () => {
    const dir = newDir();
    const bad = [
      { url: "postgres://x" },
      { url: "" },
      { profile: "turbo" },
      { moveOutThreshold: 1 },
      { chunking: { min: 4096, avg: 1024, max: 8192 } },
      { busyTimeoutMs: -5 },
      { url: ":memory:", syncUrl: "http://127.0.0.1:1" },
      { create: "no" },
    ];
    for (const options of bad) {
      const error = await openStore({ url: `file:${join(dir, "x.db")}`, ...(options as object) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(options)).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe("INVALID_ARGUMENT");
    }
    expect(existsSync(join(dir, "x.db"))).toBe(false);
  });

  it("with create: false, refuses a missing file with NOT_FOUND and creates nothing, and opens an existing one", async () => {
    const dir = join(newDir(), "not-yet");
    const url = `file:${join(dir, "c.db")}`;
    const error = await openStore({ url, create: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).code).toBe("NOT_FOUND");
    expect((error as CairnError).details).toEqual({ path: join(dir, "c.db"), reason: "missing" });
    expect(existsSync(dir)).toBe(false);

    const created = await openStore({ url });
    await created.session("s").commit({ turn: 1, snapshots: { tool: { a: 1 } } });
    await created.close();
    // An existing file that is not a cairn store (empty, or another application's) is refused untouched.
    for (const [name, setup] of [["empty.db", []], ["other-app.db", ["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO users (name) VALUES ('ada')"]]] as const) {
      const path = join(dir, name);
      const client = createClient({ url: `file:${path}` });
      for (const sql of setup) await client.execute(sql);
      client.close();
      const before = readFileSync(path);
      const refused = await openStore({ url: `file:${path}`, create: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused, name).toBeInstanceOf(CairnError);
      expect((refused as CairnError).code, name).toBe("NOT_FOUND");
      expect((refused as CairnError).details, name).toEqual({ path, reason: "not-a-store" });
      expect(readFileSync(path).equals(before), name).toBe(true);
    }
    const reopened = await openStore({ url, create: false });
    expect((await reopened.session("s").latest())?.snapshots).toEqual({ tool: { a: 1 } });
    await reopened.close();
  });
});
