/**
 * du(): per-session exclusive and shared bytes, store totals and the largest
 * blobs, on every backend. Figures are checked against hand-derived closures of
 * known refs, against an oracle that walks the tables in JavaScript (independent
 * of du's SQL), and by the property that defines exclusive bytes: deleting a
 * session and running gc({ grace: 0 }) frees exactly its exclusive bytes (plus
 * the garbage that was already there).
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { hashBytes, type Checkpoint, type DuOptions, type DuReport, type Ref, type Store } from "../../src/index.js";
import { randomPayload, textPayload } from "../support/random.js";
import { runSeed } from "../support/seeded.js";
import { backendTitle, expectCode, maintenanceBackends, query, TINY } from "./support.js";

const PIECES = new Set(["chunk", "chunk-list"]);
const CHUNKED = 2;

/** The tables, read behind the store's back. */
async function tables(store: Store) {
  const blobs = new Map<number, { ref: string; kind: string; encoding: number; size: number; stored: number }>();
  for (const r of (await query(store, "SELECT id, lower(hex(ref)), kind, encoding, size, stored_size FROM blobs")).rows) {
    blobs.set(Number(r[0]), { ref: String(r[1]), kind: String(r[2]), encoding: Number(r[3]), size: Number(r[4]), stored: Number(r[5]) });
  }
  const children = new Map<number, number[]>();
  for (const r of (await query(store, "SELECT src, dst FROM edges")).rows) {
    const src = Number(r[0]);
    children.set(src, [...(children.get(src) ?? []), Number(r[1])]);
  }
  const history = (await query(store, "SELECT session, manifest, created_at FROM history")).rows.map((r) => ({ session: String(r[0]), manifest: Number(r[1]), createdAt: Number(r[2]) }));
  const sessions = (await query(store, "SELECT id FROM sessions ORDER BY id")).rows.map((r) => String(r[0]));
  const pins = (await query(store, "SELECT name, blob FROM pins ORDER BY name")).rows.map((r) => ({ name: String(r[0]), blob: Number(r[1]) }));
  const idOf = new Map([...blobs].map(([id, b]) => [b.ref, id]));
  /** Every stored row reachable from `roots` along edges (optionally only into rows that pass `enter`). */
  const reach = (roots: Iterable<number>, enter: (id: number) => boolean = () => true): Set<number> => {
    const seen = new Set<number>();
    const stack = [...roots];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const child of children.get(id) ?? []) if (enter(child)) stack.push(child);
    }
    return new Set([...seen].filter((id) => blobs.has(id)));
  };
  const stored = (ids: Iterable<number>) => [...ids].reduce((sum, id) => sum + blobs.get(id)!.stored, 0);
  const logical = (ids: Iterable<number>) => [...ids].reduce((sum, id) => sum + (PIECES.has(blobs.get(id)!.kind) ? 0 : blobs.get(id)!.size), 0);
  return { blobs, history, sessions, pins, idOf, reach, stored, logical };
}

/** Stored bytes of every row reachable from the blobs `refs` (themselves included). */
async function closureBytes(store: Store, refs: readonly string[]): Promise<number> {
  const t = await tables(store);
  return t.stored(t.reach(refs.map((ref) => t.idOf.get(ref)!)));
}

