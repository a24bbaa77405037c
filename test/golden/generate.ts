/**
 * Writes a golden store: a real store file written by the code of one released
 * schema version, and `<name>.expected.json`, what a reader must find in it
 * (read back by that same code right after writing). golden.test.ts opens a copy
 * of each with the current code and checks it against the expectation.
 *
 * The generator runs against an old tree's src, never the current one: it loads
 * `<src>/index.ts` (and `<src>/adapters/stores/index.ts` where it exists) with a
 * dynamic import and uses only API that existed at schema version 1 (openStore,
 * session(...).commit/head/latest/at/history/fork, sessions.list, values.put/get,
 * blobs.put/get/info, unchanged), plus store.pin/listPins and the session stores
 * where the tree has them. It imports nothing from the current src/; the API is
 * typed loosely below, so the file type-checks with the current tree.
 *
 * Deterministic: the content comes from a seeded PRNG, and Date.now is replaced
 * by a clock that starts at the writing commit's committer date and advances one
 * second per operation, so the timestamps stored (blobs, history rows, sessions,
 * pins) are the same on every run: regenerating a fixture from the same commit
 * gives a byte-identical .db and expected.json (checked for both).
 *
 * How the fixtures were made (from /work/main, node 20.20.2, the repository's
 * node_modules: @libsql/client 0.18.0 and @msgpack/msgpack 3.1.3, the versions
 * both commits pin):
 *
 *   v1.db: commit 56919b0 (56919b07450ef9a3c2b56229cf2eedc16956825f, "Index history by
 *   label; internal hook for statements in a commit's transaction"), the last commit
 *   whose src/db/schema.ts has SCHEMA_VERSION = 1: its child 7c93c19 ("Fix: chunked
 *   values keep their edges to linked blobs; ...") raised it to 2 and added the
 *   events and usage tables (the session stores that use them came later, in 0d2b362).
 *     git -C /work/main worktree add --detach /tmp/golden-v1 56919b0
 *     ln -s /work/main/node_modules /tmp/golden-v1/node_modules
 *     cd /tmp/golden-v1 && node --import tsx /work/main/test/golden/generate.ts \
 *       --src /tmp/golden-v1/src --out /work/main/test/golden/v1
 *     git -C /work/main worktree remove --force /tmp/golden-v1
 *
 *   v2.db: commit 374c314 (374c314b5c6470e25f90874720a186e9241e24ae, "Review fixes: ..."),
 *   the HEAD when this work began, schema version 2, with pins and the session
 *   stores. (e693f0e, the storage-layer refactor that followed, writes the same
 *   content, refs, blob layout and reachability; only the timestamps differ.)
 *     git -C /work/main worktree add --detach /tmp/golden-v2 374c314
 *     ln -s /work/main/node_modules /tmp/golden-v2/node_modules
 *     cd /tmp/golden-v2 && node --import tsx /work/main/test/golden/generate.ts \
 *       --src /tmp/golden-v2/src --out /work/main/test/golden/v2
 *     git -C /work/main worktree remove --force /tmp/golden-v2
 *
 * The generator refuses a tree with uncommitted changes under src/, records the
 * tree's commit in expected.json, writes the store in a temp directory, merges
 * its WAL, and copies only the .db next to the expected.json.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { logicallyReachable } from "./reach.js";
import { render, renderHash, sha256Hex } from "./render.js";

// ---------------------------------------------------------------------------
// The API used, typed loosely (the old trees' types are not the current ones).

type Ref = string;
interface CheckpointInput {
  turn: number;
  snapshots: Record<string, unknown>;
  pluginRevision?: string | number;
  meta?: unknown;
}
interface CommitOptionsV {
  expectedHead?: number;
  label?: string;
  meta?: unknown;
}
interface HistoryEntryV {
  readonly seq: number;
  readonly ref: Ref;
  readonly turn: number;
  readonly label: string | undefined;
  readonly meta: unknown;
  readonly createdAt: Date;
}
interface CheckpointV {
  readonly seq: number;
  readonly ref: Ref;
  readonly turn: number;
  readonly snapshots: Record<string, unknown>;
  readonly pluginRevision?: string | number;
  readonly meta?: unknown;
  readonly manifest: { readonly slots: Readonly<Record<string, Ref>> };
}
interface SessionV {
  readonly id: string;
  commit(checkpoint: CheckpointInput, options?: CommitOptionsV): Promise<{ seq: number; ref: Ref }>;
  head(): Promise<number>;
  latest(): Promise<CheckpointV | undefined>;
  at(seq: number): Promise<CheckpointV>;
  history(): Promise<HistoryEntryV[]>;
  fork(newId: string, options?: { at?: number }): Promise<SessionV>;
}
interface BlobInfoV {
  readonly kind: string;
  readonly size: number;
  readonly storedSize: number;
  readonly encoding: string;
}
interface PinInfoV {
  readonly name: string;
  readonly ref: Ref;
  readonly createdAt: Date;
}
interface StoreV {
  readonly blobs: {
    put(bytes: Uint8Array, options?: { kind?: string }): Promise<Ref>;
    get(ref: Ref): Promise<Uint8Array>;
    info(ref: Ref): Promise<BlobInfoV | undefined>;
  };
  readonly values: { put(value: unknown, options?: { kind?: string }): Promise<Ref>; get(ref: Ref): Promise<unknown> };
  readonly sessions: { list(): Promise<Array<{ id: string; head: number; createdAt: Date; updatedAt: Date }>> };
  session(id: string): SessionV;
  close(): Promise<void>;
  pin?(name: string, ref: Ref): Promise<PinInfoV>;
  listPins?(): Promise<PinInfoV[]>;
}
interface CairnV {
  openStore(options: { url: string }): Promise<StoreV>;
  unchanged(ref: Ref): unknown;
}
interface UsageInputV {
  source: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number;
  reasoningTokens?: number;
  time?: number;
  meta?: unknown;
}
interface UsageEntryV {
  readonly id: number;
  readonly session: string;
  readonly seq: number | undefined;
  readonly source: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly time: Date;
  readonly meta: unknown;
}
interface UsageTotalsV {
  readonly entries: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly totalTokens: number;
}
interface StoresV {
  KeyedState: new (store: StoreV, options?: { namespace?: string }) => {
    put(id: string, state: unknown, options?: { expectedVersion?: number }): Promise<{ version: number; ref: Ref }>;
    get(id: string): Promise<unknown>;
    version(id: string): Promise<number>;
  };
  SnapshotHistory: new (store: StoreV, sessionId: string) => {
    save(snapshot: unknown, options?: { expectedHead?: number; turn?: number; label?: string; meta?: unknown }): Promise<{ seq: number; ref: Ref }>;
    loadEntry(): Promise<{ snapshot: unknown; seq: number; ref: Ref; turn: number } | undefined>;
    loadAt(seq: number): Promise<unknown>;
    entries(): Promise<HistoryEntryV[]>;
  };
  EventLog: new (store: StoreV, session: string) => {
    appendMany(events: Array<{ type: string; data?: unknown; time?: number }>): Promise<unknown>;
    append(event: { type: string; data?: unknown; time?: number }): Promise<unknown>;
    read(options?: { after?: number; limit?: number }): Promise<{ events: Array<{ seq: number; type: string; data: unknown; time: Date }>; cursor: number; hasMore: boolean }>;
    head(): Promise<number>;
  };
  UsageLedger: new (store: StoreV) => {
    record(session: string, usage: UsageInputV | UsageInputV[]): Promise<unknown>;
    commit(session: string, checkpoint: CheckpointInput, usage: UsageInputV | UsageInputV[], options?: CommitOptionsV): Promise<{ seq: number; ref: Ref }>;
    entries(options?: object): Promise<UsageEntryV[]>;
    totals(filter?: object): Promise<UsageTotalsV>;
    totalsBy(group: "session" | "model" | "source", filter?: object): Promise<Map<string, UsageTotalsV>>;
  };
}

// ---------------------------------------------------------------------------
// The expectation: the shape of <name>.expected.json (golden.test.ts imports these types).

/**
 * A slot of a checkpoint: the ref its manifest names, the renderHash of the value
 * read back, and the ref that value gets when the writing version stores it again
 * (in a :memory: store): the slot's own ref, except where the slot held a link to
 * another stored value (unchanged(ref) inside a value), which reads back inlined.
 */
