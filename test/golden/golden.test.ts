/**
 * Golden stores: a real store file written by the code of each released schema
 * version (v1.db, v2.db; how each was made is at the top of generate.ts), opened
 * with the current code through the public API. Every test works on a copy in a
 * temp directory; the committed file is never opened, and is checked unchanged.
 *
 * What a reader must find is in <name>.expected.json, recorded by the writing
 * version itself: sessions, heads and history rows, every checkpoint's slot refs
 * and the hash of a canonical rendering of what it hydrated to (render.ts), raw
 * blobs, values, pins, session-store rows, and which blobs the roots need
 * (reach.ts: worked out from the format, not from the edges table).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, unchanged, type Store } from "../../src/index.js";
import { EventLog, KeyedState, SnapshotHistory, UsageLedger } from "../../src/adapters/stores/index.js";
import type { VerifyFinding } from "../../src/maintenance/index.js";
import type { Expected, ExpectedSession } from "./generate.js";
import { render, renderHash, sha256Hex } from "./render.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const FIXTURES = ["v1", "v2"] as const;

type Check = "gc-plan" | "real-gc" | "schema" | "verify";
interface KnownDefect {
  readonly why: string;
  /** Text the check's error must contain: it fails for this reason, not another. */
  readonly failsWith: (expected: Expected) => string;
}

/**
 * Checks that fail today because of defects these fixtures found. Such a check
 * must fail, with the error given here; the day the defect is fixed it passes,
 * which fails the test: then delete its entry.
 */
const KNOWN_DEFECTS: Partial<Record<(typeof FIXTURES)[number], Partial<Record<Check, KnownDefect>>>> = {
  // None today. Until schema 3, v1 had four: schema-1 writers recorded no edge from a chunked
  // value to the blobs it links to (gc planned to delete, and deleted, a blob agent-alpha
  // needs; verify reported 7 missing edges), and a51eb97 added the edges_dst and
  // history_manifest indexes to migration 1 in place. Migration 3 adds the indexes and marks
  // the store for the content-edges repair (src/maintenance/repair.ts), which the open runs.
};

interface SchemaRow {
  readonly type: string;
  readonly name: string;
  readonly sql: string;
}

/** user_version and sqlite_master of the database at `path`, read with a plain client (no store open on it). */
async function schemaOf(path: string): Promise<{ version: number; objects: SchemaRow[] }> {
  const client = createClient({ url: `file:${path}` });
  try {
    const version = Number((await client.execute("PRAGMA user_version")).rows[0]![0]);
    const objects = (await client.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")).rows.map((r) => ({
      type: String(r[0]),
      name: String(r[1]),
      // Whitespace is not schema: a migration may be written with other indentation.
      sql: String(r[2]).replace(/\s+/g, " "),
    }));
    return { version, objects };
  } finally {
    client.close();
  }
}

const iso = (date: Date) => date.toISOString();

/** Verify's findings in one line: each type (and target, for edges) with its count. */
function summarize(findings: readonly VerifyFinding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) {
    const key = f.type === "missing-edge" || f.type === "extra-edge" ? `${f.type} -> ${f.dst}` : f.type;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return `findings: ${[...counts].map(([key, n]) => (key.includes(" ->") ? key.replace(" ->", ` x${n} ->`) : `${key} x${n}`)).join("; ") || "none"}`;
}

/**
 * Every session, head, history row and checkpoint of `sessions`, read from `store`,
 * which must list exactly those sessions. What each checkpoint hydrates to is
 * also stored again in `scratch`, where it must get the ref the writing version gave it.
 */