/** du's report as an oracle computes it from the tables in JavaScript (timings and `next` aside). */
async function oracle(store: Store, options: { session?: string; prefix?: string; top?: number } = {}): Promise<Omit<DuReport, "timings" | "next">> {
  const t = await tables(store);
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const historySessions = [...new Set(t.history.map((h) => h.session))].sort(byId);
  const reachOf = new Map(historySessions.map((s) => [s, t.reach(t.history.filter((h) => h.session === s).map((h) => h.manifest))]));
  const pinReach = new Map(t.pins.map((p) => [p.name, t.reach([p.blob])]));
  const matches = (id: string) => (options.session === undefined || id === options.session) && (options.prefix === undefined || id.startsWith(options.prefix));
  const chosen = t.sessions.filter(matches);
  const sessions = chosen.map((id) => {
    const mine = reachOf.get(id) ?? new Set<number>();
    const others = new Set<number>();
    for (const [s, ids] of reachOf) if (s !== id) for (const x of ids) others.add(x);
    for (const ids of pinReach.values()) for (const x of ids) others.add(x);
    const exclusive = [...mine].filter((x) => !others.has(x));
    const shared = [...mine].filter((x) => others.has(x));
    const times = t.history.filter((h) => h.session === id).map((h) => h.createdAt);
    return {
      id,
      checkpoints: times.length,
      lastCommitAt: times.length === 0 ? undefined : new Date(Math.max(...times)),
      exclusiveBytes: t.stored(exclusive),
      sharedBytes: t.stored(shared),
      reachableBytes: t.stored(mine),
      exclusiveLogicalBytes: t.logical(exclusive),
      sharedLogicalBytes: t.logical(shared),
      reachableLogicalBytes: t.logical(mine),
      exclusiveBlobs: exclusive.length,
      sharedBlobs: shared.length,
    };
  });
  const fromHistory = t.reach(t.history.map((h) => h.manifest));
  const fromPins = t.reach(t.pins.map((p) => p.blob));
  const all = [...t.blobs.keys()];
  const pinnedOnly = all.filter((id) => !fromHistory.has(id) && fromPins.has(id));
  const garbage = all.filter((id) => !fromHistory.has(id) && !fromPins.has(id));
  const scoped = options.session !== undefined || options.prefix !== undefined;
  const scope = scoped ? new Set(chosen.flatMap((id) => [...(reachOf.get(id) ?? [])])) : new Set(all);
  const largest = [...scope]
    .filter((id) => !PIECES.has(t.blobs.get(id)!.kind))
    .map((id) => {
      const b = t.blobs.get(id)!;
      const tree = b.encoding === CHUNKED ? t.reach([id], (child) => t.blobs.has(child) && PIECES.has(t.blobs.get(child)!.kind)) : new Set([id]);
      const sessions = historySessions.filter((s) => reachOf.get(s)!.has(id));
      const pins = t.pins.filter((p) => pinReach.get(p.name)!.has(id)).map((p) => p.name);
      return {
        ref: b.ref as Ref,
        kind: b.kind,
        encoding: (["raw", "deflate", "chunked"] as const)[b.encoding]!,
        logicalBytes: b.size,
        storedBytes: t.stored(tree),
        sessions: sessions.slice(0, 10),
        sessionCount: sessions.length,
        pins: pins.slice(0, 10),
        pinCount: pins.length,
      };
    })
    .sort((a, b) => b.storedBytes - a.storedBytes || byId(a.ref, b.ref))
    .slice(0, options.top ?? 10);
  return {
    sessions,
    totals: {
      sessions: t.sessions.length,
      matchedSessions: chosen.length,
      checkpoints: t.history.length,
      pins: t.pins.length,
      blobs: t.blobs.size,
      storedBytes: t.stored(all),
      logicalBytes: t.logical(all),
      historyBytes: t.stored(fromHistory),
      pinnedOnlyBytes: t.stored(pinnedOnly),
      garbageBytes: t.stored(garbage),
      garbageBlobs: garbage.length,
    },
    largest,
  };
}

