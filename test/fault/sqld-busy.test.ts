/**
 * SQLITE_BUSY from a libSQL server is absorbed within busyTimeoutMs, and only
 * then surfaces, typed, saying nothing was applied (issue 9). The contention is
 * real: a second connection on sqld's own database file (the embedded engine,
 * in this process) holds the write lock with BEGIN IMMEDIATE, so sqld's write
 * waits its own ~100 ms and answers SQLITE_BUSY, exactly as under four writer
 * processes (test/fault/sqld-contention.test.ts), only every time.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CairnError, openStore, type Store } from "../../src/index.js";
import { sqldUnavailable, startSqld, type SqldServer } from "../support/sqld.js";

interface LockHolder {
  exec(sql: string): void;
  close(): void;
}
const NativeDatabase = createRequire(import.meta.url)("libsql") as new (path: string, options: { timeout?: number }) => LockHolder;

const unavailable = sqldUnavailable();

describe.skipIf(unavailable !== undefined)(`SQLITE_BUSY on a libSQL server${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let server: SqldServer;
  let holder: LockHolder;
  const stores: Store[] = [];
  beforeAll(async () => {
    server = await startSqld();
    // sqld creates its database on first use.
    const store = await openStore({ url: server.httpUrl });
    await store.close();
    holder = new NativeDatabase(join(server.dbPath, "dbs", "default", "data"), { timeout: 1000 });
  });
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => {});
    holder?.close();
    await server?.stop();
  });

  /** Holds the write lock of sqld's database for `ms`, from another connection. */
  function holdWriteLock(ms: number): Promise<void> {
    holder.exec("BEGIN IMMEDIATE");
    return new Promise((resolve) =>
      setTimeout(() => {
        holder.exec("ROLLBACK");
        resolve();
      }, ms),
    );
  }

  for (const transport of ["http", "ws"] as const) {
    const urlOf = () => (transport === "http" ? server.httpUrl : server.wsUrl);

    it(`${transport}: a write refused while another connection holds the lock is tried again until it passes`, async () => {
      const store = await openStore({ url: urlOf() });
      stores.push(store);
      const bytes = new TextEncoder().encode(`busy ${transport} ${Date.now()}`);
      const released = holdWriteLock(1200);
      const started = Date.now();
      const ref = await store.blobs.put(bytes);
      const took = Date.now() - started;
      await released;
      console.log(`sqld busy over ${transport}: blobs.put waited ${took} ms for a lock held 1200 ms, then passed`);
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(await store.blobs.get(ref)).toEqual(bytes);

      // A commit, the same way.
      const session = store.session(`busy-${transport}-${Date.now()}`);
      const released2 = holdWriteLock(800);
      const { seq } = await session.commit({ turn: 1, snapshots: { state: { transport } } });
      await released2;
      expect(seq).toBe(1);
    });

    it(`${transport}: past busyTimeoutMs it gives up with DATABASE SQLITE_BUSY, nothing applied`, async () => {
      const store = await openStore({ url: urlOf(), busyTimeoutMs: 600 });
      stores.push(store);
      const bytes = new TextEncoder().encode(`given up ${transport} ${Date.now()}`);
      const released = holdWriteLock(3000);
      const started = Date.now();
      const error = await store.blobs.put(bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = Date.now() - started;
      await released;
      expect(error).toBeInstanceOf(CairnError);
      const e = error as CairnError;
      console.log(`sqld busy over ${transport}: gave up after ${took} ms: ${e.message}`);
      expect(e.code).toBe("DATABASE");
      expect(e.details).toMatchObject({ libsqlCode: "SQLITE_BUSY", applied: false });
      expect(e.details.attempts).toBeGreaterThan(1);
      expect(took).toBeGreaterThanOrEqual(600);
      expect(took).toBeLessThan(2900);
      // Nothing was written: the blob is not there once the lock is gone.
      expect(await store.blobs.has(await refOf(bytes))).toBe(false);
    });

    it(`${transport}: busyTimeoutMs 0 tries once`, async () => {
      const store = await openStore({ url: urlOf(), busyTimeoutMs: 0 });
      stores.push(store);
      const released = holdWriteLock(1000);
      const error = await store.blobs.put(new TextEncoder().encode(`once ${transport} ${Date.now()}`)).then(
        () => undefined,
        (e: unknown) => e,
      );
      await released;
      expect((error as CairnError).details).toMatchObject({ libsqlCode: "SQLITE_BUSY", attempts: 1, applied: false });
    });
  }
});

/** The ref `bytes` would be stored under, from a private in-memory store. */
async function refOf(bytes: Uint8Array): Promise<string> {
  const scratch = await openStore({ url: ":memory:" });
  try {
    return await scratch.blobs.put(bytes);
  } finally {
    await scratch.close();
  }
}