async function expectSessions(store: Store, scratch: Store, sessions: readonly ExpectedSession[]): Promise<void> {
  const listed = new Map((await store.sessions.list()).map((s) => [s.id, s]));
  expect([...listed.keys()].sort()).toEqual(sessions.map((s) => s.id).sort());
  const reencode = new Map<string, [unknown, string]>();
  for (const want of sessions) {
    const info = listed.get(want.id)!;
    expect({ head: info.head, createdAt: iso(info.createdAt), updatedAt: iso(info.updatedAt) }, want.id).toEqual({
      head: want.head,
      createdAt: want.createdAt,
      updatedAt: want.updatedAt,
    });
    const session = store.session(want.id);
    expect(await session.head()).toBe(want.head);
    const rows = (await session.history()).map((row) => ({
      seq: row.seq,
      ref: row.ref,
      turn: row.turn,
      label: row.label ?? null,
      meta: render(row.meta),
      createdAt: iso(row.createdAt),
    }));
    expect(rows, `history of ${want.id}`).toEqual([...want.history].reverse().map(({ checkpoint: _, ...row }) => row));
    for (const row of want.history) {
      const where = `${want.id}@${row.seq}`;
      const checkpoint = await session.at(row.seq);
      expect({ seq: checkpoint.seq, ref: checkpoint.ref, turn: checkpoint.turn }, where).toEqual({ seq: row.seq, ref: row.ref, turn: row.turn });
      expect({ pluginRevision: render(checkpoint.pluginRevision), meta: render(checkpoint.meta) }, where).toEqual({
        pluginRevision: row.checkpoint.pluginRevision,
        meta: row.checkpoint.meta,
      });
      const slots = Object.keys(checkpoint.snapshots).sort();
      expect(
        Object.fromEntries(slots.map((slot) => [slot, { ref: checkpoint.manifest.slots[slot], hash: renderHash(checkpoint.snapshots[slot]) }])),
        where,
      ).toEqual(Object.fromEntries(Object.entries(row.checkpoint.slots).map(([slot, { ref, hash }]) => [slot, { ref, hash }])));
      expect(Object.keys(checkpoint.manifest.slots).sort(), where).toEqual(slots);
      for (const [slot, { reencoded }] of Object.entries(row.checkpoint.slots)) reencode.set(reencoded, [checkpoint.snapshots[slot], `${where}/${slot}`]);
    }
    expect((await session.latest())?.ref).toBe(want.history.find((row) => row.seq === want.head)?.ref);
  }
  // The value format is unchanged: the current code gives what it read the ref the writing version gave it.
  for (const [ref, [value, where]] of reencode) expect(await scratch.values.put(value), where).toBe(ref);
}

/** Raw blobs and values by ref; with `afterGc`, those no root needs must be gone. */
async function expectBlobs(store: Store, expected: Expected, { afterGc = false } = {}): Promise<void> {
  for (const blob of expected.rawBlobs) {
    if (afterGc && !blob.reachable) {
      expect(await store.blobs.has(blob.ref), blob.name).toBe(false);
      continue;
    }
    const bytes = await store.blobs.get(blob.ref);
    expect({ sha256: sha256Hex(bytes), size: bytes.byteLength }, blob.name).toEqual({ sha256: blob.ref, size: blob.size });
    const { ref, kind, size, storedSize, encoding } = blob;
    expect(await store.blobs.info(blob.ref), blob.name).toEqual({ ref, kind, size, storedSize, encoding });
  }
  for (const value of expected.values) {
    if (afterGc && !value.reachable) expect(await store.blobs.has(value.ref), value.name).toBe(false);
    else expect(renderHash(await store.values.get(value.ref)), value.name).toBe(value.hash);
  }
  expect((await store.listPins()).map((p) => ({ name: p.name, ref: p.ref, createdAt: iso(p.createdAt) }))).toEqual(expected.pins);
}

/** Every keyed state, snapshot history, event log and usage entry of `expected`. */
async function expectStores(store: Store, expected: Expected): Promise<void> {
  const want = expected.stores;
  if (want === null) return;
  for (const key of want.keyedState) {
    const map = new KeyedState(store, { namespace: key.namespace });
    expect({ version: await map.version(key.id), hash: renderHash(await map.get(key.id)) }, `${key.namespace}:${key.id}`).toEqual({ version: key.version, hash: key.hash });
  }
  for (const h of want.snapshotHistories) {
    const history = new SnapshotHistory(store, h.session);
    const latest = (await history.loadEntry())!;
    expect({ seq: latest.seq, ref: latest.ref, turn: latest.turn, hash: renderHash(latest.snapshot) }).toEqual(h.latest);
    for (const s of h.snapshots) expect(renderHash(await history.loadAt(s.seq)), `${h.session}@${s.seq}`).toBe(s.hash);
  }
  for (const l of want.eventLogs) {
    const log = new EventLog(store, l.session);
    const page = await log.read({ limit: 10_000 });
    expect(await log.head()).toBe(l.head);
    expect(page.events.map((e) => ({ seq: e.seq, type: e.type, time: iso(e.time), data: render(e.data) })), l.session).toEqual(l.events);
  }
  const ledger = new UsageLedger(store);
  const entries = (await ledger.entries()).map((e) => ({ ...e, seq: e.seq ?? null, time: iso(e.time), meta: render(e.meta) }));
  expect(entries).toEqual(want.usage.entries);
  expect(await ledger.totals()).toEqual(want.usage.totals);
  expect(Object.fromEntries(await ledger.totalsBy("model"))).toEqual(want.usage.totalsByModel);
  expect(Object.fromEntries(await ledger.totalsBy("session"))).toEqual(want.usage.totalsBySession);
}

