// Where the first read of a fresh process goes: a CPU profile of it, by stage.
// Plain JavaScript under plain `node`, reading through the compiled package (dist/).
//
//   node bench/cold-start-profile.mjs latest <dbpath> <session>     openStore + session(..).latest()
//   node bench/cold-start-profile.mjs saver  <dbpath> <thread_id>   openStore + new CairnSaver(store).getTuple()
//   ... --top    also the functions with the most self time in the first read, per stage
//
// Imports and opens first (timed, not profiled), then profiles the first read with
// node:inspector (100 µs sampling), then a read through a second store handle (code
// warm, nothing of the state cached), and attributes every sample to the first
// stage found walking up its stack: inflate (node:zlib), SHA-256, SQL (@libsql/client
// and libsql), decoding (MessagePack, UTF-8), LangGraph's serde, module loading, garbage collection, the rest of
// cairn, other. It also counts the blob rows fetched, inflateRawSync calls and bytes hashed (node:zlib and
// node:crypto wrapped before cairn loads). The profiler slows the read down
// (compare its ms with bench/cold-start.ts's); read the shares, not the absolute ms.
import { createRequire, syncBuiltinESMExports } from "node:module";
import { Session } from "node:inspector/promises";

const require = createRequire(import.meta.url);
const zlib = require("node:zlib");
const crypto = require("node:crypto");
const counts = { inflateCalls: 0, inflatedBytes: 0, hashCalls: 0, hashedBytes: 0, rowsFetched: 0, bytesFetched: 0 };
const inflateRawSync = zlib.inflateRawSync;
zlib.inflateRawSync = function (buffer, options) {
  const out = inflateRawSync.call(this, buffer, options);
  counts.inflateCalls++;
  counts.inflatedBytes += out.byteLength;
  return out;
};
const createHash = crypto.createHash;
crypto.createHash = function (algorithm, options) {
  const hash = createHash.call(this, algorithm, options);
  if (algorithm === "sha256") {
    counts.hashCalls++;
    const update = hash.update;
    hash.update = function (data, encoding) {
      counts.hashedBytes += typeof data === "string" ? Buffer.byteLength(data, encoding) : data.byteLength;
      return update.call(this, data, encoding);
    };
  }
  return hash;
};
syncBuiltinESMExports();

const [mode, dbPath, id, top] = process.argv.slice(2);
if ((mode !== "latest" && mode !== "saver") || !dbPath || !id) throw new Error("usage: cold-start-profile.mjs <latest|saver> <dbpath> <session|thread_id>");

let t = performance.now();
const { openStore } = await import("cairn-store");
const CairnSaver = mode === "saver" ? (await import("cairn-store/langgraph")).CairnSaver : undefined;
const importMs = performance.now() - t;
t = performance.now();
const store = countRows(await openStore({ url: `file:${dbPath}` }));
const openMs = performance.now() - t;

/** Counts the blob rows a store's reads fetch (through its internal context: cairn's own storage floor, wrapped). */
function countRows(s) {
  const storage = s[Symbol.for("cairn.context")]().storage;
  const blobRows = storage.blobRows.bind(storage);
  storage.blobRows = async (refs) => {
    const rows = await blobRows(refs);
    for (const row of rows.values()) {
      counts.rowsFetched++;
      counts.bytesFetched += row.data.byteLength;
    }
    return rows;
  };
  return s;
}
const read = async (s) =>
  mode === "latest" ? s.session(id).latest() : new CairnSaver(s).getTuple({ configurable: { thread_id: id, checkpoint_ns: "" } });

