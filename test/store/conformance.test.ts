/**
 * The store's conformance suite: the same cases on every backend (in-memory,
 * a file, a real sqld over http:// and ws://, and an embedded replica of it).
 */
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, unchanged, type Store } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { backendTitle, backends } from "../support/backends.js";
import { expectCode } from "../support/local-stores.js";
import { randomPayload, sha256Hex, textPayload, uid } from "../support/random.js";


/**
 * Removes checkpoint `ref`, everything it links to and the given sessions' history
 * behind the store's back, as a gc racing a writer could. Touches only these rows,
 * so tests sharing a server database are unaffected.
 */
async function purge(store: Store, ref: string, sessions: string[]): Promise<void> {
  await store[DATABASE].writeBatch([
    ...sessions.flatMap((id) => [
      { sql: "DELETE FROM history WHERE session = ?", args: [id] },
      { sql: "DELETE FROM sessions WHERE id = ?", args: [id] },
    ]),
    {
      sql: `WITH RECURSIVE tree(id) AS (SELECT id FROM blobs WHERE ref = unhex(?) UNION SELECT e.dst FROM edges e JOIN tree ON e.src = tree.id)
            DELETE FROM blobs WHERE id IN (SELECT id FROM tree)`,
      args: [ref],
    },
    "DELETE FROM edges WHERE src NOT IN (SELECT id FROM blobs) OR dst NOT IN (SELECT id FROM blobs)",
  ]);
  await store.sync();
}

/** Rewrites the stored bytes of one blob behind the store's back. */
async function corrupt(store: Store, ref: string, mutate: (data: Uint8Array) => Uint8Array): Promise<void> {
  const db = store[DATABASE];
  const row = await db.execute("SELECT data FROM blobs WHERE ref = unhex(?)", [ref]);
  const data = new Uint8Array(row.rows[0]![0] as ArrayBuffer);
  await db.writeBatch([{ sql: "UPDATE blobs SET data = ? WHERE ref = unhex(?)", args: [mutate(data), ref] }]);
  await store.sync();
}