export interface ExpectedSlot {
  readonly ref: Ref;
  readonly hash: string;
  readonly reencoded: Ref;
}
export interface ExpectedHistoryRow {
  readonly seq: number;
  readonly ref: Ref;
  readonly turn: number;
  /** null for a row without a label. */
  readonly label: string | null;
  /** render() of the history row's meta. */
  readonly meta: string;
  readonly createdAt: string;
  /** What the checkpoint holds (its manifest): pluginRevision and meta as render() text, slots by name. */
  readonly checkpoint: { readonly pluginRevision: string; readonly meta: string; readonly slots: Readonly<Record<string, ExpectedSlot>> };
}
export interface ExpectedSession {
  readonly id: string;
  readonly head: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly history: readonly ExpectedHistoryRow[];
}
export interface ExpectedBlob {
  readonly name: string;
  readonly ref: Ref;
  readonly kind: string;
  readonly size: number;
  readonly storedSize: number;
  readonly encoding: string;
  /** Whether a history row or pin reaches it (gc keeps it). */
  readonly reachable: boolean;
}
export interface ExpectedValue {
  readonly name: string;
  readonly ref: Ref;
  /** renderHash of the value read back. */
  readonly hash: string;
  readonly reachable: boolean;
}
export interface ExpectedUsageEntry {
  readonly id: number;
  readonly session: string;
  readonly seq: number | null;
  readonly source: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly time: string;
  readonly meta: string;
}
export interface ExpectedStores {
  readonly keyedState: ReadonlyArray<{ readonly namespace: string; readonly id: string; readonly version: number; readonly hash: string }>;
  readonly snapshotHistories: ReadonlyArray<{
    readonly session: string;
    readonly latest: { readonly seq: number; readonly ref: Ref; readonly turn: number; readonly hash: string };
    readonly snapshots: ReadonlyArray<{ readonly seq: number; readonly hash: string }>;
  }>;
  readonly eventLogs: ReadonlyArray<{
    readonly session: string;
    readonly head: number;
    /** data as render() text. */
    readonly events: ReadonlyArray<{ readonly seq: number; readonly type: string; readonly time: string; readonly data: string }>;
  }>;
  readonly usage: {
    readonly entries: readonly ExpectedUsageEntry[];
    readonly totals: UsageTotalsV;
    readonly totalsByModel: Readonly<Record<string, UsageTotalsV>>;
    readonly totalsBySession: Readonly<Record<string, UsageTotalsV>>;
  };
}
export interface Expected {
  readonly fixture: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly writtenBy: { readonly commit: string; readonly subject: string; readonly schemaVersion: number; readonly clockStart: string; readonly node: string };
  readonly features: { readonly pins: boolean; readonly sessionStores: boolean };
  readonly sessions: readonly ExpectedSession[];
  readonly rawBlobs: readonly ExpectedBlob[];
  readonly values: readonly ExpectedValue[];
  readonly pins: ReadonlyArray<{ readonly name: string; readonly ref: Ref; readonly createdAt: string }>;
  readonly stores: ExpectedStores | null;
  readonly database: {
    readonly userVersion: number;
    readonly rows: Readonly<Record<string, number>>;
    /** Blob rows by kind and encoding (0 raw, 1 deflate, 2 chunked), as written. */
    readonly inventory: ReadonlyArray<{ readonly kind: string; readonly encoding: number; readonly rows: number; readonly size: number; readonly storedSize: number }>;
    /**
     * Blob rows a history row or pin needs (reach.ts: from the format, not from the
     * edges table), and the others: what a gc with no grace period may delete.
     * `withoutEdgePath`: needed blobs that no path of recorded edges reaches from a
     * root (written by a cairn that left out edges), which an edge-walking gc would
     * take for garbage.
     */
    readonly gc: { readonly reachableBlobs: number; readonly unreachableBlobs: number; readonly withoutEdgePath: readonly Ref[] };
  };
}