const STAGES = [
  ["inflate (node:zlib)", (f) => f.url === "node:zlib"],
  ["SHA-256 (node:crypto)", (f) => f.url === "node:internal/crypto/hash" || f.functionName === "hashBytes"],
  ["SQL (@libsql/client, libsql)", (f) => /\/node_modules\/(libsql|@libsql)\//.test(f.url)],
  [
    "decoding (MessagePack, UTF-8)",
    (f) => f.url.includes("/@msgpack/msgpack/") || f.url === "node:internal/encoding" || (f.url.endsWith("/codec/value-codec.js") && /decode/i.test(f.functionName)),
  ],
  ["LangGraph serde", (f) => f.url.includes("/@langchain/")],
  ["loading code", (f) => f.url.startsWith("node:internal/modules/") || f.url.startsWith("node:internal/bootstrap/")],
  ["garbage collection", (f) => f.functionName === "(garbage collector)"],
  ["cairn, other", (f) => f.url.includes("/dist/")],
];

/** Profiles `fn` and returns its ms and the sampled ms per stage. */
async function profiled(fn) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  const t0 = performance.now();
  const before = { ...counts };
  const value = await fn();
  const ms = performance.now() - t0;
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  const parent = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stages = Object.fromEntries([...STAGES.map(([name]) => [name, 0]), ["other", 0]]);
  const leaves = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    let stage = "other";
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id).callFrame;
      const hit = STAGES.find(([, test]) => test(frame));
      if (hit) {
        stage = hit[0];
        break;
      }
    }
    stages[stage] += dt;
    const leaf = byId.get(profile.samples[i]).callFrame;
    const key = `${stage} | ${leaf.functionName || "(anonymous)"} ${leaf.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${leaf.lineNumber + 1}`;
    leaves.set(key, (leaves.get(key) ?? 0) + dt);
  }
  const delta = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v - before[k]]));
  return { value, ms, stages, counts: delta, leaves };
}

const first = await profiled(() => read(store));
if (!first.value) throw new Error(`nothing to read in ${id}`);
const second = countRows(await openStore({ url: `file:${dbPath}` }));
const again = await profiled(() => read(second));
await second.close();
await store.close();

const pad = (s, n) => String(s).padEnd(n);
const num = (v) => v.toFixed(1).padStart(8);
const lines = [
  `${mode === "latest" ? "openStore + latest()" : "CairnSaver getTuple()"} of ${id} in ${dbPath}; import ${importMs.toFixed(1)} ms, open ${openMs.toFixed(1)} ms (not profiled)`,
  `${pad("stage", 30)} ${"first read".padStart(10)} ${"second handle".padStart(14)}`,
  ...Object.keys(first.stages).map((k) => `${pad(k, 30)} ${num(first.stages[k])} ms ${num(again.stages[k])} ms`),
  `${pad("read, wall (profiler on)", 30)} ${num(first.ms)} ms ${num(again.ms)} ms`,
  `${pad("inflateRawSync calls", 30)} ${String(first.counts.inflateCalls).padStart(8)}    ${String(again.counts.inflateCalls).padStart(8)}`,
  `${pad("bytes inflated", 30)} ${String(first.counts.inflatedBytes).padStart(8)}    ${String(again.counts.inflatedBytes).padStart(8)}`,
  `${pad("SHA-256 digests", 30)} ${String(first.counts.hashCalls).padStart(8)}    ${String(again.counts.hashCalls).padStart(8)}`,
  `${pad("bytes hashed", 30)} ${String(first.counts.hashedBytes).padStart(8)}    ${String(again.counts.hashedBytes).padStart(8)}`,
  `${pad("blob rows fetched", 30)} ${String(first.counts.rowsFetched).padStart(8)}    ${String(again.counts.rowsFetched).padStart(8)}`,
  `${pad("stored bytes fetched", 30)} ${String(first.counts.bytesFetched).padStart(8)}    ${String(again.counts.bytesFetched).padStart(8)}`,
];
if (top === "--top") {
  lines.push("", "first read, most self time:");
  for (const [key, ms] of [...first.leaves].sort((a, b) => b[1] - a[1]).slice(0, 30)) lines.push(`${num(ms)} ms  ${key}`);
}
process.stdout.write(lines.join("\n") + "\n");