for (const name of FIXTURES) {
  describe(`golden store ${name}`, () => {
    const expected = JSON.parse(readFileSync(join(HERE, `${name}.expected.json`), "utf8")) as Expected;
    const committed = join(HERE, expected.fixture.file);
    const known = KNOWN_DEFECTS[name] ?? {};
    /** A test of `fn`; where a known defect makes it fail, a test that it fails for that reason. */
    const check = (key: Check, title: string, fn: () => Promise<void>) => {
      const defect = known[key];
      if (defect === undefined) it(title, fn);
      else it(`${title}: fails today [known defect: ${defect.why}]`, () => expect(fn()).rejects.toThrow(defect.failsWith(expected)));
    };
    let dir: string;
    let store: Store;
    let scratch: Store;
    let fresh: { version: number; objects: SchemaRow[] };
    /** A new copy of the fixture in the temp directory. */
    const copy = (as: string) => {
      const path = join(dir, as);
      copyFileSync(committed, path);
      return path;
    };

    beforeAll(async () => {
      // The committed file is the one its expectation describes.
      expect(sha256Hex(readFileSync(committed))).toBe(expected.fixture.sha256);
      dir = mkdtempSync(join(tmpdir(), "cairn-golden-"));
      // What the current code makes of a new store, to compare the migrated schema with.
      const empty = await openStore({ url: `file:${join(dir, "fresh.db")}` });
      await empty.close();
      fresh = await schemaOf(join(dir, "fresh.db"));
      store = await openStore({ url: `file:${copy(expected.fixture.file)}` });
      scratch = await openStore({ url: ":memory:" });
    });

    afterAll(async () => {
      await store?.close().catch(() => {});
      await scratch?.close().catch(() => {});
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`was written by commit ${expected.writtenBy.commit.slice(0, 7)} at schema version ${expected.writtenBy.schemaVersion}`, () => {
      expect(expected.database.userVersion).toBe(expected.writtenBy.schemaVersion);
      expect(expected.writtenBy.schemaVersion).toBeLessThanOrEqual(fresh.version);
    });

    it("lists every session, head and history row, and hydrates every checkpoint to what the writing version read", async () => {
      await expectSessions(store, scratch, expected.sessions);
    });

    it("reads every raw blob, value and pin", async () => {
      await expectBlobs(store, expected);
    });

    it(expected.stores ? "session stores read their rows" : "session stores find their tables, new and empty", async () => {
      if (expected.stores) return expectStores(store, expected);
      expect(await new EventLog(store, "events/agent-7").head()).toBe(0);
      expect((await new UsageLedger(store).totals()).entries).toBe(0);
    });

    it("verify counts every row", async () => {
      const report = await store.verify();
      const { rows } = expected.database;
      expect(report.counts).toMatchObject({ blobs: rows.blobs, historyRows: rows.history, sessions: rows.sessions, pins: rows.pins });
    });

    check("verify", "verify finds nothing wrong", async () => {
      const report = await store.verify();
      expect(report.findings, summarize(report.findings)).toEqual([]);
      expect(report.ok).toBe(true);
    });

    check("gc-plan", "gc plans to delete exactly the blobs no root needs", async () => {
      const { gc } = expected.database;
      // Every fixture blob is older than the plan's start, so with no grace period reachability alone decides.
      const exact = await store.gc({ dryRun: true, grace: 0 });
      expect(exact.plan.historyRows).toBe(0);
      expect(
        { blobs: exact.plan.blobs, liveBlobs: exact.plan.liveBlobs },
        `plan: ${exact.plan.blobs} blobs to delete, ${exact.plan.liveBlobs} live`,
      ).toEqual({ blobs: gc.unreachableBlobs, liveBlobs: gc.reachableBlobs });
      // The default grace period (an hour) may keep more, never less.
      const byDefault = await store.gc({ dryRun: true });
      expect(byDefault.plan.blobs).toBeLessThanOrEqual(gc.unreachableBlobs);
      expect(byDefault.plan.liveBlobs).toBeGreaterThanOrEqual(gc.reachableBlobs);
    });

    check("real-gc", "a real gc (on another copy) deletes only what no root needs: every checkpoint, value, pin and row still reads", async () => {
      const gcStore = await openStore({ url: `file:${copy(`gc-${expected.fixture.file}`)}` });
      try {
        const run = await gcStore.gc({ grace: 0 });
        await expectSessions(gcStore, scratch, expected.sessions);
        await expectBlobs(gcStore, expected, { afterGc: true });
        await expectStores(gcStore, expected);
        expect((await gcStore.verify()).findings).toEqual([]);
        expect(run.result!.blobs).toBe(expected.database.gc.unreachableBlobs);
      } finally {
        await gcStore.close();
      }
    });

    it("takes new commits, forks and session-store writes", async () => {
      // What verify reports before the writes (a known defect's findings, or none): the writes add nothing to it.
      const findingsBefore = (await store.verify()).findings;
      // 1. A commit on an old session, reusing old slots by ref, with compare-and-swap.
      const alpha = store.session("agent-alpha");
      const head = expected.sessions.find((s) => s.id === "agent-alpha")!.head;
      const latest = (await alpha.latest())!;
      const execution = latest.snapshots.execution as { messages: unknown[] };
      const next = { ...execution, messages: [...execution.messages, { role: "user", content: `after migrating ${name}`, at: new Date(Date.UTC(2027, 0, 1)) }] };
      const { seq, ref } = await alpha.commit(
        { turn: latest.turn + 1, snapshots: { execution: next, tool: unchanged(latest.manifest.slots.tool!), plugin: unchanged(latest.manifest.slots.plugin!) } },
        { expectedHead: head, label: "after-migration", meta: { from: name } },
      );
      expect(seq).toBe(head + 1);
      const back = await alpha.at(seq);
      expect(back.ref).toBe(ref);
      expect(render(back.snapshots.execution)).toBe(render(next));
      expect(render(back.snapshots.tool)).toBe(render(latest.snapshots.tool));
      expect((await alpha.history({ limit: 1 }))[0]).toMatchObject({ seq, ref, label: "after-migration", meta: { from: name } });
      // 2. A new session, and a fork of an old one.
      const fresher = store.session("after-migration");
      await fresher.commit({ turn: 1, snapshots: { execution: { note: "new" } } }, { expectedHead: 0 });
      expect((await fresher.latest())?.snapshots).toEqual({ execution: { note: "new" } });
      const old = expected.sessions.find((s) => s.id === "agent-alpha")!.history[1]!;
      const fork = await alpha.fork("agent-alpha/after-migration", { at: old.seq });
      expect((await fork.latest())?.ref).toBe(old.ref);
      // 3. Session stores: rows continue where the old ones end (the tables are new on a store migrated from v1).
      const log = new EventLog(store, "events/agent-7");
      const logHead = expected.stores?.eventLogs.find((l) => l.session === "events/agent-7")?.head ?? 0;
      expect((await log.append({ type: "after-migration", data: { from: name }, time: Date.UTC(2027, 0, 1) })).seq).toBe(logHead + 1);
      expect((await log.read({ after: logHead })).events.map((e) => e.data)).toEqual([{ from: name }]);
      const ledger = new UsageLedger(store);
      const [entry] = await ledger.record("agent-alpha", { source: "agent", model: "model-z", inputTokens: 1, outputTokens: 2, time: Date.UTC(2027, 0, 1) });
      expect(entry!.id).toBeGreaterThan(expected.stores?.usage.entries.at(-1)?.id ?? 0);
      expect((await ledger.totals({ model: "model-z" })).totalTokens).toBe(3);
      const states = new KeyedState(store, { namespace: "responses" });
      await states.put("resp_001", { after: name }, { expectedVersion: await states.version("resp_001") });
      expect(await states.get("resp_001")).toEqual({ after: name });
      const history = new SnapshotHistory(store, "snapshots/agent-7");
      const saved = await history.save({ after: name });
      expect(saved.seq).toBe((expected.sessions.find((s) => s.id === "snapshots/agent-7")?.head ?? 0) + 1);
      expect(await history.load()).toEqual({ after: name });
      expect((await store.verify()).findings).toEqual(findingsBefore);
    });

    check("schema", "is migrated to the current schema version, with the current tables and indexes", async () => {
      await store.close();
      const path = join(dir, expected.fixture.file);
      expect(existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).byteLength : 0).toBe(0);
      const migrated = await schemaOf(path);
      expect(migrated.version).toBe(fresh.version);
      const key = (o: SchemaRow) => `${o.type} ${o.name}`;
      const missing = fresh.objects.filter((o) => !migrated.objects.some((m) => key(m) === key(o))).map(key);
      const extra = migrated.objects.filter((m) => !fresh.objects.some((o) => key(m) === key(o))).map(key);
      expect(migrated.objects, `missing: ${missing.join(", ") || "none"}; extra: ${extra.join(", ") || "none"}`).toEqual(fresh.objects);
    });

    it("leaves the committed fixture untouched", () => {
      expect(sha256Hex(readFileSync(committed))).toBe(expected.fixture.sha256);
      for (const suffix of ["-wal", "-shm", "-journal"]) expect(existsSync(committed + suffix), suffix).toBe(false);
    });
  });
}