// ---------------------------------------------------------------------------
// Content: seeded, the same on every run and in every version's fixture.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Content {
  readonly #rng: () => number;
  readonly #vocab: string[];

  constructor(seed: number) {
    this.#rng = mulberry32(seed);
    const letters = "abcdefghijklmnopqrstuvwxyz";
    this.#vocab = Array.from({ length: 600 }, () => Array.from({ length: 2 + this.int(9) }, () => letters[this.int(26)]).join(""));
  }

  int(n: number): number {
    return Math.floor(this.#rng() * n);
  }

  /** Words from the vocabulary, about `bytes` long. */
  text(bytes: number): string {
    const words: string[] = [];
    let length = 0;
    while (length < bytes) {
      const word = this.#vocab[this.int(this.#vocab.length)]!;
      words.push(word);
      length += word.length + 1;
    }
    return words.join(" ");
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  message(i: number, session: string): { id: string; role: string; content: string; at: Date; tokens: number } {
    return { id: `${session}-m${i}`, role: i % 2 === 0 ? "user" : "assistant", content: this.text(900 + this.int(600)), at: new Date(Date.UTC(2026, 0, 1) + i * 61_000), tokens: 200 + this.int(300) };
  }
}

/** A value holding every kind of value the codec supports. */
function everyType(content: Content): Record<string, unknown> {
  const holes: unknown[] = [1, 2, 3, 4];
  delete holes[1];
  holes.length = 6;
  let deep: unknown = { leaf: "bottom" };
  for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? { level: i, next: deep } : [i, deep];
  return {
    map: new Map<unknown, unknown>([
      ["b", 1],
      ["a", [1, 2]],
      [3, "three"],
      [-1n, null],
      [{ k: 1 }, new Set([1])],
    ]),
    emptyMap: new Map(),
    set: new Set<unknown>([3, "x", 1n, null, false, "a"]),
    emptySet: new Set(),
    dates: [new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), new Date(-1_234_567_890_123), new Date(0), new Date(8.64e15), new Date(Number.NaN)],
    bigints: [0n, -1n, 2n ** 64n, -(2n ** 100n) + 7n, 255n, -(2n ** 63n)],
    bytes: Uint8Array.of(0, 1, 2, 127, 128, 255),
    emptyBytes: new Uint8Array(0),
    randomBytes: content.bytes(300),
    undef: undefined,
    withUndefined: [1, undefined, 3],
    holes,
    numbers: [0, -0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, 4294967295, 4294967296, -2147483648, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 60, 0.1, -1.5, 1e300, 5e-324],
    specials: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0],
    strings: ["", "ascii", "ünïcødé", "emoji 🙂 𝄞", "x".repeat(63), "y".repeat(64), "z".repeat(300), "\u0000nul\u0001", "line\nbreak"],
    booleans: [true, false],
    nil: null,
    keys: { "": 1, "10": 2, "2": 3, é: 4, a: 5, B: 6, "🙂": 7 },
    emptyObject: {},
    emptyArray: [],
    deep,
  };
}

