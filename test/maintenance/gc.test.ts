/**
 * gc(): retention, mark from the roots, sweep; the plan a dry run returns is the
 * plan a real run executes; nothing reachable or young is ever removed, also
 * when commits land between gc's transactions.
 */
import { afterAll, describe, expect, it } from "vitest";
import { unchanged, type Checkpoint, type Store } from "../../src/index.js";
import { randomPayload, textPayload } from "../support/random.js";
import { backendTitle, age, allRefs, dump, expectCode, query, reachableRefs, sql , maintenanceBackends, maintenanceBackendsWith } from "./support.js";

const HOUR = 60 * 60 * 1000;

/** Checkpoint `turn` of a session whose history grows and whose tool output is shared. */
function checkpoint(turn: number, seed: string, shared: string): Checkpoint {
  return {
    turn,
    snapshots: {
      tool: { output: shared },
      execution: { messages: Array.from({ length: turn }, (_, i) => textPayload(2500, `${seed}-${i}`)) },
      plugin: { own: textPayload(20_000, `${seed}-plugin-${turn}`) },
    },
  };
}

/** Every checkpoint of every session hydrates; returns how many. */
async function hydrateAll(store: Store): Promise<number> {
  let n = 0;
  for (const info of await store.sessions.list()) {
    const session = store.session(info.id);
    for (const entry of await session.history()) {
      await session.at(entry.seq);
      n++;
    }
  }
  return n;
}

