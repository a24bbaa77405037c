// The read process of bench/langgraph/run.ts: plain JavaScript run by plain
// `node` (no tsx, no loader), so its whole life can be timed as a cold start.
//
//   node read-child.mjs sqlite <dbpath> <thread_id> [--reads]
//   node read-child.mjs cairn  <dbpath> <thread_id> [--reads]
//
// sqlite: imports LangGraph's SqliteSaver (this folder's node_modules),
//         SqliteSaver.fromConnString(dbpath).
// cairn:  imports openStore and CairnSaver from cairn's compiled package
//         (../../dist, what "cairn-store" and "cairn-store/langgraph" resolve to; run
//         `npm run build` in the repository root first), openStore + new CairnSaver(store).
// Then the first getTuple() of the thread's latest checkpoint, and close.
// With --reads, before closing: five more getTuple() (warm) and one full list().
//
// Prints one line of JSON. Times are performance.now(), whose origin is the start
// of the process: bootMs is node's own start-up before this file's first line.
// No static import: it would run before that first line.
const bootMs = performance.now();

const [kind, path, thread, reads] = process.argv.slice(2);
if ((kind !== "sqlite" && kind !== "cairn") || !path || !thread) {
  throw new Error("usage: read-child.mjs <sqlite|cairn> <dbpath> <thread_id> [--reads]");
}
const out = { kind, bootMs, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS ?? "" };
const config = { configurable: { thread_id: thread, checkpoint_ns: "" } };

let saver;
let close;
let t = performance.now();
if (kind === "sqlite") {
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  out.importMs = performance.now() - t;
  t = performance.now();
  const sqlite = SqliteSaver.fromConnString(path); // opens the file; the saver's setup() runs in the first call
  saver = sqlite;
  close = async () => sqlite.db.close();
} else {
  const [{ openStore }, { CairnSaver }] = await Promise.all([import("../../dist/index.js"), import("../../dist/adapters/langgraph/index.js")]);
  out.importMs = performance.now() - t;
  t = performance.now();
  const store = await openStore({ url: `file:${path}` });
  saver = new CairnSaver(store);
  close = () => store.close();
}
out.openMs = performance.now() - t;

t = performance.now();
const latest = await saver.getTuple(config);
out.firstReadMs = performance.now() - t;
out.toFirstReadMs = performance.now();
out.latestId = latest?.checkpoint.id ?? "";

if (reads === "--reads") {
  const warm = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await saver.getTuple(config);
    warm.push(performance.now() - t);
  }
  out.getTupleWarmMs = warm.sort((a, b) => a - b)[2];
  t = performance.now();
  let listed = 0;
  for await (const _tuple of saver.list(config)) listed++;
  out.listSeconds = (performance.now() - t) / 1000;
  out.listed = listed;
}

t = performance.now();
await close();
out.closeMs = performance.now() - t;
process.stdout.write(JSON.stringify(out) + "\n");
