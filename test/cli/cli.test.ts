/**
 * The `cairn` command end to end: every test spawns the bin's source under tsx
 * against real store files in temp dirs, prepared and checked through the library.
 * The compiled bin of the packed package is run by the consumer test (test/consumer/).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashBytes, openStore, type Store } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { tempDir } from "../support/backends.js";

const BIN = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
/** tsx's loader by absolute path: the command runs in temp dirs, where "tsx" would not resolve. */
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

interface Run {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly out: string;
  readonly err: string;
}

/** Spawns `cairn args...` with a clean environment (no CAIRN_*, no colour), in `cwd`. */
function cairn(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; input?: Uint8Array } = {}): Promise<Run> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: "1", ...options.env };
  if (!options.env?.CAIRN_URL) delete env.CAIRN_URL;
  if (!options.env?.CAIRN_DEBUG) delete env.CAIRN_DEBUG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, BIN, ...args], { cwd: options.cwd ?? dir, env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (status) => {
      const stdout = Buffer.concat(out);
      resolve({ status, stdout, out: stdout.toString("utf8"), err: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.end(options.input ?? Buffer.alloc(0));
  });
}

/** The one JSON document on stdout. */
function json<T = any>(run: Run): T {
  return JSON.parse(run.out) as T;
}

let dir: string;
let removeDir: () => void;
let n = 0;
/** A fresh store file url in the temp dir. */
const newUrl = () => `file:${join(dir, `store-${++n}.db`)}`;

async function withStore<T>(url: string, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url });
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** s1: two turns (bigint, Map, Date inside); s2: one turn. Returns the refs. */
async function prepare(url: string) {
  return withStore(url, async (store) => {
    const s1 = store.session("s1");
    const c1 = await s1.commit({ turn: 1, snapshots: { tool: { msgs: ["hi"], n: 10n }, execution: new Map([["at", new Date(0)]]) } }, { label: "first" });
    const c2 = await s1.commit({ turn: 2, snapshots: { tool: { msgs: ["hi", "there"], n: 10n }, execution: new Map([["at", new Date(0)]]) } });
    const s2 = await store.session("s2").commit({ turn: 1, snapshots: { tool: { s2: "only", big: "z".repeat(40_000) } } });
    const value = await store.values.put({ answer: 42, tags: new Set(["a"]) });
    return { c1, c2, s2, value };
  });
}

beforeAll(() => {
  ({ dir, remove: removeDir } = tempDir("cairn-cli-"));
});
afterAll(() => removeDir());

describe("cairn put / cat", () => {
  it("round-trips arbitrary bytes, from a file and from stdin", async () => {
    const url = newUrl();
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(100_000), Buffer.from("\r\n\0\n")]);
    const file = join(dir, "payload.bin");
    writeFileSync(file, bytes);
    const put = await cairn(["put", file, "--url", url]);
    expect(put.status).toBe(0);
    const ref = put.out.trim();
    expect(ref).toBe(hashBytes(bytes));

    const [cat, stdin] = await Promise.all([
      cairn(["cat", ref, "--url", url]),
      cairn(["put", "-", "--kind", "tool-output", "--json", "--url", url], { input: Buffer.from("from stdin\0") }),
    ]);
    expect(cat.status).toBe(0);
    expect(Buffer.compare(cat.stdout, bytes)).toBe(0);
    expect(stdin.status).toBe(0);
    const stored = json(stdin);
    expect(stored).toEqual({ ref: hashBytes(Buffer.from("from stdin\0")), size: 11, kind: "tool-output" });
    await withStore(url, async (store) => {
      expect((await store.blobs.info(stored.ref))?.kind).toBe("tool-output");
      expect(Buffer.from(await store.blobs.get(stored.ref)).toString()).toBe("from stdin\0");
    });
  });
});

