/**
 * EventLog: append-only events per session, ordered by the database, read in pages.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { unchanged, type Store } from "../../../src/index.js";
import { EventLog, type LoggedEvent } from "../../../src/adapters/stores/index.js";
import { DATABASE } from "../../../src/store.js";
import { expectCode, backendTitle, storeBackends, rowCounts } from "./helpers.js";

async function readAll(log: EventLog, limit = 7): Promise<LoggedEvent[]> {
  const all: LoggedEvent[] = [];
  let cursor = 0;
  for (;;) {
    const page = await log.read({ after: cursor, limit });
    all.push(...page.events);
    cursor = page.cursor;
    if (!page.hasMore) return all;
  }
}

for (const backend of storeBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`EventLog on ${backendTitle(backend)}`, () => {
    afterAll(() => backend.cleanup());

    it("reads events back in append order with their data", async () => {
      const store = await backend.open();
      const log = new EventLog(store, "s1");
      expect(await log.head()).toBe(0);
      expect(await log.read()).toEqual({ events: [], cursor: 0, hasMore: false });
      const data = [{ role: "user", content: "hi" }, null, new Map([[1, "one"]]), 2n ** 70n, new Uint8Array([9, 8]), [undefined, -0]];
      for (const [i, d] of data.entries()) expect((await log.append({ type: `t${i}`, data: d })).seq).toBe(i + 1);
      const noData = await log.append({ type: "tick" });
      expect(noData.seq).toBe(data.length + 1);
      const page = await log.read();
      expect(page.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(page.events.map((e) => e.data)).toEqual([...data, undefined]);
      expect(Object.is((page.events[5]!.data as number[])[1], -0)).toBe(true);
      expect(page.events.map((e) => e.type)).toEqual(["t0", "t1", "t2", "t3", "t4", "t5", "tick"]);
      expect(page).toMatchObject({ cursor: 7, hasMore: false });
      expect(await log.head()).toBe(7);
    });

    it("orders by the database, never by a clock that goes backwards", async () => {
      const store = await backend.open();
      const log = new EventLog(store, "skewed");
      // A wall clock running backwards (NTP step, another machine's clock): 3 s, 2 s, 1 s, then a Date from 1999.
      const times = [3000, 2000, 1000];
      for (const [i, time] of times.entries()) await log.append({ type: "step", data: i, time });
      await log.append({ type: "step", data: 3, time: new Date("1999-01-01T00:00:00Z") });
      await log.append({ type: "step", data: 4 }); // now
      const events = (await log.read()).events;
      expect(events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4]);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(events.slice(0, 4).map((e) => e.time.getTime())).toEqual([3000, 2000, 1000, Date.parse("1999-01-01T00:00:00Z")]);
      expect(events[4]!.time.getTime()).toBeGreaterThan(Date.parse("2020-01-01"));
    });

    it("pages with a cursor", async () => {
      const store = await backend.open();
      const log = new EventLog(store, "paged");
      await log.appendMany(Array.from({ length: 25 }, (_, i) => ({ type: "n", data: i })));
      const first = await log.read({ limit: 10 });
      expect(first.events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(first).toMatchObject({ cursor: 10, hasMore: true });
      const second = await log.read({ after: first.cursor, limit: 10 });
      expect(second.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      const third = await log.read({ after: second.cursor, limit: 10 });
      expect(third.events.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
      expect(third).toMatchObject({ cursor: 25, hasMore: false });
      expect(await log.read({ after: 25 })).toEqual({ events: [], cursor: 25, hasMore: false });
      // exactly one page's worth left: no more after it
      expect(await log.read({ after: 15, limit: 10 })).toMatchObject({ cursor: 25, hasMore: false });
      await log.append({ type: "late" });
      expect((await log.read({ after: third.cursor })).events.map((e) => e.type)).toEqual(["late"]);
      expect((await readAll(log, 4)).map((e) => e.seq)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    });

    it("keeps sessions apart and gives a batch consecutive sequence numbers", async () => {
      const store = await backend.open();
      const a = new EventLog(store, "a");
      const b = new EventLog(store, "b");
      await a.append({ type: "x" });
      const batch = await b.appendMany([{ type: "q" }, { type: "r" }, { type: "s" }]);
      expect(batch.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(await b.appendMany([])).toEqual([]);
      expect((await a.append({ type: "y" })).seq).toBe(2);
      expect((await a.read()).events.map((e) => e.type)).toEqual(["x", "y"]);
      expect((await b.read()).events.map((e) => e.type)).toEqual(["q", "r", "s"]);
    });

    it("answers bad input with a typed error and writes nothing", async () => {
      const store = await backend.open();
      const log = new EventLog(store, "bad", { maxDataBytes: 1000 });
      await log.append({ type: "ok" });
      const before = await rowCounts(store);
      await expectCode(log.append({ type: "" }), "INVALID_ARGUMENT");
      await expectCode(log.append({ type: 7 } as never), "INVALID_ARGUMENT");
      await expectCode(log.append(null as never), "INVALID_ARGUMENT");
      await expectCode(log.append({ type: "t", time: new Date(NaN) }), "INVALID_ARGUMENT");
      await expectCode(log.append({ type: "t", time: 1.5 }), "INVALID_ARGUMENT");
      await expectCode(log.append({ type: "t", time: "yesterday" } as never), "INVALID_ARGUMENT");
      const fn = await expectCode(log.append({ type: "t", data: { nested: { f: () => 1 } } }), "UNSUPPORTED_VALUE");
      expect(fn.details.path).toBe("/data/nested/f");
      await expectCode(log.append({ type: "t", data: { link: unchanged("a".repeat(64)) } }), "UNSUPPORTED_VALUE");
      const big = await expectCode(log.append({ type: "t", data: "x".repeat(2000) }), "LIMIT_EXCEEDED");
      expect(big.details).toMatchObject({ limit: 1000 });
      const inBatch = await expectCode(log.appendMany([{ type: "fine" }, { type: "fine", data: Symbol("no") }, { type: "fine" }]), "UNSUPPORTED_VALUE");
      expect(inBatch.details.index).toBe(1);
      await expectCode(log.appendMany("events" as never), "INVALID_ARGUMENT");
      await expectCode(log.read({ limit: 0 }), "INVALID_ARGUMENT");
      await expectCode(log.read({ limit: 10_001 }), "INVALID_ARGUMENT");
      await expectCode(log.read({ after: -1 }), "INVALID_ARGUMENT");
      await expectCode(log.read({ after: "5" } as never), "INVALID_ARGUMENT");
      expect(await rowCounts(store)).toEqual(before);
      expect(await log.head()).toBe(1);
      await expectCode(() => new EventLog(store, ""), "INVALID_ARGUMENT");
      await expectCode(() => new EventLog(store, "s", { maxDataBytes: 0 }), "INVALID_ARGUMENT");
      await expectCode(() => new EventLog(undefined as unknown as Store, "s"), "INVALID_ARGUMENT");
    });

    if (backend.reopen) {
      it("lands concurrent appends from two store instances on one file in one total order without gaps", async () => {
        const first = await backend.open();
        const second = await backend.reopen!();
        const writers = [
          { name: "A", log: new EventLog(first, "shared") },
          { name: "B", log: new EventLog(second, "shared") },
        ];
        const work = writers.flatMap(({ name, log }) => [
          // a sequential lane: each append awaited before the next
          (async () => {
            for (let i = 0; i < 60; i++) await log.append({ type: `${name}-seq`, data: i });
          })(),
          // a burst of appends in flight at once
          Promise.all(Array.from({ length: 20 }, (_, i) => log.append({ type: `${name}-burst`, data: i }))),
          // a batch
          log.appendMany(Array.from({ length: 10 }, (_, i) => ({ type: `${name}-batch`, data: i }))),
        ]);
        await Promise.all(work);
        const total = 2 * (60 + 20 + 10);
        for (const { log } of writers) {
          const events = await readAll(log, 50);
          expect(events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
          for (const name of ["A", "B"]) {
            for (const lane of ["seq", "burst", "batch"]) {
              const mine = events.filter((e) => e.type === `${name}-${lane}`).map((e) => e.data as number);
              const expected = Array.from({ length: lane === "seq" ? 60 : lane === "burst" ? 20 : 10 }, (_, i) => i);
              if (lane === "burst") expect([...mine].sort((x, y) => x - y)).toEqual(expected);
              else expect(mine).toEqual(expected); // sequential lanes and batches keep their order
            }
            const batchSeqs = events.filter((e) => e.type === `${name}-batch`).map((e) => e.seq);
            expect(batchSeqs.at(-1)! - batchSeqs[0]!).toBe(9); // a batch is never interleaved
          }
        }
        expect(await writers[0]!.log.head()).toBe(total);
      });
    }

    // Child processes open the database by its file path: needs a plain local file.
    if (backend.capabilities.has("localFile")) {
      it("lands appends from two processes writing one file at once in one total order without gaps", async () => {
        const store = await backend.open();
        const path = store[DATABASE].path!;
        const appender = fileURLToPath(new URL("./event-appender.ts", import.meta.url));
        // Each child opens the store, says "ready", and starts appending when told "go": both write at once.
        const start = (name: string) => {
          const child = spawn(process.execPath, ["--import", "tsx", appender, path, "multi", name, "300"], { stdio: ["pipe", "pipe", "pipe"] });
          let out = "";
          let err = "";
          const ready = new Promise<void>((resolve) => child.stdout.on("data", (d) => ((out += d), out.includes("ready") && resolve())));
          child.stderr.on("data", (d) => (err += d));
          const exited = new Promise<string>((resolve, reject) => {
            child.on("error", reject);
            child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`appender ${name} exited ${code}: ${err}`))));
          });
          return { child, ready, exited };
        };
        const children = [start("P1"), start("P2")];
        await Promise.all(children.map((c) => Promise.race([c.ready, c.exited])));
        for (const { child } of children) child.stdin.end("go\n");
        const log = new EventLog(store, "multi");
        const parent = (async () => {
          for (let i = 0; i < 50; i++) await log.append({ type: "parent", data: i });
        })();
        const outputs = await Promise.all([...children.map((c) => c.exited), parent]);
        expect(outputs.slice(0, 2)).toEqual(["ready\ndone\n", "ready\ndone\n"]);
        const events = await readAll(log, 100);
        const total = 2 * (300 + 10) + 50;
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        for (const [type, n] of [["P1", 300], ["P2", 300], ["P1-batch", 10], ["P2-batch", 10], ["parent", 50]] as const) {
          expect(events.filter((e) => e.type === type).map((e) => e.data)).toEqual(Array.from({ length: n }, (_, i) => i));
        }
      });

      it("reads the log back after a restart", async () => {
        const store = await backend.open();
        await new EventLog(store, "durable").appendMany([{ type: "a" }, { type: "b" }]);
        await store.close();
        const again = await backend.reopen!();
        expect((await new EventLog(again, "durable").read()).events.map((e) => [e.seq, e.type])).toEqual([
          [1, "a"],
          [2, "b"],
        ]);
      });
    }
  });
}