for (const backend of maintenanceBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`gc on ${backendTitle(backend)}`, () => {
    const { open, cleanup } = backend;
    afterAll(cleanup);

    it("reclaims an abandoned session and keeps every blob a root reaches", async () => {
      const store = await open();
      const shared = textPayload(100_000, "shared tool output");
      const kept = store.session("kept");
      const gone = store.session("gone");
      const expected: unknown[] = [];
      for (let turn = 1; turn <= 4; turn++) {
        const cp = checkpoint(turn, "kept", shared);
        await kept.commit(cp);
        expected.push(cp.snapshots);
        await gone.commit(checkpoint(turn, "gone", shared));
      }
      const goneRefs = (await gone.history()).map((h) => h.ref);
      await gone.delete();
      const reachable = await reachableRefs(store);
      const before = await allRefs(store);
      expect(reachable.size).toBeLessThan(before.size);

      const report = await store.gc({ grace: 0 });
      expect(report.dryRun).toBe(false);
      const after = await allRefs(store);
      expect(after).toEqual(reachable);
      expect(report.result!.blobs).toBe(before.size - reachable.size);
      expect(report.plan.blobs).toBe(before.size - reachable.size);
      expect(report.result!.kept).toBe(0);
      expect(report.result!.storedBytes).toBeGreaterThan(0);
      expect(report.result!.storedBytes).toBeLessThan(report.result!.logicalBytes);
      expect(report.result!.logicalBytes).toBeGreaterThan(4 * 20_000);
      for (const ref of goneRefs) expect(after.has(ref)).toBe(false);
      for (let seq = 1; seq <= 4; seq++) expect((await kept.at(seq)).snapshots).toEqual(expected[seq - 1]);
      expect((await store.verify()).findings).toEqual([]);

      const again = await store.gc({ grace: 0 });
      expect(again.plan.blobs).toBe(0);
      expect(again.result!.blobs).toBe(0);
    });

    it("returns the plan in a dry run, deleting nothing, and executes that plan", async () => {
      const store = await open();
      const s = store.session("s");
      for (let turn = 1; turn <= 5; turn++) await s.commit(checkpoint(turn, "s", "x".repeat(30_000)));
      await store.session("t").commit(checkpoint(1, "t", "y".repeat(30_000)));
      await store.session("t").delete();
      const before = await dump(store);
      const dry = await store.gc({ dryRun: true, grace: 0, keepLast: 2 });
      expect(dry.dryRun).toBe(true);
      expect(dry.result).toBeUndefined();
      expect(dry.plan.historyRows).toBe(3);
      expect(dry.plan.sessions).toBe(1);
      expect(dry.plan.blobs).toBeGreaterThan(0);
      expect(await dump(store)).toBe(before);

      const real = await store.gc({ grace: 0, keepLast: 2 });
      const { startedAt: _a, cutoff: _b, ...planned } = real.plan;
      const { startedAt: _c, cutoff: _d, ...dryPlanned } = dry.plan;
      expect(planned).toEqual(dryPlanned);
      expect(real.result).toMatchObject({ historyRowsDropped: 3, blobs: dry.plan.blobs, storedBytes: dry.plan.storedBytes, logicalBytes: dry.plan.logicalBytes, kept: 0 });
      expect(Object.values(dry.plan.byKind).reduce((n, k) => n + k.blobs, 0)).toBe(dry.plan.blobs);
    });

    it("keeps the last N checkpoints per session with keepLast, never the head", async () => {
      const store = await open();
      const s = store.session("s");
      const one = store.session("one");
      const states: Checkpoint[] = [];
      for (let turn = 1; turn <= 5; turn++) {
        states.push(checkpoint(turn, "s", "z".repeat(20_000)));
        await s.commit(states.at(-1)!);
      }
      await one.commit(checkpoint(1, "one", "w"));
      const firstRef = (await s.history()).at(-1)!.ref;
      const report = await store.gc({ grace: 0, keepLast: 2 });
      expect(report.result!.historyRowsDropped).toBe(3);
      expect((await s.history()).map((h) => h.seq)).toEqual([5, 4]);
      expect(await s.head()).toBe(5);
      expect((await one.history()).map((h) => h.seq)).toEqual([1]);
      await expectCode(s.at(1), "NOT_FOUND");
      expect((await s.at(4)).snapshots).toEqual(states[3]!.snapshots);
      expect((await s.at(5)).snapshots).toEqual(states[4]!.snapshots);
      expect(await store.blobs.has(firstRef)).toBe(false);
      expect(await allRefs(store)).toEqual(await reachableRefs(store));
      // keepLast 1 keeps only the head; the next commit continues the sequence.
      await store.gc({ grace: 0, keepLast: 1 });
      expect((await s.history()).map((h) => h.seq)).toEqual([5]);
      expect((await s.commit(checkpoint(6, "s", "z".repeat(20_000)))).seq).toBe(6);
      expect((await store.verify()).ok).toBe(true);
    });

    it("drops history rows older than a date with olderThan, never the head, and combines with keepLast as union of keeps", async () => {
      const store = await open();
      const s = store.session("s");
      for (let turn = 1; turn <= 6; turn++) await s.commit(checkpoint(turn, "s", "q".repeat(10_000)));
      const now = Date.now();
      // Rows 1-4 are a day old, rows 5-6 are new.
      await sql(store, "UPDATE history SET created_at = created_at - ? WHERE session = 's' AND seq <= 4", [24 * HOUR]);
      // keepLast 3 keeps 4, 5, 6; olderThan keeps 5, 6: union keeps 4, 5, 6.
      const both = await store.gc({ grace: 0, keepLast: 3, olderThan: new Date(now - HOUR) });
      expect(both.result!.historyRowsDropped).toBe(3);
      expect((await s.history()).map((h) => h.seq)).toEqual([6, 5, 4]);
      // olderThan alone: 4 is old and goes.
      await store.gc({ grace: 0, olderThan: now - HOUR });
      expect((await s.history()).map((h) => h.seq)).toEqual([6, 5]);
      // A date in the future drops everything but the head.
      await store.gc({ grace: 0, olderThan: new Date(Date.now() + HOUR) });
      expect((await s.history()).map((h) => h.seq)).toEqual([6]);
      expect((await s.latest())!.turn).toBe(6);
      expect(await allRefs(store)).toEqual(await reachableRefs(store));
    });

    it("treats blobs younger than the grace period, and all they reach, as roots", async () => {
      const store = await open();
      const old = await store.blobs.put(randomPayload(40_000), { kind: "raw" });
      const cp = await store.checkpoints.put(checkpoint(1, "unrooted", "old tool output ".repeat(2000)));
      // Everything is an hour and a half old, but the unrooted checkpoint's manifest is new.
      await age(store, 90 * 60 * 1000);
      await age(store, -90 * 60 * 1000, "ref = unhex(?)", [cp.ref]);
      const young = await store.blobs.put(randomPayload(40_000), { kind: "raw" });

      const nothing = await store.gc(); // default grace: one hour
      expect(nothing.plan.grace).toBe(HOUR);
      expect(await store.blobs.has(old)).toBe(false);
      expect(await store.blobs.has(young)).toBe(true);
      // The young manifest keeps its old slot values (and their chunks).
      expect((await store.checkpoints.get(cp.ref)).snapshots).toEqual(checkpoint(1, "unrooted", "old tool output ".repeat(2000)).snapshots);
      expect(nothing.result!.blobs).toBeGreaterThan(1);

      const all = await store.gc({ grace: 0 });
      expect(all.result!.blobs).toBeGreaterThan(0);
      expect(await allRefs(store)).toEqual(new Set());
    });

    it("keeps what a pin reaches until it is unpinned", async () => {
      const store = await open();
      const s = store.session("s");
      const cp = checkpoint(2, "pinned", "p".repeat(50_000));
      const { ref } = await s.commit(cp);
      await store.pin("release-1", ref);
      await s.delete();
      await store.gc({ grace: 0 });
      expect((await store.checkpoints.get(ref)).snapshots).toEqual(cp.snapshots);
      await store.unpin("release-1");
      await store.gc({ grace: 0 });
      expect((await allRefs(store)).size).toBe(0);
    });

    it("never leaves a commit that lands between its transactions referring to a missing blob", async () => {
      const store = await open();
      const shared = textPayload(60_000, "shared");
      const state = checkpoint(3, "victim", shared);
      const victim = store.session("victim");
      const first = await victim.commit(checkpoint(1, "victim", shared));
      await victim.commit(checkpoint(2, "victim", shared));
      await victim.commit(state);
      const slots = (await store.checkpoints.manifest(first.ref)).slots;
      await victim.delete();
      // Between every delete transaction (one blob each, top-down), a writer commits
      // the deleted session's last state again, or reuses its slot values by ref.
      let n = 0;
      let calls = 0;
      const outcomes: string[] = [];
      const report = await store.gc({
        grace: 0,
        batchSize: 1,
        onProgress: async () => {
          // Let two delete transactions run between writers, so writers meet half-deleted state.
          if (++calls % 3 !== 0) return;
          const session = store.session(`writer-${n++}`);
          if (n % 2 === 1) {
            await session.commit(state);
            outcomes.push("commit");
          } else {
            try {
              await session.commit({ turn: 9, snapshots: { tool: unchanged(slots.tool!), execution: unchanged(slots.execution!) } });
              outcomes.push("unchanged");
            } catch (error) {
              // A slot value already deleted is NOT_FOUND (nothing written), never a dangling commit.
              expect((error as { code?: string }).code).toBe("NOT_FOUND");
              outcomes.push("not-found");
            }
          }
        },
      });
      expect(outcomes.length).toBeGreaterThan(5);
      expect(report.result!.kept).toBeGreaterThan(0);
      expect(await hydrateAll(store)).toBe(outcomes.filter((o) => o !== "not-found").length);
      for (const info of await store.sessions.list()) {
        const latest = await store.session(info.id).latest();
        if (latest!.turn === 3) expect(latest!.snapshots).toEqual(state.snapshots);
      }
      const check = await store.verify();
      expect(check.findings).toEqual([]);
      // What the interleaved writers made unreachable goes in a later gc; the rest stays.
      await store.gc({ grace: 0 });
      expect(await allRefs(store)).toEqual(await reachableRefs(store));
    });

    it("refuses bad options with INVALID_ARGUMENT, writing nothing", async () => {
      const store = await open();
      await store.session("s").commit(checkpoint(1, "s", "a"));
      await store.session("s").delete();
      const before = await dump(store);
      for (const options of [
        { keepLast: 0 },
        { keepLast: 1.5 },
        { grace: -1 },
        { grace: "1h" },
        { olderThan: "yesterday" },
        { olderThan: new Date(NaN) },
        { batchSize: 0 },
        { dryRun: "yes" },
        { onProgress: 1 },
        { keep: 3 },
      ]) {
        await expectCode(store.gc({ ...(options as object), grace: (options as { grace?: unknown }).grace ?? 0 } as never), "INVALID_ARGUMENT");
      }
      await expectCode(store.gc(5 as never), "INVALID_ARGUMENT");
      expect(await dump(store)).toBe(before);
    });
  });
}

// Needs a second client on the same database: every backend that can reopen one.
for (const backend of maintenanceBackendsWith("reopen")) {
  describe.skipIf(backend.unavailable !== undefined)(`gc beside a writer in another connection on ${backendTitle(backend)}`, () => {
    afterAll(backend.cleanup);

    it("lets a second store on the same database commit between gc's transactions without losing a blob", async () => {
      const collector = await backend.open();
      const writer = await backend.reopen!(undefined, collector);
      const shared = textPayload(60_000, "two-stores");
      const state = checkpoint(4, "two", shared);
      const s = writer.session("s");
      await s.commit(state);
      await s.delete();
      // The writer's cache of stored refs is now stale for everything gc removes.
      let n = 0;
      await collector.gc({
        grace: 0,
        batchSize: 2,
        onProgress: async () => {
          await writer.session(`w${n++}`).commit(state);
        },
      });
      expect(n).toBeGreaterThan(2);
      for (let i = 0; i < n; i++) expect((await writer.session(`w${i}`).latest())!.snapshots).toEqual(state.snapshots);
      expect((await collector.verify()).findings).toEqual([]);
      const rows = await query(collector, "SELECT count(*) FROM history");
      expect(Number(rows.rows[0]![0])).toBe(n);
    });
  });
}