describe("reading sessions", () => {
  let url: string;
  let refs: Awaited<ReturnType<typeof prepare>>;
  beforeAll(async () => {
    url = newUrl();
    refs = await prepare(url);
  });

  it("sessions, log and log --limit", async () => {
    const [list, human, log, limited] = await Promise.all([
      cairn(["sessions", "--json", "--url", url]),
      cairn(["sessions", "--url", url]),
      cairn(["log", "s1", "--json", "--url", url]),
      cairn(["log", "s1", "--limit", "1", "--json", "--url", url]),
    ]);
    for (const run of [list, human, log, limited]) expect(run.status, run.err).toBe(0);
    expect(json(list).map((s: any) => [s.id, s.head])).toEqual([
      ["s1", 2],
      ["s2", 1],
    ]);
    expect(typeof json(list)[0].updatedAt).toBe("string");
    expect(human.out).toMatch(/^SESSION\s+HEAD\s+UPDATED\ns1\s+2\s+\S+\ns2\s+1\s+\S+\n$/);
    expect(json(log).map((r: any) => [r.seq, r.ref, r.turn, r.label])).toEqual([
      [2, refs.c2.ref, 2, null],
      [1, refs.c1.ref, 1, "first"],
    ]);
    expect(json(limited).map((r: any) => r.seq)).toEqual([2]);
  });

  it("show: latest of a session, session@seq, a ref, a plain value", async () => {
    const [latest, atOne, byRef, value] = await Promise.all([
      cairn(["show", "s1", "--json", "--url", url]),
      cairn(["show", "s1@1", "--url", url]),
      cairn(["show", refs.s2.ref, "--json", "--url", url]),
      cairn(["show", refs.value, "--json", "--url", url]),
    ]);
    for (const run of [latest, atOne, byRef, value]) expect(run.status, run.err).toBe(0);
    expect(json(latest)).toMatchObject({
      type: "checkpoint",
      ref: refs.c2.ref,
      session: "s1",
      seq: 2,
      turn: 2,
      snapshots: { tool: { msgs: ["hi", "there"], n: { $bigint: "10" } }, execution: { $map: [["at", { $date: "1970-01-01T00:00:00.000Z" }]] } },
    });
    expect(atOne.out).toContain(`checkpoint ${refs.c1.ref}`);
    expect(atOne.out).toContain("turn: 1");
    expect(atOne.out).toContain("msgs: [ 'hi' ]");
    expect(json(byRef).snapshots.tool.big).toBe("z".repeat(40_000));
    expect(json(value)).toEqual({ type: "value", ref: refs.value, kind: "value", value: { answer: 42, tags: { $set: ["a"] } } });
  });

  it("diff exits 1 with differences and 0 without", async () => {
    const [changed, same, asJson] = await Promise.all([
      cairn(["diff", "s1@1", "s1@2", "--url", url]),
      cairn(["diff", "s1", refs.c2.ref, "--url", url]),
      cairn(["diff", refs.c1.ref, refs.c2.ref, "--json", "--url", url]),
    ]);
    expect(changed.status, changed.err).toBe(1);
    expect(changed.out).toContain("/snapshots/tool/msgs/1");
    expect(changed.out).toContain("unchanged: /snapshots/execution");
    expect(same.status, same.err).toBe(0);
    expect(same.out).toContain("no changes");
    expect(asJson.status).toBe(1);
    expect(json(asJson)).toMatchObject({ kind: "checkpoint", a: refs.c1.ref, b: refs.c2.ref, equal: false, turn: { from: 1, to: 2 } });
    expect(json(asJson).patch).toContainEqual({ op: "add", path: "/snapshots/tool/msgs/1", value: "there" });
  });
});

describe("cairn verify", () => {
  it("exits 0 on a sound store, 1 naming exactly the corrupted blob", async () => {
    const url = newUrl();
    await prepare(url);
    const victim = await withStore(url, (store) => store.blobs.put(randomBytes(200)));
    const clean = await cairn(["verify", "--json", "--url", url]);
    expect(clean.status, clean.err).toBe(0);
    expect(json(clean)).toMatchObject({ ok: true, findings: [] });

    await withStore(url, (store) =>
      store[DATABASE].writeBatch([{ sql: "UPDATE blobs SET data = ? WHERE ref = unhex(?)", args: [randomBytes(200), victim] }]),
    );
    const [report, human] = await Promise.all([cairn(["verify", "--json", "--url", url]), cairn(["verify", "--url", url])]);
    expect(report.status, report.err).toBe(1);
    const { ok, findings } = json(report);
    expect(ok).toBe(false);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ type: "corrupt-blob", ref: victim, expected: victim });
    expect(human.status).toBe(1);
    expect(human.out).toContain(`corrupt-blob ${victim}`);
    expect(human.err).toBe("");
  });
});