// ---------------------------------------------------------------------------

interface Args {
  readonly src: string;
  readonly out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string): string => {
    const i = argv.indexOf(name);
    const value = i >= 0 ? argv[i + 1] : undefined;
    if (value === undefined) throw new Error(`usage: node --import tsx test/golden/generate.ts --src <tree>/src --out <dir>/<name> (missing ${name})`);
    return value;
  };
  return { src: resolve(get("--src")), out: resolve(get("--out")) };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-C", cwd, ...args], { encoding: "utf8" }).trim();
}

const iso = (date: Date): string => date.toISOString();

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const commit = git(args.src, "rev-parse", "HEAD");
  const subject = git(args.src, "log", "-1", "--format=%s", commit);
  const dirty = git(args.src, "status", "--porcelain", "--", ".");
  if (dirty !== "") throw new Error(`${args.src} has uncommitted changes; a fixture is written by committed code only:\n${dirty}`);
  const clockStart = Date.parse(git(args.src, "log", "-1", "--format=%cI", commit));

  // 1. The deterministic clock.
  let clock = clockStart;
  Date.now = () => clock;
  const tick = () => {
    clock += 1000;
  };

  const cairn = (await import(pathToFileURL(join(args.src, "index.ts")).href)) as CairnV;
  const storesPath = join(args.src, "adapters", "stores", "index.ts");
  const stores = existsSync(storesPath) ? ((await import(pathToFileURL(storesPath).href)) as StoresV) : undefined;

  const dir = mkdtempSync(join(tmpdir(), "cairn-golden-"));
  const dbPath = join(dir, `${basename(args.out)}.db`);
  const url = `file:${dbPath}`;

  // 2. Write.
  const store = await cairn.openStore({ url });
  const pins = typeof store.pin === "function";
  const written = await write(store, cairn, stores, pins, tick);
  await store.close();

  // 3. Read everything back with the same code: that is what a reader must find.
  const reader = await cairn.openStore({ url });
  const scratch = await cairn.openStore({ url: ":memory:" });
  const sessions = await readSessions(reader, scratch);
  await scratch.close();
  const rawBlobs = await Promise.all(
    written.rawBlobs.map(async ({ name, ref }) => {
      const bytes = await reader.blobs.get(ref);
      if (sha256Hex(bytes) !== ref) throw new Error(`raw blob ${name} does not hash to its ref`);
      const info = (await reader.blobs.info(ref))!;
      return { name, ref, kind: info.kind, size: info.size, storedSize: info.storedSize, encoding: info.encoding };
    }),
  );
  const values = await Promise.all(written.values.map(async ({ name, ref }) => ({ name, ref, hash: renderHash(await reader.values.get(ref)) })));
  const pinList = pins ? (await reader.listPins!()).map((p) => ({ name: p.name, ref: p.ref, createdAt: iso(p.createdAt) })) : [];
  const storesExpected = stores ? await readStores(reader, stores, written) : null;
  await reader.close();

  // 4. The database as written: version, row counts, blob inventory, reachability.
  const client = createClient({ url });
  const scalar = async (sql: string) => Number((await client.execute(sql)).rows[0]![0]);
  const userVersion = await scalar("PRAGMA user_version");
  const tables = (await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).rows.map((r) => String(r[0]));
  const rows: Record<string, number> = {};
  for (const table of tables) rows[table] = await scalar(`SELECT COUNT(*) FROM "${table}"`);
  const inventory = (
    await client.execute("SELECT kind, encoding, COUNT(*), SUM(size), SUM(stored_size) FROM blobs GROUP BY kind, encoding ORDER BY kind, encoding")
  ).rows.map((r) => ({ kind: String(r[0]), encoding: Number(r[1]), rows: Number(r[2]), size: Number(r[3]), storedSize: Number(r[4]) }));
  // What the roots need, from the format (reach.ts), and what the edges table says they reach.
  const reachable = await logicallyReachable(client);
  const alongEdges = new Set(
    (
      await client.execute(`WITH RECURSIVE live(id) AS (
          SELECT manifest FROM history
          UNION SELECT blob FROM pins
          UNION SELECT e.dst FROM edges e JOIN live l ON e.src = l.id)
        SELECT lower(hex(ref)) FROM blobs WHERE id IN (SELECT id FROM live)`)
    ).rows.map((r) => String(r[0])),
  );
  const withoutEdgePath = [...reachable].filter((ref) => !alongEdges.has(ref)).sort();
  await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  client.close();
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    const path = dbPath + suffix;
    if (!existsSync(path)) continue;
    if (suffix === "-wal" && statSync(path).size > 0) throw new Error(`${path} is not empty after the checkpoint`);
    rmSync(path);
  }

  // 5. Copy the .db next to its expectation.
  const outDb = `${args.out}.db`;
  copyFileSync(dbPath, outDb);
  rmSync(dir, { recursive: true, force: true });
  const fileBytes = readFileSync(outDb);
  const expected: Expected = {
    fixture: { file: basename(outDb), bytes: fileBytes.byteLength, sha256: sha256Hex(fileBytes) },
    writtenBy: { commit, subject, schemaVersion: userVersion, clockStart: new Date(clockStart).toISOString(), node: process.version },
    features: { pins, sessionStores: stores !== undefined },
    sessions,
    rawBlobs: rawBlobs.map((b) => ({ ...b, reachable: reachable.has(b.ref) })),
    values: values.map((v) => ({ ...v, reachable: reachable.has(v.ref) })),
    pins: pinList,
    stores: storesExpected,
    database: {
      userVersion,
      rows,
      inventory,
      gc: { reachableBlobs: reachable.size, unreachableBlobs: (rows.blobs ?? 0) - reachable.size, withoutEdgePath },
    },
  };
  writeFileSync(`${args.out}.expected.json`, `${JSON.stringify(expected, null, 2)}\n`);
  console.log(`wrote ${outDb} (${fileBytes.byteLength} bytes, schema ${userVersion}, commit ${commit.slice(0, 7)}) and ${basename(args.out)}.expected.json in ${dirname(outDb)}`);
}