/** du's report without its timings and paging cursor, to compare with the oracle. */
async function du(store: Store, options?: DuOptions) {
  const { timings, next, ...rest } = await store.du(options);
  expect(timings.total).toBeGreaterThanOrEqual(0);
  return { ...rest, next };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
/** Text that neither compresses much nor repeats chunks: its stored size follows its length. */
const noise = (bytes: number) => Buffer.from(randomPayload(bytes)).toString("base64");

// ---------------------------------------------------------------------------
// The random store of the property test.

/** States that share parts: a growing message list, tool outputs some sessions share, a large one now and then. */
function state(i: number): Checkpoint {
  const messages = Array.from({ length: (i % 5) + 1 }, (_, k) => `message ${k}: ${"lorem ipsum ".repeat(6 + k)}`);
  return {
    turn: i,
    snapshots: {
      execution: { messages },
      tool: { output: i % 2 === 0 ? "shared tool output ".repeat(20) : `tool output ${i} `.repeat(20) },
      ...(i % 3 === 0 ? { plugin: { bytes: new Uint8Array(300 + i).fill(i) } } : {}),
    },
  };
}

type Op =
  | { op: "commit"; session: number; state: number }
  | { op: "fork"; from: number; to: number }
  | { op: "delete"; session: number }
  | { op: "pin"; name: number; target: number; slot: boolean }
  | { op: "unpin"; name: number }
  | { op: "put"; size: number };

const ops = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant("commit" as const), session: fc.nat(4), state: fc.nat(11) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("fork" as const), from: fc.nat(4), to: fc.nat(3) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), session: fc.nat(4) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("pin" as const), name: fc.nat(2), target: fc.nat(30), slot: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("unpin" as const), name: fc.nat(2) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("put" as const), size: fc.integer({ min: 1, max: 3000 }) }) },
  ),
  { minLength: 3, maxLength: 25 },
);

async function build(store: Store, sequence: readonly Op[]): Promise<void> {
  const committed: string[] = [];
  for (const step of sequence) {
    switch (step.op) {
      case "commit":
        committed.push((await store.session(`s${step.session}`).commit(state(step.state))).ref);
        break;
      case "fork":
        if ((await store.session(`s${step.from}`).head()) > 0 && (await store.session(`f${step.to}`).head()) === 0) await store.session(`s${step.from}`).fork(`f${step.to}`);
        break;
      case "delete":
        await store.session(`s${step.session}`).delete();
        break;
      case "pin": {
        const ref = committed[step.target % Math.max(1, committed.length)];
        if (ref === undefined) break;
        const slots = Object.values((await store.checkpoints.manifest(ref)).slots);
        await store.pin(`p${step.name}`, step.slot ? slots[step.target % slots.length]! : ref);
        break;
      }
      case "unpin":
        await store.unpin(`p${step.name}`);
        break;
      case "put":
        await store.blobs.put(new Uint8Array(step.size).fill(step.size % 251), { kind: "raw" });
        break;
    }
  }
}