describe("cairn gc, pin", () => {
  it("reclaims a deleted session and unrooted blobs, keeps everything reachable and pinned", async () => {
    const url = newUrl();
    const refs = await prepare(url);
    const { pinned, loose, s2Slots } = await withStore(url, async (store) => {
      const s2Slots = Object.values((await store.checkpoints.manifest(refs.s2.ref)).slots);
      await store.session("s2").delete();
      return { pinned: await store.blobs.put(randomBytes(300)), loose: await store.blobs.put(randomBytes(300)), s2Slots };
    });
    const pin = await cairn(["pin", "keep", pinned, "--url", url]);
    expect(pin.status, pin.err).toBe(0);
    expect(pin.out.trim()).toBe(`keep -> ${pinned}`);

    const dry = await cairn(["gc", "--dry-run", "--grace", "0", "--json", "--url", url]);
    expect(dry.status, dry.err).toBe(0);
    const plan = json(dry).plan;
    expect(json(dry).dryRun).toBe(true);
    expect(plan.blobs).toBeGreaterThan(0);
    expect(typeof plan.cutoff).toBe("string");
    await withStore(url, async (store) => expect(await store.blobs.has(refs.s2.ref)).toBe(true));

    const run = await cairn(["gc", "--grace", "0", "--json", "--url", url]);
    expect(run.status, run.err).toBe(0);
    expect(json(run).result).toMatchObject({ blobs: plan.blobs, kept: 0 });

    const [pins, verify] = await Promise.all([cairn(["pins", "--json", "--url", url]), cairn(["verify", "--url", url])]);
    expect(json(pins)).toEqual([{ name: "keep", ref: pinned, createdAt: expect.any(String) }]);
    expect(verify.status, verify.out).toBe(0);
    await withStore(url, async (store) => {
      for (const ref of [refs.s2.ref, loose, refs.value, ...s2Slots]) expect(await store.blobs.has(ref)).toBe(false);
      expect(await store.blobs.has(pinned)).toBe(true);
      expect((await store.session("s1").at(1)).snapshots.tool).toEqual({ msgs: ["hi"], n: 10n });
      expect((await store.session("s1").at(2)).snapshots.tool).toEqual({ msgs: ["hi", "there"], n: 10n });
      expect((await store.stats()).blobs.count).toBe(plan.liveBlobs);
    });

    const unpin = await cairn(["pin", "--rm", "keep", "--json", "--url", url]);
    expect(unpin.status, unpin.err).toBe(0);
    expect(json(unpin)).toEqual({ name: "keep", removed: true });
  });

  it("prints the space freed and returned, and the file shrinks; --compact rewrites a store made before incremental vacuum", async () => {
    const url = newUrl();
    const path = url.slice("file:".length);
    await withStore(url, async (store) => {
      for (let turn = 1; turn <= 5; turn++) await store.session("big").commit({ turn, snapshots: { tool: randomBytes(200_000).toString("base64") } });
      await store.session("big").delete();
    });
    const before = statSync(path).size;
    const run = await cairn(["gc", "--grace", "0", "--url", url]);
    expect(run.status, run.err).toBe(0);
    const line = run.out.split("\n").find((l) => l.startsWith("space: "));
    expect(line).toMatch(/^space: [\d.]+ MiB free in the database, [\d.]+ MiB returned to the file system; the file [\d.]+ MiB -> [\d.]+ KiB$/);
    expect(statSync(path).size).toBeLessThan(before - 1_000_000);

    const old = join(dir, "golden-v2.db");
    copyFileSync(new URL("../golden/v2.db", import.meta.url), old);
    await withStore(`file:${old}`, async (store) => {
      for (const session of await store.sessions.list()) await store.session(session.id).delete();
    });
    const plain = await cairn(["gc", "--grace", "0", "--json", "--url", `file:${old}`]);
    expect(plain.status, plain.err).toBe(0);
    expect(json(plain).result.space).toMatchObject({ method: "none", returnedBytes: 0, note: expect.stringContaining("--compact") });
    const compact = await cairn(["gc", "--grace", "0", "--compact", "--url", `file:${old}`]);
    expect(compact.status, compact.err).toBe(0);
    expect(compact.out).toMatch(/returned to the file system \(database rewritten\); the file/);
  });
});

