/**
 * Why the embedded engine bypasses @libsql/client (docs/design.md, "Storage"):
 * 1 GiB written as 64 KiB rows, 16 rows per write transaction, to a WAL file,
 * through @libsql/client (a statement prepared per row, finalized when V8
 * collects it) and through the `libsql` package with one reused prepared
 * statement. Each in a fresh child process; peak extra memory = VmHWM minus the
 * RSS before the writes (Linux).
 *
 *   npx tsx bench/engine-memory.ts [MiB, default 1024]
 */
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshDir, MiB, removeDir } from "./util.js";

const ROW = 64 * 1024;
const PER_TRANSACTION = 16;

type Write = (rows: Array<[Buffer, Buffer]>) => Promise<void>;

async function child(mode: "client" | "direct", path: string, mib: number): Promise<void> {
  let write: Write;
  if (mode === "direct") {
    const Database = createRequire(import.meta.url)("libsql") as new (path: string) => {
      exec(sql: string): void;
      prepare(sql: string): { run(...args: unknown[]): unknown };
    };
    const db = new Database(path);
    db.exec("PRAGMA journal_mode=WAL; CREATE TABLE b (ref BLOB PRIMARY KEY, data BLOB)");
    const insert = db.prepare("INSERT OR IGNORE INTO b VALUES (?, ?)");
    const begin = db.prepare("BEGIN IMMEDIATE");
    const commit = db.prepare("COMMIT");
    write = async (rows) => {
      begin.run();
      for (const [ref, data] of rows) insert.run(ref, data);
      commit.run();
    };
  } else {
    const { createClient } = await import("@libsql/client/sqlite3");
    const client = createClient({ url: `file:${path}` });
    await client.execute("PRAGMA journal_mode=WAL");
    await client.execute("CREATE TABLE b (ref BLOB PRIMARY KEY, data BLOB)");
    write = async (rows) => {
      await client.batch(rows.map(([ref, data]) => ({ sql: "INSERT OR IGNORE INTO b VALUES (?, ?)", args: [ref, data] })), "write");
    };
  }
  await write([[Buffer.from("warm"), Buffer.from("up")]]);
  const baseline = process.memoryUsage.rss();
  writeFileSync("/proc/self/clear_refs", "5");
  const started = performance.now();
  for (let written = 0; written < mib * MiB; written += ROW * PER_TRANSACTION) {
    const rows: Array<[Buffer, Buffer]> = [];
    for (let j = 0; j < PER_TRANSACTION; j++) {
      const data = randomFillSync(Buffer.allocUnsafe(ROW));
      rows.push([createHash("sha256").update(data).digest(), data]);
    }
    await write(rows);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - started) / 1000;
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
  process.stdout.write(JSON.stringify({ peakExtra: hwm - baseline, seconds }));
}

if (process.argv[2] === "--child") {
  await child(process.argv[3] as "client" | "direct", process.argv[4]!, Number(process.argv[5]));
} else {
  const mib = Number(process.argv[2] ?? 1024);
  const self = fileURLToPath(import.meta.url);
  const loader = new URL("../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
  console.log(`node ${process.version}: ${mib} MiB as ${ROW / 1024} KiB rows, ${PER_TRANSACTION} per transaction, WAL file`);
  for (const mode of ["client", "direct", "client", "direct"] as const) {
    const dir = freshDir("engine-memory");
    try {
      const run = spawnSync(process.execPath, ["--import", loader, self, "--child", mode, join(dir, "b.db"), String(mib)], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`${mode} child failed: ${run.stderr}`);
      const { peakExtra, seconds } = JSON.parse(run.stdout) as { peakExtra: number; seconds: number };
      const label = mode === "client" ? "@libsql/client (a statement per row)" : "libsql, one reused statement";
      console.log(`${label}\t+${(peakExtra / MiB).toFixed(1)} MiB\t${seconds.toFixed(2)} s`);
    } finally {
      removeDir(dir);
    }
  }
}
