/**
 * Giving the disk back: what gc returns to the file system, and what
 * incremental auto-vacuum costs the writes.
 *
 * 1. Five sessions of twenty commits of 200 KB of random text each, four
 *    sessions deleted, `gc({ grace: 0 })`: the database file and its WAL on
 *    disk before and after, on a new store (incremental auto-vacuum) and on a
 *    store made without it, then `gc({ compact: true })` on that one.
 * 2. 2,000 commits of a ~2 KB state at durability normal, with and without
 *    incremental auto-vacuum, alternating (medians of 3).
 *
 *   npx tsx bench/reclaim.ts
 *
 * A store "without" is made as cairn 0.2 made every store: the file is put in
 * WAL mode before cairn creates its tables, so SQLite keeps auto_vacuum=NONE.
 */
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { openStore, type GcReport, type Store } from "../src/index.js";
import { freshDir, median, removeDir } from "./util.js";

const MB = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

/** A file path for a store; `withoutVacuum` pre-creates the file in WAL mode so the store keeps auto_vacuum=NONE. */
function storePath(dir: string, name: string, withoutVacuum: boolean): string {
  const path = join(dir, name);
  if (withoutVacuum) {
    const Database = createRequire(import.meta.url)("libsql") as new (path: string) => { exec(sql: string): void; close(): void };
    const db = new Database(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.close();
  }
  return path;
}

const onDisk = (path: string) => statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);

async function scenario(dir: string, name: string, withoutVacuum: boolean): Promise<string[]> {
  const path = storePath(dir, name, withoutVacuum);
  let store: Store = await openStore({ url: `file:${path}` });
  for (let s = 0; s < 5; s++) {
    for (let turn = 1; turn <= 20; turn++) {
      await store.session(`chat-${s}`).commit({ turn, snapshots: { tool: { output: randomBytes(150_000).toString("base64") } } });
    }
  }
  for (let s = 1; s < 5; s++) await store.session(`chat-${s}`).delete();
  await store.close(); // merges the WAL: the file is the whole store
  store = await openStore({ url: `file:${path}` });
  const line = (label: string, report: GcReport) => {
    const r = report.result!;
    return `| ${label} | ${MB(r.space.fileBytes!.before)} | ${MB(r.storedBytes)} | ${MB(r.space.freeBytes)} | ${MB(r.space.returnedBytes)} | ${MB(r.space.fileBytes!.after)} | ${report.timings.total.toFixed(0)} ms (reclaim ${report.timings.reclaim.toFixed(0)} ms) |`;
  };
  const lines = [line(withoutVacuum ? "store without incremental vacuum, gc" : "new store, gc", await store.gc({ grace: 0 }))];
  if (withoutVacuum) lines.push(line("the same, then gc --compact", await store.gc({ grace: 0, compact: true })));
  await store.close();
  lines.push(`|   after close | | | | | ${MB(onDisk(path))} | |`);
  return lines;
}

async function commits(dir: string, name: string, withoutVacuum: boolean): Promise<number> {
  const path = storePath(dir, name, withoutVacuum);
  const store = await openStore({ url: `file:${path}`, durability: "normal" });
  const session = store.session("small");
  const message = (i: number) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i} `.repeat(60) });
  const started = performance.now();
  for (let i = 1; i <= 2000; i++) await session.commit({ turn: i, snapshots: { execution: { messages: [message(i - 2), message(i - 1), message(i)], step: i } } });
  const rate = 2000 / ((performance.now() - started) / 1000);
  await store.close();
  return rate;
}

const dir = freshDir("reclaim");
try {
  console.log(`node ${process.version}`);
  console.log("| store | file before | gc deleted (stored) | free after sweep | returned | file after | gc time |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const line of await scenario(dir, "new.db", false)) console.log(line);
  for (const line of await scenario(dir, "old.db", true)) console.log(line);
  const rates: Record<string, number[]> = { incremental: [], none: [] };
  for (let round = 0; round < 3; round++) {
    rates.incremental!.push(await commits(dir, `inc-${round}.db`, false));
    rates.none!.push(await commits(dir, `none-${round}.db`, true));
  }
  for (const [mode, runs] of Object.entries(rates)) {
    console.log(`commits/s of a ~2 KB state, auto_vacuum ${mode}: ${median(runs).toFixed(0)} (${runs.map((r) => r.toFixed(0)).join(", ")})`);
  }
} finally {
  removeDir(dir);
}