describe("cairn retention", () => {
  it("sets, lists, shows and removes policies; gc applies them, shows them in a dry run, and --no-policies skips them", async () => {
    const url = newUrl();
    await withStore(url, async (store) => {
      for (const id of ["chat-1", "chat-2", "other"]) for (let turn = 1; turn <= 5; turn++) await store.session(id).commit({ turn, snapshots: { tool: `${id} ${turn}` } });
    });
    const set = await cairn(["retention", "set", "--default", "--keep-last", "2", "--url", url]);
    expect(set.status, set.err).toBe(0);
    expect(set.out.trim()).toBe("default: keep last 2 (applied by the next gc; cairn gc --dry-run shows what it drops)");
    const prefix = await cairn(["retention", "set", "--prefix", "chat-", "--keep-last", "4", "--expire-after", "30d", "--url", url]);
    expect(prefix.status, prefix.err).toBe(0);
    const list = await cairn(["retention", "--url", url]);
    expect(list.out.split("\n").slice(0, 3).map((l) => l.replace(/\s+\S+$/, "").trimEnd())).toEqual([
      "SCOPE         POLICY",
      "default       keep last 2",
      "prefix chat-  keep last 4, expire after 30d",
    ]);
    const show = await cairn(["retention", "show", "chat-2", "--url", url]);
    expect(show.out.trim()).toBe("chat-2: keep last 4, expire after 30d (from prefix chat-)");

    const skipped = await cairn(["gc", "--dry-run", "--grace", "0", "--no-policies", "--json", "--url", url]);
    expect(json(skipped).plan).toMatchObject({ historyRows: 0, policies: false });
    const dry = await cairn(["gc", "--dry-run", "--grace", "0", "--url", url]);
    expect(dry.status, dry.err).toBe(0);
    expect(dry.out).toMatch(/^dry run: would drop 5 history rows in 3 sessions/);
    expect(dry.out).toMatch(/RETENTION\s+CHECKPOINTS\s+SESSIONS\s+EXPIRED\n\s+default\s+3\s+1\s+0\n\s+prefix:chat-\s+2\s+2\s+0/);
    const run = await cairn(["gc", "--grace", "0", "--url", url]);
    expect(run.status, run.err).toBe(0);
    await withStore(url, async (store) => {
      expect((await store.session("other").history()).map((e) => e.seq)).toEqual([5, 4]);
      expect((await store.session("chat-1").history()).map((e) => e.seq)).toEqual([5, 4, 3, 2]);
    });

    const removed = await cairn(["retention", "rm", "--prefix", "chat-", "--json", "--url", url]);
    expect(json(removed)).toEqual({ scope: { prefix: "chat-" }, removed: true });
    const again = await cairn(["retention", "rm", "--prefix", "chat-", "--url", url]);
    expect(again.status).toBe(1);
    const two = await cairn(["retention", "set", "--default", "--session", "x", "--keep-last", "1", "--url", url]);
    expect(two.status).toBe(2);
    expect(two.err).toMatch(/exactly one of --default, --session <id>, --prefix <p>/);
    const zero = await cairn(["retention", "set", "--default", "--keep-for", "0", "--url", url]);
    expect(zero.status).toBe(2);
  });
});

