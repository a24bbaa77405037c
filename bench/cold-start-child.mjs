// The process a cold-start figure times: plain JavaScript run by plain `node`
// (no tsx, no loader), importing cairn's compiled dist/ the way a user does.
// Spawned by bench/cold-start.ts and bench/import-cost.ts; not meant to be run by hand,
// though it can be:
//
//   node bench/cold-start-child.mjs import [specifier ...]       import each, in order (none: a process that imports nothing)
//   node bench/cold-start-child.mjs latest <dbpath> <session>    import "cairn-store", openStore, session.latest(), close
//   node bench/cold-start-child.mjs latest <dbpath> <session> --again
//                                                                 the same, then a second store handle: open + latest() again
//                                                                 (code warm, nothing of the state cached)
//
// "cairn-store" resolves to dist/index.js by the package's own name and exports
// map (a package may import itself by name), exactly as in a user's project.
//
// Prints one line of JSON. Every time is from performance.now(), whose origin is
// the start of this process, so `bootMs` is node's own start-up before this
// file's first line. No static import: it would run before that first line.
const bootMs = performance.now();

const [mode, ...args] = process.argv.slice(2);
const out = { mode, bootMs, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS ?? "" };

if (mode === "import") {
  const each = [];
  const t0 = performance.now();
  for (const specifier of args) {
    const t = performance.now();
    await import(specifier);
    each.push(performance.now() - t);
  }
  out.importMs = performance.now() - t0;
  out.each = each;
} else if (mode === "latest") {
  const [dbPath, session, again] = args;
  if (!dbPath || !session) throw new Error("usage: cold-start-child.mjs latest <dbpath> <session> [--again]");
  let t = performance.now();
  const { openStore } = await import("cairn-store");
  out.importMs = performance.now() - t;
  t = performance.now();
  const store = await openStore({ url: `file:${dbPath}` });
  out.openMs = performance.now() - t;
  t = performance.now();
  const head = await store.session(session).latest();
  out.firstReadMs = performance.now() - t;
  out.toFirstReadMs = performance.now();
  if (!head) throw new Error(`session ${session} is empty`);
  out.seq = head.seq;
  if (again === "--again") {
    t = performance.now();
    const second = await openStore({ url: `file:${dbPath}` });
    out.againOpenMs = performance.now() - t;
    t = performance.now();
    await second.session(session).latest();
    out.againReadMs = performance.now() - t;
    await second.close();
  }
  t = performance.now();
  await store.close();
  out.closeMs = performance.now() - t;
} else {
  throw new Error(`unknown mode ${mode}: import or latest`);
}
process.stdout.write(JSON.stringify(out) + "\n");
