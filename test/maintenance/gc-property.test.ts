/**
 * Property: after any sequence of commits, forks, deletes, pins, unrooted puts
 * and intermediate gcs, gc({ grace: 0 }) keeps exactly the blobs the roots reach:
 * every remaining checkpoint of every session hydrates to what was committed,
 * every pin reads, verify finds nothing, and nothing unreachable is left.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, unchanged, type Checkpoint, type Store } from "../../src/index.js";
import { allRefs, backendTitle, maintenanceBackends, reachableRefs, TINY } from "./support.js";

/** Distinct states sharing parts: a growing message list, a shared tool output, small values. */
function state(i: number): Checkpoint {
  const messages = Array.from({ length: (i % 5) + 1 }, (_, k) => `message ${k}: ${"lorem ipsum ".repeat(6 + k)}`);
  return {
    turn: i,
    snapshots: {
      execution: { messages },
      tool: { output: i % 2 === 0 ? "shared tool output ".repeat(20) : `tool output ${i} `.repeat(20) },
      ...(i % 3 === 0 ? { plugin: { bytes: new Uint8Array(300).fill(i) } } : {}),
    },
  };
}

type Op =
  | { op: "commit"; session: number; state: number }
  | { op: "reuse"; session: number; from: number }
  | { op: "fork"; from: number; to: number }
  | { op: "delete"; session: number }
  | { op: "pin"; name: number; target: number }
  | { op: "unpin"; name: number }
  | { op: "put"; size: number }
  | { op: "gc"; keepLast: number | undefined };

const ops = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("commit" as const), session: fc.nat(3), state: fc.nat(9) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("reuse" as const), session: fc.nat(3), from: fc.nat(20) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("fork" as const), from: fc.nat(3), to: fc.nat(5) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), session: fc.nat(5) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("pin" as const), name: fc.nat(2), target: fc.nat(20) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("unpin" as const), name: fc.nat(2) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("put" as const), size: fc.integer({ min: 1, max: 2000 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("gc" as const), keepLast: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }) },
  ),
  { minLength: 5, maxLength: 30 },
);

/** The model: what each session's history holds, and what each pin names. */
interface Model {
  sessions: Map<string, Array<{ seq: number; snapshots: unknown }>>;
  pins: Map<string, string>;
  /** Checkpoint refs and their snapshots, as committed (some may since be collected). */
  committed: Array<{ ref: string; snapshots: unknown; slots: Record<string, string> }>;
  /** Live forks: the session each was forked from, at which seq (retention keeps that row). */
  forks: Map<string, { from: string; at: number }>;
}

