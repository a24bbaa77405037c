/**
 * gc gives the disk back: on a file store the pages it frees go back to the
 * file system (incremental auto-vacuum, chosen when the store is created); a
 * store made before that is rewritten once by `compact`; a libSQL server, which
 * refuses VACUUM over its protocol, is reported as such. Sizes are files on disk.
 */
import { copyFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/index.js";
import { backendsWith, tempDir } from "../support/backends.js";
import { textPayload } from "../support/random.js";
import { query } from "./support.js";

const dirs: Array<{ remove(): void }> = [];
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close().catch(() => undefined);
  dirs.forEach((d) => d.remove());
});

async function fileStore(name = "cairn.db"): Promise<{ store: Store; path: string }> {
  const dir = tempDir("cairn-space-");
  dirs.push(dir);
  const path = join(dir.dir, name);
  const store = await openStore({ url: `file:${path}` });
  stores.push(store);
  return { store, path };
}

/** Five sessions of twenty commits of 200 KB of text each (distinct per commit). */
async function fill(store: Store): Promise<void> {
  for (let s = 0; s < 5; s++) {
    const session = store.session(`chat-${s}`);
    for (let turn = 1; turn <= 20; turn++) await session.commit({ turn, snapshots: { tool: { output: textPayload(200_000, `chat-${s}-${turn}`) } } });
  }
}

const onDisk = (path: string): number => statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);

describe("gc returns freed pages to the file system", () => {
  it("shrinks a new file store's file by what it freed", async () => {
    const { store, path } = await fileStore();
    await fill(store);
    for (let s = 1; s < 5; s++) await store.session(`chat-${s}`).delete();
    const report = await store.gc({ grace: 0 });
    const space = report.result!.space;
    expect(space.method).toBe("incremental");
    expect(report.result!.storedBytes).toBeGreaterThan(2_000_000);
    expect(space.freeBytes).toBeGreaterThanOrEqual(report.result!.storedBytes * 0.8);
    expect(space.returnedBytes).toBeGreaterThanOrEqual(space.freeBytes * 0.95);
    expect(space.fileBytes!.before - space.fileBytes!.after).toBeGreaterThanOrEqual(report.result!.storedBytes * 0.8);
    expect(space.fileBytes!.after).toBe(onDisk(path));
    const free = await query(store, "PRAGMA freelist_count");
    expect(Number(free.rows[0]![0])).toBe(0);
    // What stays is whole.
    expect((await store.session("chat-0").history()).length).toBe(20);
    expect(((await store.session("chat-0").latest())!.snapshots.tool as { output: string }).output).toBe(textPayload(200_000, "chat-0-20"));
    expect((await store.verify()).ok).toBe(true);
  });

  it("reports nothing returned when nothing was freed", async () => {
    const { store } = await fileStore();
    await store.session("only").commit({ turn: 1, snapshots: { tool: "small" } });
    const space = (await store.gc({ grace: 0 })).result!.space;
    expect(space).toMatchObject({ freeBytes: 0, returnedBytes: 0, method: "none" });
    expect(space.note).toBeUndefined();
  });

  it("a store created without incremental vacuum: says so, and compact rewrites it once", async () => {
    // The golden v2 store was written by cairn 0.1, before stores chose incremental vacuum.
    const dir = tempDir("cairn-space-");
    dirs.push(dir);
    const path = join(dir.dir, "old.db");
    copyFileSync(new URL("../golden/v2.db", import.meta.url), path);
    let store = await openStore({ url: `file:${path}` });
    stores.push(store);
    expect(Number((await query(store, "PRAGMA auto_vacuum")).rows[0]![0])).toBe(0);
    for (const session of await store.sessions.list()) await store.session(session.id).delete();
    const first = (await store.gc({ grace: 0 })).result!.space;
    expect(first.method).toBe("none");
    expect(first.freeBytes).toBeGreaterThan(0);
    expect(first.returnedBytes).toBe(0);
    expect(first.note).toMatch(/compact/);

    const compacted = (await store.gc({ grace: 0, compact: true })).result!.space;
    expect(compacted.method).toBe("rebuild");
    expect(compacted.returnedBytes).toBeGreaterThanOrEqual(first.freeBytes * 0.9);
    expect(compacted.fileBytes!.after).toBeLessThan(compacted.fileBytes!.before);
    expect(Number((await query(store, "PRAGMA auto_vacuum")).rows[0]![0])).toBe(2);
    await store.close();

    // From now on a plain gc returns pages on its own.
    store = await openStore({ url: `file:${path}` });
    stores.push(store);
    await store.session("again").commit({ turn: 1, snapshots: { tool: textPayload(300_000, "again") } });
    await store.session("again").delete();
    const laterGc = (await store.gc({ grace: 0 })).result!;
    expect(laterGc.space.method).toBe("incremental");
    expect(laterGc.space.returnedBytes).toBeGreaterThanOrEqual(laterGc.storedBytes * 0.8);
    expect((await store.verify()).ok).toBe(true);
  });

  it("a memory store returns its pages too, and has no file to report", async () => {
    const store = await openStore({ url: ":memory:" });
    stores.push(store);
    await store.session("a").commit({ turn: 1, snapshots: { tool: textPayload(500_000, "memory") } });
    await store.session("a").delete();
    const result = (await store.gc({ grace: 0 })).result!;
    expect(result.space.method).toBe("incremental");
    expect(result.storedBytes).toBeGreaterThan(50_000);
    expect(result.space.returnedBytes).toBeGreaterThanOrEqual(result.storedBytes * 0.8);
    expect(result.space.fileBytes).toBeUndefined();
  });

  it("a dry run frees nothing and reports no space", async () => {
    const { store, path } = await fileStore();
    await store.session("a").commit({ turn: 1, snapshots: { tool: textPayload(300_000, "dry") } });
    await store.session("a").delete();
    const before = onDisk(path);
    const report = await store.gc({ grace: 0, dryRun: true });
    expect(report.result).toBeUndefined();
    expect(report.plan.blobs).toBeGreaterThan(0);
    expect(onDisk(path)).toBeGreaterThanOrEqual(before);
  });
});

for (const backend of backendsWith("server", { isolated: true, prefix: "cairn-space-" })) {
  describe.skipIf(backend.unavailable !== undefined)(`gc space on ${backend.name}`, () => {
    afterAll(backend.cleanup);
    it("frees pages for reuse and says the server keeps them", async () => {
      const store = await backend.open();
      await store.session("a").commit({ turn: 1, snapshots: { tool: textPayload(300_000, `server-${backend.name}`) } });
      await store.session("a").delete();
      for (const compact of [false, true]) {
        const report = await store.gc({ grace: 0, compact });
        const space = report.result!.space;
        expect(space.method).toBe("none");
        expect(space.returnedBytes).toBe(0);
        if (!compact) expect(space.freeBytes).toBeGreaterThan(0);
        if (space.freeBytes > 0) expect(space.note).toMatch(/server/);
        expect(space.fileBytes).toBeUndefined();
      }
    });
  });
}