interface Written {
  readonly rawBlobs: ReadonlyArray<{ name: string; ref: Ref }>;
  readonly values: ReadonlyArray<{ name: string; ref: Ref }>;
  readonly keyed: ReadonlyArray<{ namespace: string; id: string }>;
  readonly snapshotHistories: readonly string[];
  readonly eventLogs: readonly string[];
}

async function write(store: StoreV, cairn: CairnV, stores: StoresV | undefined, pins: boolean, tick: () => void): Promise<Written> {
  const content = new Content(0x6a1de);
  const { unchanged } = cairn;
  const toolOutput = content.text(20 * 1024); // > 16 KiB: moved out as a large-value blob
  const block = content.text(24 * 1024);
  const report = Array.from({ length: 12 }, (_, i) => `## part ${i}\n${block}`).join("\n"); // ~290 KiB, repeats: its chunks dedup
  const unit = content.bytes(2048);
  const attachment = new Uint8Array(20 * 1024); // a byte array moved out (link tag 1)
  for (let i = 0; i < 10; i++) attachment.set(unit.map((b) => b ^ (i === 5 ? 1 : 0)), i * 2048);
  const allTypes = everyType(content);
  const messages: Array<Record<string, unknown>> = Array.from({ length: 80 }, (_, i) => content.message(i, "alpha"));
  // A large string inside the (chunked) history only: moved out and linked from chunked values alone.
  messages[5] = { ...messages[5], role: "tool", content: content.text(18 * 1024) };
  const retry = Array.from({ length: 20 }, (_, i) => content.message(100 + i, "retry"));
  const rawBlobs: Array<{ name: string; ref: Ref }> = [];
  const values: Array<{ name: string; ref: Ref }> = [];
  const put = async (name: string, bytes: Uint8Array, kind?: string) => {
    tick();
    rawBlobs.push({ name, ref: await store.blobs.put(bytes, kind === undefined ? undefined : { kind }) });
  };
  const putValue = async (name: string, value: unknown) => {
    tick();
    const ref = await store.values.put(value);
    values.push({ name, ref });
    return ref;
  };
  const commit = async (session: SessionV, checkpoint: CheckpointInput, options?: CommitOptionsV) => {
    tick();
    return session.commit(checkpoint, options);
  };

  // Values by ref: one linked from a checkpoint (unchanged(ref) inside a value), the others not.
  const linkedValue = await putValue("linked", { about: "linked from agent-alpha turn 4", all: allTypes });
  await putValue("undefined", undefined);
  await putValue("negative-zero", -0);
  await putValue("map-of-set", new Map<unknown, unknown>([[1n, new Set(["a", new Date(5)])], ["k", new Map()]]));
  await putValue("readme-order", { b: 2, a: 1 });
  await putValue("large-string", content.text(40 * 1024));

  // Session agent-alpha: a growing history (chunked, its chunks shared turn to turn), unchanged slots,
  // a large string and a large byte array moved out, every value type, labels and meta.
  const alpha = store.session("agent-alpha");
  const a1 = await commit(
    alpha,
    {
      turn: 1,
      snapshots: { execution: { messages: messages.slice(0, 32), step: 1 }, tool: { lastOutput: toolOutput, calls: [{ name: "search", args: { q: "golden" } }] }, plugin: allTypes },
      pluginRevision: 1,
      meta: { model: "model-a", temperature: 0.2 },
    },
    { expectedHead: 0, label: "turn-1", meta: { tokens: 1234, at: new Date(Date.UTC(2026, 0, 3)), tags: new Set(["a", "b"]) } },
  );
  const c1 = await alpha.at(a1.seq);
  await commit(
    alpha,
    { turn: 2, snapshots: { execution: { messages: messages.slice(0, 44), step: 2 }, tool: unchanged(c1.manifest.slots.tool!), plugin: unchanged(c1.manifest.slots.plugin!) }, pluginRevision: 1 },
    { expectedHead: 1, label: "turn-2" },
  );
  const a3 = await commit(
    alpha,
    {
      turn: 3,
      snapshots: {
        execution: { messages: messages.slice(0, 56), step: 3 },
        tool: { lastOutput: report, attachment, calls: [{ name: "read", args: { path: "report.md" } }] },
        plugin: unchanged(c1.manifest.slots.plugin!),
      },
      pluginRevision: "2.0-beta",
    },
    { expectedHead: 2 },
  );
  const c3 = await alpha.at(a3.seq);
  await commit(
    alpha,
    {
      turn: 4,
      snapshots: {
        execution: { messages: messages.slice(0, 68), step: 4 },
        tool: unchanged(c3.manifest.slots.tool!),
        plugin: unchanged(c1.manifest.slots.plugin!),
        scratch: { note: "a stored value linked from inside a value", stored: unchanged(linkedValue), nested: [{ again: unchanged(linkedValue) }] },
      },
      pluginRevision: "2.0-beta",
      meta: { model: "model-b" },
    },
    { label: "turn-4", meta: 42n },
  );
  await commit(
    alpha,
    { turn: 5, snapshots: { execution: { messages: messages.slice(0, 80), step: 5 }, tool: { lastOutput: toolOutput, calls: [] }, plugin: unchanged(c1.manifest.slots.plugin!) }, pluginRevision: 3 },
    { label: "turn-5", meta: { ok: true, nested: { list: [1, "two", null] } } },
  );

  // Forks: at seq 3 (then two commits of its own), and at the head.
  tick();
  const retrySession = await alpha.fork("agent-alpha/retry-1", { at: 3 });
  for (let turn = 4; turn <= 5; turn++) {
    await commit(
      retrySession,
      {
        turn,
        snapshots: { execution: { messages: [...messages.slice(0, 56), ...retry.slice(0, (turn - 3) * 10)], step: turn, retried: true }, tool: unchanged(c3.manifest.slots.tool!) },
        pluginRevision: "2.0-beta",
      },
      { expectedHead: turn - 1, label: `retry-${turn}` },
    );
  }
  tick();
  await alpha.fork("agent-alpha/copy");

  // Session agent-beta: small states (stored whole), the same large output as alpha (stored once),
  // and the same checkpoint committed twice (two rows, one ref).
  const beta = store.session("agent-beta");
  const betaState = { execution: { messages: [content.message(0, "beta"), content.message(1, "beta")] }, tool: { lastOutput: toolOutput } };
  await commit(beta, { turn: 1, snapshots: betaState }, { label: "same" });
  await commit(beta, { turn: 1, snapshots: betaState }, { label: "same", meta: "committed again" });
  await commit(beta, { turn: 2, snapshots: { ...betaState, execution: { messages: [] } }, meta: [1, 2, 3] }, { expectedHead: 2 });

  // Edge cases: a unicode session id, a checkpoint with no slot, an undefined slot (left out),
  // the largest turn, custom slot names, an empty label.
  const edge = store.session("edge/ünïcødé 🙂");
  await commit(edge, { turn: 0, snapshots: {} }, { label: "" });
  await commit(edge, { turn: Number.MAX_SAFE_INTEGER, snapshots: { a: undefined, b: null, "slot with spaces/ü": [-0, Number.NaN] } }, { label: "ünïcødé label 🙂", meta: "a string" });

  // Raw blobs: empty, tiny (raw), compressible (deflate), incompressible, chunked, a large one-off
  // (large chunks, chunks repeated), and bytes equal to a moved-out string (one blob, one ref).
  const encoder = new TextEncoder();
  await put("empty", new Uint8Array(0));
  await put("tiny", encoder.encode("hello, cairn"));
  await put("text-4k", encoder.encode(content.text(4096)));
  await put("random-12k", content.bytes(12 * 1024), "random");
  await put("document-100k", encoder.encode(content.text(100 * 1024)), "document");
  const period = content.text(7000);
  await put("periodic-1.25m", encoder.encode(period.repeat(Math.ceil((1.25 * 1024 * 1024) / period.length))), "tool-output");
  await put("same-as-tool-output", encoder.encode(toolOutput));

  // Pins, where the tree has them: a raw blob, a value, a checkpoint, a unicode name.
  if (pins) {
    const pin = async (name: string, ref: Ref) => {
      tick();
      await store.pin!(name, ref);
    };
    await pin("raw/periodic", rawBlobs.find((b) => b.name === "periodic-1.25m")!.ref);
    await pin("value/map-of-set", values.find((v) => v.name === "map-of-set")!.ref);
    await pin("checkpoint/alpha-2", (await alpha.at(2)).ref);
    await pin("ünïcødé pin 🙂", rawBlobs.find((b) => b.name === "empty")!.ref);
  }

  const keyed: Array<{ namespace: string; id: string }> = [];
  const snapshotHistories: string[] = [];
  const eventLogs: string[] = [];
  if (stores) {
    // Keyed state: write-once ids, a replaced key (its older row dropped), two namespaces.
    const responses = new stores.KeyedState(store, { namespace: "responses" });
    const items = Array.from({ length: 12 }, (_, i) => content.message(i, "resp"));
    tick();
    await responses.put("resp_001", { items: items.slice(0, 8), model: "model-a" }, { expectedVersion: 0 });
    tick();
    await responses.put("resp_002", { items: items.slice(0, 12), model: "model-a", previous: "resp_001" }, { expectedVersion: 0 });
    tick();
    await responses.put("resp_001", { items: items.slice(0, 9), model: "model-b", edited: new Date(Date.UTC(2026, 5, 1)) }, { expectedVersion: 1 });
    keyed.push({ namespace: "responses", id: "resp_001" }, { namespace: "responses", id: "resp_002" });
    const threads = new stores.KeyedState(store);
    tick();
    await threads.put("thread/ü 1", { big: toolOutput, counts: new Map([["a", 1n]]), flags: new Set([true]) });
    keyed.push({ namespace: "default", id: "thread/ü 1" });

    // Snapshot history: a growing snapshot, one unchanged save, labels and meta.
    const history = new stores.SnapshotHistory(store, "snapshots/agent-7");
    const snapMessages = Array.from({ length: 40 }, (_, i) => content.message(i, "snap"));
    const snapshot = (n: number) => ({ messages: snapMessages.slice(0, n), memory: new Map<string, unknown>([["facts", n], ["seen", new Set(snapMessages.slice(0, n).map((m) => m.id))]]) });
    for (const [i, n] of [10, 25, 25, 40].entries()) {
      tick();
      await history.save(snapshot(n), { turn: i + 1, expectedHead: i, ...(i === 1 ? { label: "checkpoint" } : {}), ...(i === 3 ? { meta: { final: true, at: new Date(Date.UTC(2026, 2, 3)) } } : {}) });
    }
    snapshotHistories.push("snapshots/agent-7");

    // Event logs: every value type as data, an event without data, explicit times (one going back).
    const log = new stores.EventLog(store, "events/agent-7");
    const t0 = Date.UTC(2026, 1, 1, 12);
    tick();
    await log.appendMany([
      { type: "message", data: { role: "user", content: "hi 🙂" }, time: t0 },
      { type: "tool-call", data: { name: "search", args: new Map([["q", "golden"]]), id: 17n }, time: t0 + 10 },
      { type: "tool-result", data: { bytes: Uint8Array.of(1, 2, 3), at: new Date(t0 + 20), negZero: -0, nan: Number.NaN, missing: undefined }, time: t0 + 20 },
      { type: "clock-went-back", data: [1, undefined, null], time: t0 - 5000 },
      { type: "big-ish", data: content.text(2000), time: t0 + 40 },
    ]);
    tick();
    await log.append({ type: "end", time: t0 + 50 });
    eventLogs.push("events/agent-7");
    const other = new stores.EventLog(store, "events/other");
    tick();
    await other.append({ type: "start", data: { set: new Set([1, 2]) }, time: t0 });
    tick();
    await other.append({ type: "stop", data: false, time: t0 + 1 });
    eventLogs.push("events/other");

    // Usage ledger: entries on their own (with meta), and with commits (they carry the seq).
    const ledger = new stores.UsageLedger(store);
    tick();
    await ledger.record("agent-alpha", [
      { source: "agent", model: "model-a", inputTokens: 1200, outputTokens: 300, cachedTokens: 1024, reasoningTokens: 50, time: t0, meta: { requestId: "req-1", cost: 0.0123 } },
      { source: "summarizer", model: "model-mini", inputTokens: 5000, outputTokens: 200, time: t0 + 1 },
    ]);
    tick();
    await ledger.commit("usage/agent-9", { turn: 1, snapshots: { execution: { step: 1 } } }, [{ source: "agent", model: "model-a", inputTokens: 10, outputTokens: 20, time: t0 + 2 }], { expectedHead: 0 });
    tick();
    await ledger.commit(
      "usage/agent-9",
      { turn: 2, snapshots: { execution: { step: 2 } } },
      [
        { source: "agent", model: "model-a", inputTokens: 30, outputTokens: 40, cachedTokens: 5, time: t0 + 3 },
        { source: "tool:search", model: "model-b", inputTokens: 1, outputTokens: 2, reasoningTokens: 3, time: t0 + 4, meta: new Map([["k", 1n]]) },
      ],
      { expectedHead: 1, label: "with-usage" },
    );
    tick();
    await ledger.record("usage/agent-9", { source: "agent", model: "model-b", inputTokens: 7, outputTokens: 8, time: t0 + 5 });
  }
  return { rawBlobs, values, keyed, snapshotHistories, eventLogs };
}