async function run(store: Store, sequence: Op[]): Promise<Model> {
  const model: Model = { sessions: new Map(), pins: new Map(), committed: [], forks: new Map() };
  const sid = (n: number) => `s${n}`;
  for (const step of sequence) {
    switch (step.op) {
      case "commit": {
        const cp = state(step.state);
        const result = await store.session(sid(step.session)).commit(cp);
        const rows = model.sessions.get(sid(step.session)) ?? [];
        rows.push({ seq: result.seq, snapshots: cp.snapshots });
        model.sessions.set(sid(step.session), rows);
        model.committed.push({ ref: result.ref, snapshots: cp.snapshots, slots: { ...(await store.checkpoints.manifest(result.ref)).slots } });
        break;
      }
      case "reuse": {
        // A commit whose slots are unchanged(ref) of an earlier checkpoint: NOT_FOUND if gc took them.
        const earlier = model.committed[step.from % Math.max(1, model.committed.length)];
        if (!earlier) break;
        const snapshots = Object.fromEntries(Object.entries(earlier.slots).map(([slot, ref]) => [slot, unchanged(ref)]));
        try {
          const result = await store.session(sid(step.session)).commit({ turn: 99, snapshots });
          const rows = model.sessions.get(sid(step.session)) ?? [];
          rows.push({ seq: result.seq, snapshots: earlier.snapshots });
          model.sessions.set(sid(step.session), rows);
        } catch (error) {
          if (!(error instanceof CairnError && error.code === "NOT_FOUND")) throw error;
        }
        break;
      }
      case "fork": {
        const from = model.sessions.get(sid(step.from));
        const to = `f${step.to}`;
        if (!from || from.length === 0 || model.sessions.has(to)) break;
        await store.session(sid(step.from)).fork(to);
        model.sessions.set(to, from.map((row) => ({ ...row })));
        model.forks.set(to, { from: sid(step.from), at: from[from.length - 1]!.seq });
        break;
      }
      case "delete": {
        const id = step.session < 4 ? sid(step.session) : `f${step.session}`;
        await store.session(id).delete();
        model.sessions.delete(id);
        model.forks.delete(id);
        break;
      }
      case "pin": {
        const target = model.committed[step.target % Math.max(1, model.committed.length)];
        if (!target) break;
        try {
          await store.pin(`p${step.name}`, target.ref);
          model.pins.set(`p${step.name}`, target.ref);
        } catch (error) {
          // The checkpoint was unrooted and collected: nothing pinned.
          if (!(error instanceof CairnError && error.code === "NOT_FOUND")) throw error;
        }
        break;
      }
      case "unpin":
        await store.unpin(`p${step.name}`);
        model.pins.delete(`p${step.name}`);
        break;
      case "put":
        await store.blobs.put(new Uint8Array(step.size).fill(step.size % 251), { kind: "raw" });
        break;
      case "gc": {
        await store.gc({ grace: 0, keepLast: step.keepLast });
        if (step.keepLast !== undefined) {
          // Retention keeps the newest N rows, and every row a live session was forked from.
          for (const [id, rows] of model.sessions) {
            const forkPoints = new Set([...model.forks.values()].filter((f) => f.from === id).map((f) => f.at));
            model.sessions.set(id, rows.filter((row, i) => i >= rows.length - step.keepLast! || forkPoints.has(row.seq)));
          }
        }
        break;
      }
    }
  }
  return model;
}

for (const backend of maintenanceBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`gc property on ${backendTitle(backend)}`, () => {
    const { open, cleanup } = backend;
    afterAll(cleanup);

    it("keeps exactly what the roots reach, and everything kept still reads", async () => {
      const seed = Number(process.env.CAIRN_SEED ?? Date.now() % 2 ** 31);
      console.log(`gc property seed: ${seed} (rerun with CAIRN_SEED=${seed})`);
      await fc.assert(
        fc.asyncProperty(ops, async (sequence) => {
          const store = await open(TINY);
          try {
            const model = await run(store, sequence);
            const reachable = await reachableRefs(store);
            const report = await store.gc({ grace: 0 });
            const remaining = await allRefs(store);
            // Never removes a reachable blob; removes everything unreachable (grace 0).
            for (const ref of reachable) expect(remaining.has(ref)).toBe(true);
            expect(remaining).toEqual(reachable);
            expect(report.result!.kept).toBe(0);
            // Every remaining session's every checkpoint still hydrates to what was committed.
            const listed = (await store.sessions.list()).map((s) => s.id).sort();
            expect(listed).toEqual([...model.sessions.keys()].filter((id) => model.sessions.get(id)!.length > 0).sort());
            for (const [id, rows] of model.sessions) {
              const session = store.session(id);
              expect((await session.history()).map((h) => h.seq).reverse()).toEqual(rows.map((r) => r.seq));
              for (const row of rows) expect((await session.at(row.seq)).snapshots).toEqual(row.snapshots);
            }
            // Every pin still reads.
            const pins = await store.listPins();
            expect(new Map(pins.map((p) => [p.name, p.ref]))).toEqual(model.pins);
            for (const p of pins) await store.checkpoints.get(p.ref);
            expect((await store.verify()).findings).toEqual([]);
          } finally {
            await cleanup(); // closes the store (and stops its private server on the server backends)
          }
        }),
        { seed, numRuns: 40 },
      );
    });
  });
}