describe("cairn export / import", () => {
  it("moves a session between two stores, where it hydrates equal", async () => {
    const from = newUrl();
    const to = newUrl();
    await prepare(from);
    const bundle = join(dir, "s1.bundle");
    const exported = await cairn(["export", "--session", "s1", "-o", bundle, "--json", "--url", from]);
    expect(exported.status, exported.err).toBe(0);
    expect(json(exported)).toMatchObject({ file: bundle, sessions: ["s1"], historyRows: 2 });
    expect(readFileSync(bundle).subarray(0, 8).toString()).toBe("CAIRNBDL");

    const imported = await cairn(["import", bundle, "--json", "--url", to]);
    expect(imported.status, imported.err).toBe(0);
    expect(json(imported)).toMatchObject({ sessions: ["s1"], historyRows: 2 });
    const again = await cairn(["import", bundle, "--json", "--url", to]);
    expect(again.status, again.err).toBe(0);
    expect(json(again)).toMatchObject({ historyRows: 0, blobs: 0 });

    const original = await withStore(from, (store) => Promise.all([store.session("s1").at(1), store.session("s1").latest()]));
    await withStore(to, async (store) => {
      expect(await store.session("s1").at(1)).toEqual(original[0]);
      expect(await store.session("s1").latest()).toEqual(original[1]);
      expect((await store.sessions.list()).map((s) => s.id)).toEqual(["s1"]);
    });
  });

  it("takes the sessions to export as arguments, with --session still taken beside them", async () => {
    const from = newUrl();
    await prepare(from);
    const [one, both, mixed] = await Promise.all([
      cairn(["export", "s1", "-o", join(dir, "one.bundle"), "--json", "--url", from]),
      cairn(["export", "s1", "s2", "-o", join(dir, "both.bundle"), "--json", "--url", from]),
      cairn(["export", "s2", "--session", "s1", "--session", "s2", "-o", join(dir, "mixed.bundle"), "--json", "--url", from]),
    ]);
    for (const run of [one, both, mixed]) expect(run.status, run.err).toBe(0);
    expect(json(one).sessions).toEqual(["s1"]);
    expect([...json(both).sessions].sort()).toEqual(["s1", "s2"]);
    expect([...json(mixed).sessions].sort()).toEqual(["s1", "s2"]);
    const missing = await cairn(["export", "nope", "-o", join(dir, "nope.bundle"), "--url", from]);
    expect(missing.status).not.toBe(0);
    expect(missing.err).toMatch(/nope/);
    expect(existsSync(join(dir, "nope.bundle"))).toBe(false);
  });
});

describe("cairn demo", () => {
  it("runs, kills and resumes on a fresh file; over an existing file, only replaces an earlier demo's store", async () => {
    const url = newUrl();
    const path = url.slice("file:".length);
    const first = await cairn(["demo", "--url", url, "--turns", "12", "--tool-every", "3"]);
    expect(first.status, first.err).toBe(0);
    expect(first.out).toMatch(/state identical to what was committed/);
    expect(first.out).toContain(`npx cairn log demo --url ${url}`);
    const again = await cairn(["demo", "--url", url, "--turns", "12", "--tool-every", "3"]);
    expect(again.status, again.err).toBe(0);

    // A store with other sessions, and a file that is no store: refused, left byte for byte.
    const other = newUrl();
    await prepare(other);
    const notes = join(dir, "notes.json");
    writeFileSync(notes, '{"keep":"me"}');
    const empty = join(dir, "empty.db");
    writeFileSync(empty, "");
    for (const [target, why] of [
      [other.slice("file:".length), 'is a cairn store with other sessions than "demo" \\(2\\)'],
      [notes, "cannot be opened \\(.*file is not a database\\)"],
      [empty, "is not a cairn store"],
    ] as const) {
      const before = readFileSync(target);
      const run = await cairn(["demo", "--url", `file:${target}`, "--turns", "12"]);
      expect(run.status).toBe(2);
      expect(run.err).toMatch(new RegExp(`^cairn demo: ${target} ${why}; it is left as it is\\. Pass another --url, or --keep to add to a demo store\\.\n$`));
      expect(readFileSync(target).equals(before)).toBe(true);
    }
    expect(existsSync(path)).toBe(true);
  });
});

describe("cairn --version", () => {
  it("prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const run = await cairn([flag]);
      expect(run.status, run.err).toBe(0);
      expect(run.out).toBe(`${version}\n`);
    }
  });
});