async function readSessions(store: StoreV, scratch: StoreV): Promise<ExpectedSession[]> {
  const list = [...(await store.sessions.list())].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: ExpectedSession[] = [];
  for (const info of list) {
    const session = store.session(info.id);
    const head = await session.head();
    if (head !== info.head) throw new Error(`session ${info.id}: head ${head} but list says ${info.head}`);
    const rows = [...(await session.history())].reverse();
    const history: ExpectedHistoryRow[] = [];
    for (const row of rows) {
      const checkpoint = await session.at(row.seq);
      if (checkpoint.ref !== row.ref || checkpoint.turn !== row.turn) throw new Error(`session ${info.id} seq ${row.seq}: history row and checkpoint disagree`);
      const slots: Record<string, ExpectedSlot> = {};
      for (const name of Object.keys(checkpoint.manifest.slots).sort()) {
        const value = checkpoint.snapshots[name];
        slots[name] = { ref: checkpoint.manifest.slots[name]!, hash: renderHash(value), reencoded: await scratch.values.put(value) };
      }
      history.push({
        seq: row.seq,
        ref: row.ref,
        turn: row.turn,
        label: row.label ?? null,
        meta: render(row.meta),
        createdAt: iso(row.createdAt),
        checkpoint: { pluginRevision: render(checkpoint.pluginRevision), meta: render(checkpoint.meta), slots },
      });
    }
    out.push({ id: info.id, head: info.head, createdAt: iso(info.createdAt), updatedAt: iso(info.updatedAt), history });
  }
  return out;
}

