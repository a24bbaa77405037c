// Where a small put through CairnSaver goes: 2,000 puts of a ~2 KB state (the
// "small" workload of run.ts), all new each time, to a file store, with every
// SQL statement of the embedded engine timed (its prepared-statement runs, by
// SQL text) and the saver's own stages timed around the calls it makes.
// Plain JavaScript under plain `node`, through cairn's compiled package
// (../../dist: `npm run build` in the root first).
//
//   node put-stages.mjs [puts, default 2000] [full|normal, default normal]
//
// Prints microseconds per put: the whole put, each statement, and what is left
// for JavaScript (serde, encoding, hashing, compressing, building the commit).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";

const [{ openStore }, { CairnSaver }, { EmbeddedConnection }] = await Promise.all([
  import("../../dist/index.js"),
  import("../../dist/adapters/langgraph/index.js"),
  import("../../dist/storage/libsql/embedded.js"),
]);

const puts = Number(process.argv[2] ?? 2000);
const durability = process.argv[3] ?? "normal";

// The state of run.ts's smallPuts, with the same generator.
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const states = [];
for (let i = 0; i < puts + 200; i++) {
  let notes = "";
  while (notes.length < 1900) notes += Math.floor(rand() * 36 ** 6).toString(36) + " ";
  states.push({ step: i, notes, flags: { verbose: i % 2 === 0 } });
}
const put = (i) => ({
  checkpoint: {
    v: 4,
    id: `1f000000-0000-6000-8000-${(i + 1).toString(16).padStart(12, "0")}`,
    ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    channel_values: { state: states[i] },
    channel_versions: { state: i + 1 },
    versions_seen: { node: { state: i } },
  },
  metadata: { source: "loop", step: i, parents: {} },
  newVersions: { state: i + 1 },
});

const statements = new Map();
let timing = false;
const execute = EmbeddedConnection.prototype.execute;
EmbeddedConnection.prototype.execute = function (statement) {
  if (!timing) return execute.call(this, statement);
  const t = performance.now();
  try {
    return execute.call(this, statement);
  } finally {
    const sql = (typeof statement === "string" ? statement : statement.sql).replace(/\s+/g, " ").trim();
    const entry = statements.get(sql) ?? { runs: 0, ms: 0 };
    entry.runs++;
    entry.ms += performance.now() - t;
    statements.set(sql, entry);
  }
};

const dir = mkdtempSync(join(tmpdir(), "cairn-put-stages-"));
try {
  const store = await openStore({ url: `file:${join(dir, "cairn.db")}`, durability });
  const saver = new CairnSaver(store);
  let config = { configurable: { thread_id: "t", checkpoint_ns: "" } };
  // 200 puts to warm the code, then the timed ones.
  for (let i = 0; i < 200; i++) config = await saver.put(config, put(i).checkpoint, put(i).metadata, put(i).newVersions);
  timing = true;
  const started = performance.now();
  for (let i = 200; i < 200 + puts; i++) {
    const p = put(i);
    config = await saver.put(config, p.checkpoint, p.metadata, p.newVersions);
  }
  const total = performance.now() - started;
  timing = false;
  await store.close();

  // Two of the JavaScript stages, alone, on the same inputs (a put also serializes the metadata, encodes and hashes two blobs).
  const serde = new JsonPlusSerializer();
  const fresh = () => states.map((s) => ({ ...s, notes: (" " + s.notes).slice(1) }));
  let copies = fresh();
  let t = performance.now();
  for (let i = 200; i < 200 + puts; i++) await serde.dumpsTyped(copies[i]);
  const serdeUs = ((performance.now() - t) * 1000) / puts;
  const texts = states.map((s) => Buffer.from(JSON.stringify(s)));
  t = performance.now();
  for (let i = 200; i < 200 + puts; i++) deflateRawSync(texts[i], { level: 1, windowBits: 12, memLevel: 8 });
  const deflateUs = ((performance.now() - t) * 1000) / puts;

  const us = (ms) => ((ms * 1000) / puts).toFixed(1);
  const sqlMs = [...statements.values()].reduce((sum, e) => sum + e.ms, 0);
  console.log(`node ${process.version}; ${puts} puts of a ~${JSON.stringify(states[0]).length}-byte state through CairnSaver, durability ${durability}`);
  console.log(`put, whole: ${us(total)} us (${((puts / total) * 1000).toFixed(0)} puts/s)`);
  console.log(`SQL, all statements: ${us(sqlMs)} us per put`);
  for (const [sql, e] of [...statements].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`  ${us(e.ms).padStart(7)} us  ${(e.runs / puts).toFixed(2)}x  ${sql.slice(0, 90)}`);
  }
  console.log(`JavaScript, the rest: ${us(total - sqlMs)} us per put; of it, alone: LangGraph serde of the state ${serdeUs.toFixed(1)} us, deflate of its JSON ${deflateUs.toFixed(1)} us`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