for (const backend of backends()) {
  describe.skipIf(backend.unavailable !== undefined)(`store on ${backendTitle(backend)}`, () => {
    const opened: Store[] = [];
    const open = async (options = {}) => {
      const store = await backend.open(options);
      opened.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of opened) await store.close().catch(() => {});
      backend.cleanup();
    });

    describe("blobs", () => {
      it("names bytes by their SHA-256 and gives them back", async () => {
        const store = await open();
        for (const size of [0, 1, 1000, 40_000, 300_000]) {
          const bytes = randomPayload(size);
          const ref = await store.blobs.put(bytes);
          expect(ref).toBe(sha256Hex(bytes));
          expect(await store.blobs.has(ref)).toBe(true);
          expect(Buffer.from(await store.blobs.get(ref)).equals(Buffer.from(bytes))).toBe(true);
        }
      });

      it("stores a payload once however often it is put", async () => {
        const store = await open();
        const bytes = new TextEncoder().encode(textPayload(100_000));
        const first = await store.blobs.put(bytes);
        const before = await store[DATABASE].execute("SELECT count(*) FROM blobs");
        const second = await store.blobs.put(bytes, { kind: "tool-output" });
        const after = await store[DATABASE].execute("SELECT count(*) FROM blobs");
        expect(second).toBe(first);
        expect(after.rows[0]![0]).toBe(before.rows[0]![0]);
      });

      it("answers bad input with typed errors and writes nothing", async () => {
        const store = await open();
        await expectCode(store.blobs.get("not-a-ref"), "INVALID_REF");
        await expectCode(store.blobs.get("A".repeat(64)), "INVALID_REF");
        await expectCode(store.blobs.get("0".repeat(64)), "NOT_FOUND");
        expect(await store.blobs.has("0".repeat(64))).toBe(false);
        await expectCode(store.blobs.put("text" as never), "INVALID_ARGUMENT");
        await expectCode(store.blobs.put(new Uint8Array(3), { kind: "" }), "INVALID_ARGUMENT");
        const small = await open({ maxBlobBytes: 2048 });
        const big = randomPayload(4096);
        await expectCode(small.blobs.put(big), "LIMIT_EXCEEDED");
        expect(await small.blobs.has(sha256Hex(big))).toBe(false);
      });

      it("refuses corrupt bytes with INTEGRITY naming the expected and actual hash", async () => {
        const store = await open({ profile: "none" });
        const bytes = randomPayload(500);
        const ref = await store.blobs.put(bytes);
        await corrupt(store, ref, (data) => {
          const copy = Uint8Array.from(data);
          copy[10] = copy[10]! ^ 0xff;
          return copy;
        });
        const error = await expectCode(store.blobs.get(ref), "INTEGRITY");
        expect(error.details.expected).toBe(ref);
        expect(error.details.actual).toMatch(/^[0-9a-f]{64}$/);
        expect(error.details.actual).not.toBe(ref);
      });

      it("refuses a corrupt chunk of a chunked blob", async () => {
        const store = await open({ profile: "none" });
        const bytes = randomPayload(200_000);
        const ref = await store.blobs.put(bytes);
        expect((await store.blobs.info(ref))?.encoding).toBe("chunked");
        const chunk = await store[DATABASE].execute(
          `WITH RECURSIVE tree(id) AS (SELECT id FROM blobs WHERE ref = unhex(?) UNION SELECT e.dst FROM edges e JOIN tree ON e.src = tree.id)
           SELECT lower(hex(b.ref)) FROM tree JOIN blobs b ON b.id = tree.id WHERE b.kind = 'chunk' LIMIT 1`,
          [ref],
        );
        const chunkRef = String(chunk.rows[0]![0]);
        await corrupt(store, chunkRef, (data) => Uint8Array.from(data, (b, i) => (i === 0 ? b ^ 1 : b)));
        await expectCode(store.blobs.get(ref), "INTEGRITY");
      });

      it("refuses a compressed row that inflates past its recorded size", async () => {
        const store = await open({ profile: "fast" });
        const text = new TextEncoder().encode(textPayload(6_000));
        const ref = await store.blobs.put(text);
        expect((await store.blobs.info(ref))?.encoding).toBe("deflate");
        await store[DATABASE].writeBatch([{ sql: "UPDATE blobs SET size = 100 WHERE ref = unhex(?)", args: [ref] }]);
        await store.sync();
        await expectCode(store.blobs.get(ref), "INTEGRITY");
      });
    });

    describe("values", () => {
      it("gives equal values one ref, whatever their key order", async () => {
        const store = await open();
        const a = await store.values.put({ a: 1, b: [1, 2, { c: "x", d: null }] });
        const b = await store.values.put({ b: [1, 2, { d: null, c: "x" }], a: 1 });
        expect(a).toBe(b);
        expect(await store.values.get(a)).toEqual({ a: 1, b: [1, 2, { c: "x", d: null }] });
      });

      it("moves large strings out and stores each distinct one once", async () => {
        const store = await open({ moveOutThreshold: 16 * 1024 });
        const output = textPayload(256 * 1024);
        const outputRef = sha256Hex(output);
        const first = await store.values.put({ tool: "read", output });
        expect(await store.blobs.has(outputRef)).toBe(true);
        const second = await store.values.put({ tool: "read", output, again: output, turn: 2 });
        expect(second).not.toBe(first);
        expect(await store.values.get(second)).toEqual({ tool: "read", output, again: output, turn: 2 });
        expect(await store.blobs.get(outputRef)).toEqual(new TextEncoder().encode(output));
      });

      it("records an edge from a value to every blob it links to, chunked or not", async () => {
        const store = await open();
        const output = textPayload(40_000);
        const small = await store.values.put({ output, n: 1 });
        const large = await store.values.put({ output, history: Array.from({ length: 1000 }, (_, i) => `message ${i} ${uid()}`) });
        expect((await store.blobs.info(large))?.encoding).toBe("chunked");
        for (const ref of [small, large]) {
          const linked = await store[DATABASE].execute(
            "SELECT count(*) FROM edges e JOIN blobs p ON p.id = e.src JOIN blobs c ON c.id = e.dst WHERE p.ref = unhex(?) AND c.ref = unhex(?)",
            [ref, sha256Hex(output)],
          );
          expect(Number(linked.rows[0]![0]), ref).toBe(1);
        }
      });

      it("refuses values it cannot store, with the path, and writes nothing", async () => {
        const store = await open();
        const count = async () => Number((await store[DATABASE].execute("SELECT count(*) FROM blobs")).rows[0]![0]);
        const before = await count();
        const error = await expectCode(store.values.put({ ok: "x".repeat(50_000), deep: { fn: () => 1 } }), "UNSUPPORTED_VALUE");
        expect(error.details.path).toBe("/deep/fn");
        expect(await count()).toBe(before);
      });
    });

    describe("checkpoints", () => {
      it("dehydrates into blobs and hydrates back whole, or only the slots asked for", async () => {
        const store = await open();
        const checkpoint = {
          turn: 3,
          snapshots: { tool: { files: ["a.ts"], output: textPayload(40_000) }, plugin: { enabled: ["x"] }, execution: { messages: [{ role: "user", content: "hi" }] } },
          pluginRevision: 7,
          meta: { model: "m" },
        };
        const { ref, manifest } = await store.checkpoints.put(checkpoint);
        expect(Object.keys(manifest.slots).sort()).toEqual(["execution", "plugin", "tool"]);
        const back = await store.checkpoints.get(ref);
        expect(back.turn).toBe(3);
        expect(back.snapshots).toEqual(checkpoint.snapshots);
        expect(back.pluginRevision).toBe(7);
        expect(back.meta).toEqual({ model: "m" });
        const onlyPlugin = await store.checkpoints.get(ref, { slots: ["plugin"] });
        expect(onlyPlugin.snapshots).toEqual({ plugin: { enabled: ["x"] } });
      });

      it("takes unchanged(ref) for a slot and gives the same checkpoint ref as the value itself", async () => {
        const store = await open();
        const tool = { output: textPayload(100_000) };
        const first = await store.checkpoints.put({ turn: 1, snapshots: { tool, execution: { n: 1 } } });
        const viaValue = await store.checkpoints.put({ turn: 2, snapshots: { tool, execution: { n: 2 } } });
        const viaRef = await store.checkpoints.put({ turn: 2, snapshots: { tool: unchanged(first.manifest.slots.tool!), execution: { n: 2 } } });
        expect(viaRef.ref).toBe(viaValue.ref);
        expect(viaRef.blobsWritten).toBe(0);
        expect(() => unchanged("nope")).toThrow(CairnError);
        await expectCode(store.checkpoints.put({ turn: 3, snapshots: { tool: unchanged("f".repeat(64)) } }), "NOT_FOUND");
      });

      it("refuses malformed checkpoints with INVALID_ARGUMENT", async () => {
        const store = await open();
        await expectCode(store.checkpoints.put({ turn: -1, snapshots: {} }), "INVALID_ARGUMENT");
        await expectCode(store.checkpoints.put({ turn: 1.5, snapshots: {} }), "INVALID_ARGUMENT");
        await expectCode(store.checkpoints.put({ turn: 1, snapshots: [] as never }), "INVALID_ARGUMENT");
        await expectCode(store.checkpoints.put({ turn: 1, snapshots: { "": 1 } }), "INVALID_ARGUMENT");
        const error = await expectCode(store.checkpoints.put({ turn: 1, snapshots: { tool: { bad: Symbol("s") } } }), "UNSUPPORTED_VALUE");
        expect(error.details.path).toBe("/snapshots/tool/bad");
        await expectCode(store.checkpoints.get("0".repeat(64)), "NOT_FOUND");
        const notManifest = await store.values.put({ just: "a value" });
        await expectCode(store.checkpoints.get(notManifest), "INTEGRITY");
      });

      it("stores the same large tool output once across checkpoints and sessions", async () => {
        const store = await open();
        const output = textPayload(256 * 1024);
        let first: number | undefined;
        let later = 0;
        for (let s = 0; s < 10; s++) {
          const session = store.session(uid());
          for (let t = 1; t <= 10; t++) {
            const result = await session.commit({ turn: t, snapshots: { tool: { output }, execution: { t, s } } });
            if (first === undefined) first = result.bytesWritten;
            else later = Math.max(later, result.bytesWritten);
          }
        }
        // The first commit stores the output (compressed); none of the 99 others stores it again.
        expect(first!).toBeGreaterThan(25_000);
        expect(later).toBeLessThan(2_000);
      });
    });

    describe("the transactional writer", () => {
      it("writes again what vanished after it was confirmed (a concurrent gc), never a dangling link", async () => {
        const store = await open();
        const output = textPayload(64 * 1024);
        const checkpoint = { turn: 1, snapshots: { tool: { output }, execution: { note: uid() } } };
        const one = store.session(uid());
        const first = await one.commit(checkpoint);
        await purge(store, first.ref, [one.id]);
        expect(await store.blobs.has(sha256Hex(output))).toBe(false);
        // The same checkpoint again: its manifest and every blob were confirmed by this store before.
        const again = store.session(uid());
        const second = await again.commit(checkpoint);
        expect(second.ref).toBe(first.ref);
        expect(second.blobsWritten).toBeGreaterThan(0);
        expect((await again.latest())?.snapshots).toEqual(checkpoint.snapshots);
        // A new checkpoint linking to a vanished output: the edge guard catches it.
        await purge(store, second.ref, [again.id]);
        expect(await store.blobs.has(sha256Hex(output))).toBe(false);
        const third = store.session(uid());
        await third.commit({ turn: 2, snapshots: { tool: { output }, execution: { note: uid() } } });
        expect((await third.latest())?.snapshots.tool).toEqual({ output });
        expect(await store.blobs.has(sha256Hex(output))).toBe(true);
      });
    });

    describe("sessions", () => {
      it("numbers commits from 1 and resumes from the latest", async () => {
        const store = await open();
        const session = store.session(uid());
        expect(await session.latest()).toBeUndefined();
        expect(await session.head()).toBe(0);
        for (let turn = 1; turn <= 5; turn++) {
          const { seq } = await session.commit({ turn, snapshots: { execution: { turn } } }, { label: `turn ${turn}`, meta: { cost: turn } });
          expect(seq).toBe(turn);
        }
        const latest = await session.latest();
        expect(latest?.seq).toBe(5);
        expect(latest?.snapshots.execution).toEqual({ turn: 5 });
        expect((await session.at(2)).snapshots.execution).toEqual({ turn: 2 });
        await expectCode(session.at(9), "NOT_FOUND");
        await expectCode(session.at(0), "INVALID_ARGUMENT");
      });

      it("makes expectedHead a compare-and-swap: one writer wins, the other gets CONFLICT", async () => {
        const store = await open();
        const session = store.session(uid());
        await session.commit({ turn: 1, snapshots: { execution: 1 } }, { expectedHead: 0 });
        const results = await Promise.allSettled([
          session.commit({ turn: 2, snapshots: { execution: "a" } }, { expectedHead: 1 }),
          session.commit({ turn: 2, snapshots: { execution: "b" } }, { expectedHead: 1 }),
        ]);
        const won = results.filter((r) => r.status === "fulfilled");
        const lost = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(CairnError);
        expect(lost[0]!.reason.code).toBe("CONFLICT");
        expect(lost[0]!.reason.details).toMatchObject({ expectedHead: 1, actualHead: 2 });
        expect(await session.head()).toBe(2);
        await expectCode(session.commit({ turn: 3, snapshots: {} }, { expectedHead: 7 }), "CONFLICT");
        expect(await session.head()).toBe(2);
        await expectCode(session.commit({ turn: 3, snapshots: {} }, { expectedHead: -1 }), "INVALID_ARGUMENT");
      });

      it("pages through history newest first without reading blobs", async () => {
        const store = await open();
        const session = store.session(uid());
        for (let turn = 1; turn <= 12; turn++) await session.commit({ turn, snapshots: { execution: { turn } } }, { label: `t${turn}` });
        const page1 = await session.history({ limit: 5 });
        expect(page1.map((h) => h.seq)).toEqual([12, 11, 10, 9, 8]);
        const page2 = await session.history({ limit: 5, before: page1.at(-1)!.seq });
        expect(page2.map((h) => h.seq)).toEqual([7, 6, 5, 4, 3]);
        expect((await session.history()).length).toBe(12);
        expect(page1[0]!.label).toBe("t12");
        expect(page1[0]!.turn).toBe(12);
        expect(page1[0]!.createdAt).toBeInstanceOf(Date);
        expect((await store.checkpoints.get(page1[0]!.ref)).snapshots.execution).toEqual({ turn: 12 });
      });

      it("forks sharing every blob, and deletes a history", async () => {
        const store = await open();
        const id = uid();
        const session = store.session(id);
        for (let turn = 1; turn <= 4; turn++) await session.commit({ turn, snapshots: { tool: { out: textPayload(30_000, "fork") }, execution: { turn } } });
        const count = async () => Number((await store[DATABASE].execute("SELECT count(*) FROM blobs")).rows[0]![0]);
        const before = await count();
        const forkId = uid();
        const fork = await session.fork(forkId, { at: 2 });
        expect(await count()).toBe(before);
        expect((await fork.latest())?.seq).toBe(2);
        expect((await fork.latest())?.snapshots.execution).toEqual({ turn: 2 });
        expect((await fork.commit({ turn: 3, snapshots: { execution: "forked" } })).seq).toBe(3);
        expect((await session.latest())?.seq).toBe(4);
        await expectCode(session.fork(forkId), "CONFLICT");
        await expectCode(session.fork(uid(), { at: 99 }), "NOT_FOUND");
        const ids = (await store.sessions.list()).map((s) => s.id);
        expect(ids).toEqual(expect.arrayContaining([id, forkId]));
        expect(await session.delete()).toBe(4);
        expect(await session.latest()).toBeUndefined();
        expect((await store.sessions.list()).map((s) => s.id)).not.toContain(id);
        expect((await fork.latest())?.snapshots.execution).toEqual("forked");
      });

      it("refuses bad session ids and options", async () => {
        const store = await open();
        expect(() => store.session("")).toThrow(CairnError);
        expect(() => store.session(5 as never)).toThrow(CairnError);
        const session = store.session(uid());
        await expectCode(session.history({ limit: -1 }), "INVALID_ARGUMENT");
        await expectCode(session.commit({ turn: 1, snapshots: {} }, { label: 5 as never }), "INVALID_ARGUMENT");
        await expectCode(session.commit({ turn: 1, snapshots: {} }, { meta: { f: () => 0 } }), "UNSUPPORTED_VALUE");
        expect(await session.head()).toBe(0);
      });
    });

    it("is closed after close()", async () => {
      const store = await backend.open();
      await store.close();
      await expectCode(store.blobs.has("0".repeat(64)), "CLOSED");
      await expectCode(store.session("x").head(), "CLOSED");
    });

    if (backend.reopen) {
      it("keeps what was committed across a reopen", async () => {
        const store = await open();
        const session = store.session(uid());
        await session.commit({ turn: 1, snapshots: { execution: { big: textPayload(70_000) } } });
        const again = await backend.reopen!();
        opened.push(again);
        const latest = await again.session(session.id).latest();
        expect(latest?.seq).toBe(1);
        expect((latest?.snapshots.execution as { big: string }).big.length).toBe(70_000);
      });
    }
  });
}