describe("errors, exit statuses, CAIRN_URL", () => {
  it("usage errors exit 2 with one line on stderr", async () => {
    const url = newUrl();
    const runs = await Promise.all([
      cairn(["bogus"]),
      cairn(["log", "--url", url]),
      cairn(["sessions", "--no-such-option", "--url", url]),
      cairn(["gc", "--grace", "5 parsecs", "--url", url]),
      cairn(["gc", "--keep-last", "0", "--url", url]),
      cairn(["export", "--url", url]),
    ]);
    for (const run of runs) {
      expect(run.status, run.err).toBe(2);
      expect(run.err).toMatch(/^cairn: USAGE: [^\n]+\n$/);
      expect(run.out).toBe("");
    }
    expect(runs[0]!.err).toContain("unknown command 'bogus'");
    expect(runs[3]!.err).toContain("5 parsecs");
  });

  it("runtime errors print the code, and a stack only with --debug", async () => {
    const url = newUrl();
    await prepare(url);
    const missing = "0".repeat(64);
    const [plain, debug, badPin] = await Promise.all([
      cairn(["cat", missing, "--url", url]),
      cairn(["cat", missing, "--url", url], { env: { CAIRN_DEBUG: "1" } }),
      cairn(["pin", "p", "--url", url]),
    ]);
    expect(plain.status).toBe(2);
    expect(plain.err).toBe(`cairn: NOT_FOUND: no blob with ref ${missing}\n`);
    expect(debug.status).toBe(2);
    expect(debug.err).toMatch(/^cairn: NOT_FOUND: [^\n]+\n[\s\S]*\n\s+at /);
    expect(badPin.status).toBe(2);
    expect(badPin.err).toMatch(/^cairn: INVALID_ARGUMENT: pin needs a target[^\n]*\n$/);
  });

  it("refuses a store file that does not exist (NOT_FOUND, nothing created); only put and import create one", async () => {
    const url = newUrl();
    const path = url.slice("file:".length);
    const runs = await Promise.all(
      [["verify"], ["sessions"], ["log", "s1"], ["stats"], ["gc", "--dry-run"], ["pins"], ["export", "-o", `${path}.bundle`]].map((args) => cairn([...args, "--url", url])),
    );
    for (const run of runs) {
      expect(run.status, run.err).toBe(2);
      expect(run.err).toBe(`cairn: NOT_FOUND: ${path} does not exist; nothing was written (check --url or CAIRN_URL; only put and import create a store)\n`);
      expect(run.out).toBe("");
    }
    expect(existsSync(path)).toBe(false);
    // Another application's SQLite file is not a store: refused, and left as it was.
    const foreign = `${path}.other`;
    writeFileSync(foreign, "");
    const verifyForeign = await cairn(["verify", "--url", `file:${foreign}`]);
    expect(verifyForeign.status).toBe(2);
    expect(verifyForeign.err).toBe(`cairn: NOT_FOUND: ${foreign} is not a cairn store; nothing was written (check --url or CAIRN_URL; only put and import create a store)\n`);
    expect(readFileSync(foreign).byteLength).toBe(0);
    const put = await cairn(["put", "-", "--url", url], { input: Buffer.from("now it exists") });
    expect(put.status, put.err).toBe(0);
    const verify = await cairn(["verify", "--url", url]);
    expect(verify.status, verify.err).toBe(0);
  });

  it("uses CAIRN_URL, and .cairn/cairn.db under the working directory without it", async () => {
    const url = newUrl();
    await prepare(url);
    const cwd = tempDir("cairn-cli-cwd-");
    try {
      const [viaEnv, stats, local] = await Promise.all([
        cairn(["sessions", "--json"], { env: { CAIRN_URL: url } }),
        cairn(["stats", "--json"], { env: { CAIRN_URL: url } }),
        cairn(["put", "-"], { cwd: cwd.dir, input: Buffer.from("here") }),
      ]);
      expect(json(viaEnv).map((s: any) => s.id)).toEqual(["s1", "s2"]);
      expect(json(stats)).toMatchObject({ sessions: 2, checkpoints: 3 });
      expect(local.status, local.err).toBe(0);
      expect(existsSync(join(cwd.dir, ".cairn", "cairn.db"))).toBe(true);
      await withStore(`file:${join(cwd.dir, ".cairn", "cairn.db")}`, async (store) => expect(await store.blobs.has(local.out.trim())).toBe(true));
    } finally {
      cwd.remove();
    }
  });
});