for (const backend of maintenanceBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`du on ${backendTitle(backend)}`, () => {
    const { open, cleanup } = backend;
    afterAll(cleanup);
    const server = backend.capabilities.has("server");

    it("counts a tool output two sessions hold as shared, and one a session holds alone as exclusive", async () => {
      const store = await open();
      const T = noise(30_000);
      const U = noise(60_000);
      const a = await store.session("a").commit({ turn: 1, snapshots: { tool: { output: T }, execution: { who: "a" } } });
      const b = await store.session("b").commit({ turn: 1, snapshots: { tool: { output: T }, execution: { who: "b" } } });
      const c = await store.session("c").commit({ turn: 1, snapshots: { tool: { output: U }, execution: { who: "c" } } });
      const tool = (await store.checkpoints.manifest(a.ref)).slots.tool!;
      expect((await store.checkpoints.manifest(b.ref)).slots.tool).toBe(tool);

      const report = await du(store);
      const toolBytes = await closureBytes(store, [tool]);
      const [ra, rb, rc] = report.sessions;
      expect(report.sessions.map((s) => s.id)).toEqual(["a", "b", "c"]);
      // a and b: their manifest and execution value are theirs; the tool value and T's whole tree are shared.
      for (const [row, result] of [
        [ra!, a],
        [rb!, b],
      ] as const) {
        expect(row.sharedBytes).toBe(toolBytes);
        expect(row.exclusiveBytes).toBe((await closureBytes(store, [result.ref])) - toolBytes);
        expect(row.reachableBytes).toBe(row.exclusiveBytes + row.sharedBytes);
        expect(row.sharedLogicalBytes).toBe(utf8(T).byteLength + (await store.blobs.info(tool))!.size);
        expect(row.checkpoints).toBe(1);
      }
      expect(ra!.sharedBytes).toBeGreaterThan(ra!.exclusiveBytes);
      // c holds U alone: all of it is exclusive.
      expect(rc!.exclusiveBytes).toBe(await closureBytes(store, [c.ref]));
      expect(rc!.sharedBytes).toBe(0);
      expect(rc!.exclusiveBytes).toBeGreaterThan(toolBytes);
      // The largest blobs: U (reached by c), then T (by a and b), each with its whole chunk tree.
      const [first, second] = report.largest;
      expect(first).toMatchObject({ ref: hashBytes(utf8(U)), kind: "large-value", encoding: "chunked", logicalBytes: utf8(U).byteLength, sessions: ["c"], sessionCount: 1, pins: [], pinCount: 0 });
      expect(first!.storedBytes).toBe(await closureBytes(store, [hashBytes(utf8(U))]));
      expect(second).toMatchObject({ ref: hashBytes(utf8(T)), sessions: ["a", "b"], sessionCount: 2, pinCount: 0 });
      expect(report.totals).toMatchObject({ sessions: 3, checkpoints: 3, pins: 0, garbageBytes: 0, garbageBlobs: 0, pinnedOnlyBytes: 0 });
      expect(report.totals.historyBytes).toBe(report.totals.storedBytes);
      expect(await du(store)).toEqual({ ...(await oracle(store)), next: undefined });
    });

    it("counts nothing of a fork or its source as exclusive until one of them commits on its own", async () => {
      const store = await open(TINY);
      const a = store.session("a");
      const one = await a.commit(state(1));
      const two = await a.commit(state(2));
      await a.fork("d");
      const before = await du(store);
      const both = await closureBytes(store, [one.ref, two.ref]);
      for (const row of before.sessions) expect(row).toMatchObject({ exclusiveBytes: 0, exclusiveBlobs: 0, sharedBytes: both, checkpoints: 2 });
      expect(before.sessions[1]!.lastCommitAt).toEqual(before.sessions[0]!.lastCommitAt);

      const three = await a.commit(state(7));
      const after = await du(store);
      const [ra, rd] = after.sessions;
      expect(rd).toMatchObject({ id: "d", exclusiveBytes: 0, sharedBytes: both });
      const t = await tables(store);
      const newRows = [...t.reach([t.idOf.get(three.ref)!])].filter((id) => !t.reach([t.idOf.get(one.ref)!, t.idOf.get(two.ref)!]).has(id));
      expect(ra!.exclusiveBytes).toBe(t.stored(newRows));
      expect(ra!.exclusiveBytes).toBeGreaterThan(0);
      expect(ra!.checkpoints).toBe(3);
      expect(after).toEqual({ ...(await oracle(store)), next: undefined });
    });

    it("counts what a pin reaches as shared, and what only pins reach as pinned-only", async () => {
      const store = await open();
      const T = textPayload(30_000, "pinned tool output");
      const a = await store.session("a").commit({ turn: 1, snapshots: { tool: { output: T }, execution: { who: "a" } } });
      const tool = (await store.checkpoints.manifest(a.ref)).slots.tool!;
      const all = await closureBytes(store, [a.ref]);
      expect((await du(store)).sessions[0]).toMatchObject({ exclusiveBytes: all, sharedBytes: 0 });

      await store.pin("keep", tool);
      const loose = await store.blobs.put(utf8(textPayload(20_000, "pinned only")), { kind: "raw" });
      await store.pin("only", loose);
      const pinned = await du(store);
      const toolBytes = await closureBytes(store, [tool]);
      const looseBytes = await closureBytes(store, [loose]);
      expect(pinned.sessions[0]).toMatchObject({ exclusiveBytes: all - toolBytes, sharedBytes: toolBytes });
      expect(pinned.totals).toMatchObject({ pins: 2, pinnedOnlyBytes: looseBytes, garbageBytes: 0, historyBytes: all });
      expect(pinned.largest.find((b) => b.ref === hashBytes(utf8(T)))).toMatchObject({ sessions: ["a"], pins: ["keep"], pinCount: 1 });
      expect(pinned.largest.find((b) => b.ref === loose)).toMatchObject({ sessions: [], sessionCount: 0, pins: ["only"], pinCount: 1, kind: "raw" });
      expect(pinned).toEqual({ ...(await oracle(store)), next: undefined });

      // Unpinned, the tool output is a's alone again and the loose blob is garbage.
      await store.unpin("keep");
      await store.unpin("only");
      const unpinned = await du(store);
      expect(unpinned.sessions[0]).toMatchObject({ exclusiveBytes: all, sharedBytes: 0 });
      expect(unpinned.totals).toMatchObject({ pinnedOnlyBytes: 0, garbageBytes: looseBytes });
    });

    it("counts garbage (a deleted session's blobs, an unrooted put), which gc({ grace: 0 }) then frees exactly", async () => {
      const store = await open();
      await store.session("a").commit({ turn: 1, snapshots: { execution: { who: "a" } } });
      const b = await store.session("b").commit({ turn: 1, snapshots: { tool: { output: textPayload(50_000, "b alone") } } });
      const bBytes = await closureBytes(store, [b.ref]);
      expect((await du(store, { session: "b" })).sessions[0]!.exclusiveBytes).toBe(bBytes);
      await store.session("b").delete();
      const loose = await store.blobs.put(utf8("an unrooted put of a few bytes"), { kind: "raw" });
      const looseBytes = await closureBytes(store, [loose]);

      const report = await du(store);
      expect(report.sessions.map((s) => s.id)).toEqual(["a"]);
      expect(report.totals.garbageBytes).toBe(bBytes + looseBytes);
      expect(report.totals.storedBytes).toBe(report.totals.historyBytes + report.totals.pinnedOnlyBytes + report.totals.garbageBytes);
      // Garbage is in the largest list, reached by nothing.
      expect(report.largest[0]).toMatchObject({ kind: "large-value", sessions: [], pins: [], sessionCount: 0, pinCount: 0 });
      expect(report).toEqual({ ...(await oracle(store)), next: undefined });

      const gc = await store.gc({ grace: 0 });
      expect(gc.result!.storedBytes).toBe(report.totals.garbageBytes);
      expect(gc.result!.blobs).toBe(report.totals.garbageBlobs);
      expect((await du(store)).totals).toMatchObject({ garbageBytes: 0, garbageBlobs: 0 });
    });

    it("narrows to a session or a prefix, exact against the rest of the store, and pages by id", async () => {
      const store = await open(TINY);
      const ids = ["team-a/1", "team-a/2", "team-a/3", "team-b/1", "team-b/2", "x"];
      for (const [i, id] of ids.entries()) {
        await store.session(id).commit(state(i));
        await store.session(id).commit(state(i + 3));
      }
      await store.session("team-a/1").fork("team-c/fork");
      const full = await du(store);
      expect(full.sessions.map((s) => s.id)).toEqual([...ids.slice(0, 5), "team-c/fork", "x"]);
      expect(full).toEqual({ ...(await oracle(store)), next: undefined });

      const one = await du(store, { session: "team-a/2" });
      expect(one.sessions).toEqual([full.sessions[1]]);
      expect(one.totals).toEqual({ ...full.totals, matchedSessions: 1 });
      expect(one).toEqual({ ...(await oracle(store, { session: "team-a/2" })), next: undefined });
      expect(one.largest.every((b) => b.sessions.includes("team-a/2"))).toBe(true);

      const prefixed = await du(store, { prefix: "team-a/", top: 3 });
      expect(prefixed.sessions).toEqual(full.sessions.slice(0, 3));
      expect(prefixed.totals.matchedSessions).toBe(3);
      expect(prefixed).toEqual({ ...(await oracle(store, { prefix: "team-a/", top: 3 })), next: undefined });

      // Pages of 3 by id: the same figures as the whole, and a cursor until the last page.
      const pages: DuReport["sessions"][number][] = [];
      let after: string | undefined;
      const cursors: Array<string | undefined> = [];
      do {
        const page = await du(store, { limit: 3, top: 0, ...(after === undefined ? {} : { after }) });
        expect(page.largest).toEqual([]);
        pages.push(...page.sessions);
        after = page.next;
        cursors.push(after);
      } while (after !== undefined);
      expect(cursors).toEqual(["team-a/3", "team-c/fork", undefined]);
      expect(pages).toEqual(full.sessions);
      const lastB = await du(store, { prefix: "team-b/", limit: 2 });
      expect(lastB.next).toBeUndefined();
      expect(lastB.sessions.map((s) => s.id)).toEqual(["team-b/1", "team-b/2"]);
      expect((await du(store, { prefix: "team-b/", limit: 1 })).next).toBe("team-b/1");
      expect((await du(store, { prefix: "nobody" })).sessions).toEqual([]);
    });

    it("refuses bad options with INVALID_ARGUMENT and a session it lacks with NOT_FOUND", async () => {
      const store = await open();
      await store.session("a").commit({ turn: 1, snapshots: { execution: {} } });
      const bad: unknown[] = [
        "a",
        null,
        [],
        { top: -1 },
        { top: 1001 },
        { top: 1.5 },
        { top: "3" },
        { limit: 0 },
        { limit: 2.5 },
        { after: "" },
        { after: 7 },
        { prefix: "" },
        { session: "" },
        { session: 1 },
        { session: "a", prefix: "a" },
        { session: "a", limit: 1 },
        { session: "a", after: "0" },
        { sessions: ["a"] },
      ];
      for (const options of bad) await expectCode(store.du(options as DuOptions), "INVALID_ARGUMENT");
      const missing = await expectCode(store.du({ session: "b" }), "NOT_FOUND");
      expect(missing.details.session).toBe("b");
      expect((await du(store, { top: 0 })).largest).toEqual([]);
    });

    it("property: deleting a session and gc({ grace: 0 }) frees exactly its exclusive bytes (plus the garbage already there)", async () => {
      const seed = runSeed();
      console.log(`du property seed: ${seed} (rerun with FC_SEED=${seed})`);
      await fc.assert(
        fc.asyncProperty(ops, fc.nat(), async (sequence, order) => {
          const store = await open(TINY);
          try {
            await build(store, sequence);
            let report = await du(store);
            expect(report).toEqual({ ...(await oracle(store)), next: undefined });
            // Delete the sessions one by one in a random order; exclusive bytes change as the others go.
            const remaining = report.sessions.map((s) => s.id);
            while (remaining.length > 0) {
              const id = remaining.splice(order % remaining.length, 1)[0]!;
              const row = report.sessions.find((s) => s.id === id)!;
              expect(await du(store, { session: id })).toMatchObject({ sessions: [row], totals: { ...report.totals, matchedSessions: 1 } });
              await store.session(id).delete();
              const gc = await store.gc({ grace: 0 });
              expect(gc.result!.storedBytes).toBe(row.exclusiveBytes + report.totals.garbageBytes);
              expect(gc.result!.blobs).toBe(row.exclusiveBlobs + report.totals.garbageBlobs);
              report = await du(store);
              expect(report.totals.garbageBytes).toBe(0);
            }
            // Only what pins reach is left (and any garbage of a store that had no session to delete).
            await store.gc({ grace: 0 });
            report = await du(store);
            expect(report.totals).toMatchObject({ sessions: 0, historyBytes: 0, garbageBytes: 0, pinnedOnlyBytes: report.totals.storedBytes });
          } finally {
            await cleanup(); // closes the store (and stops its private server on the server backends)
          }
        }),
        { seed, numRuns: server ? 6 : 25 },
      );
    });
  });
}