async function readStores(store: StoreV, stores: StoresV, written: Written): Promise<ExpectedStores> {
  const keyedState = [];
  for (const { namespace, id } of written.keyed) {
    const map = new stores.KeyedState(store, { namespace });
    keyedState.push({ namespace, id, version: await map.version(id), hash: renderHash(await map.get(id)) });
  }
  const snapshotHistories = [];
  for (const session of written.snapshotHistories) {
    const history = new stores.SnapshotHistory(store, session);
    const latest = (await history.loadEntry())!;
    const snapshots = [];
    for (const entry of [...(await history.entries())].reverse()) snapshots.push({ seq: entry.seq, hash: renderHash(await history.loadAt(entry.seq)) });
    snapshotHistories.push({ session, latest: { seq: latest.seq, ref: latest.ref, turn: latest.turn, hash: renderHash(latest.snapshot) }, snapshots });
  }
  const eventLogs = [];
  for (const session of written.eventLogs) {
    const log = new stores.EventLog(store, session);
    const page = await log.read({ limit: 10_000 });
    eventLogs.push({
      session,
      head: await log.head(),
      events: page.events.map((e) => ({ seq: e.seq, type: e.type, time: iso(e.time), data: render(e.data) })),
    });
  }
  const ledger = new stores.UsageLedger(store);
  const entries = (await ledger.entries()).map((e) => ({
    id: e.id,
    session: e.session,
    seq: e.seq ?? null,
    source: e.source,
    model: e.model,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    cachedTokens: e.cachedTokens,
    reasoningTokens: e.reasoningTokens,
    time: iso(e.time),
    meta: render(e.meta),
  }));
  return {
    keyedState,
    snapshotHistories,
    eventLogs,
    usage: {
      entries,
      totals: await ledger.totals(),
      totalsByModel: Object.fromEntries(await ledger.totalsBy("model")),
      totalsBySession: Object.fromEntries(await ledger.totalsBy("session")),
    },
  };
}

await main();
