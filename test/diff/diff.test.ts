/**
 * Checkpoint and value diffs on real stores (:memory: and a file): slot
 * statuses, unchanged slots and equal moved-out values never read (proved by
 * corrupting their rows), line diffs of changed large strings, links inside
 * values, turn / revision / meta changes, and bad input.
 */
import { afterAll, describe, expect, it } from "vitest";
import { applyPatch as rfc6902Apply, type Operation } from "rfc6902";
import { unchanged, type Store } from "../../src/index.js";
import { encodeValue } from "../../src/codec/value-codec.js";
import { DATABASE } from "../../src/store.js";
import { applyPatch, checkpointView, compareValues } from "../../src/checkpoint/diff.js";
import { backendTitle, corruptBlob, diffBackends, expectCode, hex, storeCompare, storeDiff, storeDiffValues } from "./support.js";
import { textPayload } from "../support/random.js";

const canonical = (value: unknown): string => hex(encodeValue(value));

const toolState = (cwd: string, output: string) => ({ cwd, files: { "README.md": { size: 120, hash: "abc" } }, lastOutput: output });
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `message ${i}` }));

for (const backend of diffBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`diff on a ${backendTitle(backend)} store`, () => {
    afterAll(() => backend.cleanup());
    const open = (options = {}) => backend.open(options);

    it("classifies slots as added, removed, changed or unchanged, and reports turn, plugin revision and meta", async () => {
      const store = await open();
      const s = store.session("classify");
      const one = await s.commit({
        turn: 1,
        snapshots: { tool: toolState("/repo", "ok"), plugin: { theme: "dark" }, execution: { messages: messages(2) }, scratch: [1, 2] },
        pluginRevision: 4,
        meta: { model: "m1", tags: ["a"] },
      });
      const two = await s.commit({
        turn: 2,
        snapshots: { tool: toolState("/repo/src", "ok"), plugin: { theme: "dark" }, execution: { messages: messages(3) }, notes: "hello" },
        pluginRevision: "5",
        meta: { model: "m1", tags: ["a", "b"] },
      });
      const d = await storeDiff(store, one, two);
      expect(d.kind).toBe("checkpoint");
      expect(d.a).toBe(one.ref);
      expect(d.b).toBe(two.ref);
      expect(d.equal).toBe(false);
      expect(Object.keys(d.slots)).toEqual(["execution", "notes", "plugin", "scratch", "tool"]);
      expect(Object.fromEntries(Object.entries(d.slots).map(([k, v]) => [k, v.status]))).toEqual({
        execution: "changed",
        notes: "added",
        plugin: "unchanged",
        scratch: "removed",
        tool: "changed",
      });
      const manifestOne = await store.checkpoints.manifest(one.ref);
      const manifestTwo = await store.checkpoints.manifest(two.ref);
      expect(d.slots.plugin).toEqual({ status: "unchanged", aRef: manifestOne.slots.plugin, bRef: manifestTwo.slots.plugin, patch: [], lineDiffs: [] });
      expect(d.slots.scratch).toEqual({ status: "removed", aRef: manifestOne.slots.scratch, patch: [{ op: "remove", path: "/snapshots/scratch" }], lineDiffs: [] });
      expect(d.slots.notes).toEqual({ status: "added", bRef: manifestTwo.slots.notes, patch: [{ op: "add", path: "/snapshots/notes", value: "hello" }], lineDiffs: [] });
      expect(d.slots.execution!.patch).toEqual([{ op: "add", path: "/snapshots/execution/messages/2", value: { role: "user", content: "message 2" } }]);
      expect(d.slots.tool!.patch).toEqual([{ op: "replace", path: "/snapshots/tool/cwd", value: "/repo/src", old: "/repo" }]);
      expect(d.turn).toEqual({ from: 1, to: 2 });
      expect(d.pluginRevision).toEqual({ from: 4, to: "5" });
      expect(d.meta).toEqual({ patch: [{ op: "add", path: "/meta/tags/1", value: "b" }], lineDiffs: [] });
      expect(d.patch.map((op) => `${op.op} ${op.path}`)).toEqual([
        "replace /turn",
        "replace /pluginRevision",
        "add /meta/tags/1",
        "add /snapshots/execution/messages/2",
        "add /snapshots/notes",
        "remove /snapshots/scratch",
        "replace /snapshots/tool/cwd",
      ]);
      // The whole patch turns view(a) into view(b), with cairn's applier and with rfc6902's (these are JSON values).
      const va = checkpointView(await store.checkpoints.get(one.ref));
      const vb = checkpointView(await store.checkpoints.get(two.ref));
      expect(applyPatch(va, d.patch)).toEqual(vb);
      const doc = structuredClone(va);
      expect(rfc6902Apply(doc, d.patch as Operation[]).filter((e) => e !== null)).toEqual([]);
      expect(doc).toEqual(vb);
    });

    it("a checkpoint diffed with itself is equal and reads no slot", async () => {
      const store = await open();
      const one = await store.session("self").commit({ turn: 3, snapshots: { tool: { a: 1 }, execution: { b: 2 } }, meta: "m" });
      const manifest = await store.checkpoints.manifest(one.ref);
      await corruptBlob(store, manifest.slots.tool!);
      await corruptBlob(store, manifest.slots.execution!);
      const d = await storeDiff(store, one.ref, one);
      expect(d.equal).toBe(true);
      expect(d.patch).toEqual([]);
      expect(Object.values(d.slots).map((s) => s.status)).toEqual(["unchanged", "unchanged"]);
      expect(d.turn).toBeUndefined();
      expect(d.meta).toBeUndefined();
      expect(d.pluginRevision).toBeUndefined();
    });

    it("never decodes an unchanged slot: diff succeeds with that slot's blob corrupted", async () => {
      const store = await open();
      const s = store.session("corrupt-unchanged");
      const plugin = { settings: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: i })) };
      const one = await s.commit({ turn: 1, snapshots: { tool: toolState("/a", "x"), plugin } });
      const two = await s.commit({ turn: 2, snapshots: { tool: toolState("/b", "x"), plugin } });
      const pluginRef = (await store.checkpoints.manifest(one.ref)).slots.plugin!;
      expect((await store.blobs.info(pluginRef))!.encoding).not.toBe("chunked"); // one row: the corruption below hits it
      await corruptBlob(store, pluginRef);
      // The corruption is real: reading the slot fails the hash check.
      await expectCode(store.values.get(pluginRef), "INTEGRITY");
      await expectCode(store.checkpoints.get(two.ref), "INTEGRITY");
      const d = await storeDiff(store, one, two);
      expect(d.slots.plugin).toMatchObject({ status: "unchanged", aRef: pluginRef, bRef: pluginRef });
      expect(d.slots.tool!.patch).toEqual([{ op: "replace", path: "/snapshots/tool/cwd", value: "/b", old: "/a" }]);
    });

    it("compares moved-out strings by ref: an equal large string is never read, even inside a changed slot", async () => {
      const store = await open();
      const s = store.session("large-equal");
      const output = textPayload(64 * 1024, "large-equal");
      const one = await s.commit({ turn: 1, snapshots: { tool: toolState("/a", output) } });
      const two = await s.commit({ turn: 2, snapshots: { tool: toolState("/b", output) } });
      // The moved-out string: the store's only large-value blob, shared by both checkpoints.
      const largeRef = await largeValueRefs(store);
      expect(largeRef).toHaveLength(1);
      await corruptChunks(store, largeRef[0]!);
      await expectCode(store.blobs.get(largeRef[0]!), "INTEGRITY"); // the corruption is real
      const d = await storeDiff(store, one, two);
      expect(d.slots.tool!.status).toBe("changed");
      expect(d.slots.tool!.patch).toEqual([{ op: "replace", path: "/snapshots/tool/cwd", value: "/b", old: "/a" }]);
      expect(d.slots.tool!.lineDiffs).toEqual([]);
      if (backend.reopen) {
        // A new client on the database remembers no string, so reading the checkpoint must read the
        // corrupt blob and fail, while the diff, which compares the string by ref, still succeeds.
        const fresh = await backend.reopen!(undefined, store);
        await expectCode(fresh.checkpoints.get(two.ref), "INTEGRITY");
        expect((await storeDiff(fresh, one, two)).patch).toEqual([
          { op: "replace", path: "/turn", value: 2, old: 1 },
          { op: "replace", path: "/snapshots/tool/cwd", value: "/b", old: "/a" },
        ]);
      }
    });

    it("gives a changed large string a replace with the full text and a compact line diff of the changed hunks", async () => {
      const store = await open();
      const s = store.session("large-changed");
      const lines = Array.from({ length: 3000 }, (_, i) => `line ${i}: const value${i} = compute(${i});`);
      const before = lines.join("\n");
      const after = lines.map((l, i) => (i === 1500 ? "line 1500: changed" : l)).concat("line 3000: appended").join("\n");
      const one = await s.commit({ turn: 1, snapshots: { tool: toolState("/a", before) } });
      const two = await s.commit({ turn: 2, snapshots: { tool: toolState("/a", after) } });
      const d = await storeDiff(store, one, two);
      expect(d.slots.tool!.patch).toEqual([{ op: "replace", path: "/snapshots/tool/lastOutput", value: after, old: before }]);
      const [lineDiff] = d.slots.tool!.lineDiffs;
      expect(lineDiff).toMatchObject({ path: "/snapshots/tool/lastOutput", aLength: before.length, bLength: after.length, complete: true });
      expect(lineDiff!.aRef).toMatch(/^[0-9a-f]{64}$/);
      expect(lineDiff!.bRef).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.blobs.info(lineDiff!.aRef!)).toMatchObject({ kind: "large-value", size: Buffer.byteLength(before) });
      expect(lineDiff!.hunks).toHaveLength(2);
      expect(lineDiff!.hunks[0]).toEqual({
        oldStart: 1498,
        oldLines: 7,
        newStart: 1498,
        newLines: 7,
        lines: [
          " line 1497: const value1497 = compute(1497);",
          " line 1498: const value1498 = compute(1498);",
          " line 1499: const value1499 = compute(1499);",
          "-line 1500: const value1500 = compute(1500);",
          "+line 1500: changed",
          " line 1501: const value1501 = compute(1501);",
          " line 1502: const value1502 = compute(1502);",
          " line 1503: const value1503 = compute(1503);",
        ],
      });
      expect(lineDiff!.hunks[1]!.lines.filter((l) => l.startsWith("+"))).toEqual(["+line 2999: const value2999 = compute(2999);", "+line 3000: appended"]);
      // The context option trims hunks further.
      const tight = await storeDiff(store, one, two, { context: 0 });
      expect(tight.slots.tool!.lineDiffs[0]!.hunks[0]!.lines).toEqual(["-line 1500: const value1500 = compute(1500);", "+line 1500: changed"]);
    });

    it("reads the large values an added message holds, so the patch is complete", async () => {
      const store = await open();
      const s = store.session("added-large");
      const big = textPayload(40 * 1024, "added-large");
      const history = messages(4);
      const one = await s.commit({ turn: 1, snapshots: { execution: { messages: history } } });
      const two = await s.commit({ turn: 2, snapshots: { execution: { messages: [...history, { role: "tool", content: big, bytes: new Uint8Array(20_000).fill(7) }] } } });
      const d = await storeDiff(store, one, two);
      expect(d.slots.execution!.patch).toHaveLength(1);
      const op = d.slots.execution!.patch[0]!;
      expect(op).toMatchObject({ op: "add", path: "/snapshots/execution/messages/4" });
      expect((op as { value: { content: string } }).value.content).toBe(big);
      expect((op as { value: { bytes: Uint8Array } }).value.bytes).toEqual(new Uint8Array(20_000).fill(7));
    });

    it("diffs inside values linked with unchanged(ref), by ref", async () => {
      const store = await open();
      const s = store.session("value-links");
      const shared = await store.values.put({ docs: ["a", "b"], version: 1 });
      const sharedNext = await store.values.put({ docs: ["a", "b", "c"], version: 1 });
      const other = await store.values.put({ unrelated: true });
      const one = await s.commit({ turn: 1, snapshots: { tool: { index: unchanged(shared), keep: unchanged(other), n: 1 } } });
      const two = await s.commit({ turn: 2, snapshots: { tool: { index: unchanged(sharedNext), keep: unchanged(other), n: 2 } } });
      // A slot that is itself unchanged(ref) of a stored value: that value is diffed against the slot's.
      const three = await s.commit({ turn: 3, snapshots: { tool: unchanged(sharedNext) } });
      const d2 = await storeDiff(store, one, three);
      expect(d2.slots.tool!.patch).toEqual([
        { op: "remove", path: "/snapshots/tool/index", old: { docs: ["a", "b"], version: 1 } },
        { op: "remove", path: "/snapshots/tool/keep", old: { unrelated: true } },
        { op: "remove", path: "/snapshots/tool/n", old: 1 },
        { op: "add", path: "/snapshots/tool/docs", value: ["a", "b", "c"] },
        { op: "add", path: "/snapshots/tool/version", value: 1 },
      ]);
      await corruptBlob(store, other); // equal refs: never read
      const d = await storeDiff(store, one, two);
      expect(d.slots.tool!.patch).toEqual([
        { op: "add", path: "/snapshots/tool/index/docs/2", value: "c" },
        { op: "replace", path: "/snapshots/tool/n", value: 2, old: 1 },
      ]);
    });

    it("reports meta and plugin revision appearing and disappearing", async () => {
      const store = await open();
      const s = store.session("meta");
      const one = await s.commit({ turn: 1, snapshots: { tool: 1 } });
      const two = await s.commit({ turn: 1, snapshots: { tool: 1 }, meta: { label: "x" }, pluginRevision: 2 });
      const forward = await storeDiff(store, one, two);
      expect(forward.turn).toBeUndefined();
      expect(forward.pluginRevision).toEqual({ to: 2 });
      expect(forward.meta).toEqual({ patch: [{ op: "add", path: "/meta", value: { label: "x" } }], lineDiffs: [] });
      expect(forward.patch.map((op) => `${op.op} ${op.path}`)).toEqual(["add /pluginRevision", "add /meta"]);
      const back = await storeDiff(store, two, one);
      expect(back.pluginRevision).toEqual({ from: 2 });
      expect(back.patch).toEqual([
        { op: "remove", path: "/pluginRevision", old: 2 },
        { op: "remove", path: "/meta", old: { label: "x" } },
      ]);
      const vOne = checkpointView(await store.checkpoints.get(one.ref));
      const vTwo = checkpointView(await store.checkpoints.get(two.ref));
      expect(applyPatch(vOne, forward.patch)).toEqual(vTwo);
      expect(applyPatch(vTwo, back.patch)).toEqual(vOne);
    });

    it("shows non-JSON values whole: Map, Set, Date, BigInt, bytes, undefined, -0 and NaN", async () => {
      const store = await open();
      const s = store.session("non-json");
      const one = await s.commit({
        turn: 1,
        snapshots: { tool: { m: new Map([["a", 1]]), s: new Set([1]), d: new Date(0), n: 1n, b: new Uint8Array([1]), u: undefined, z: 0, nan: NaN, same: new Map([["k", [1n]]]) } },
      });
      const two = await s.commit({
        turn: 1,
        snapshots: { tool: { m: new Map([["a", 2]]), s: new Set([1, 2]), d: new Date(1), n: 2n, b: new Uint8Array([2]), z: -0, nan: NaN, same: new Map([["k", [1n]]]), added: undefined } },
      });
      const d = await storeDiff(store, one, two);
      expect(d.slots.tool!.patch).toEqual([
        { op: "remove", path: "/snapshots/tool/u", old: undefined },
        { op: "add", path: "/snapshots/tool/added", value: undefined },
        { op: "replace", path: "/snapshots/tool/b", value: new Uint8Array([2]), old: new Uint8Array([1]) },
        { op: "replace", path: "/snapshots/tool/d", value: new Date(1), old: new Date(0) },
        { op: "replace", path: "/snapshots/tool/m", value: new Map([["a", 2]]), old: new Map([["a", 1]]) },
        { op: "replace", path: "/snapshots/tool/n", value: 2n, old: 1n },
        { op: "replace", path: "/snapshots/tool/s", value: new Set([1, 2]), old: new Set([1]) },
        { op: "replace", path: "/snapshots/tool/z", value: -0, old: 0 },
      ]);
      const z = d.slots.tool!.patch.find((op) => op.path.endsWith("/z")) as { value: number };
      expect(Object.is(z.value, -0)).toBe(true);
      const va = checkpointView(await store.checkpoints.get(one.ref));
      const vb = checkpointView(await store.checkpoints.get(two.ref));
      expect(canonical(applyPatch(va, d.patch))).toBe(canonical(vb));
    });

    it("compares an expected checkpoint with a stored one, reading only the slots whose refs differ", async () => {
      const store = await open();
      const s = store.session("expected");
      const snapshots = { tool: toolState("/a", "x"), plugin: { p: 1 } };
      const one = await s.commit({ turn: 1, snapshots, meta: { m: 1 } });
      const pluginRef = (await store.checkpoints.manifest(one.ref)).slots.plugin!;
      await corruptBlob(store, pluginRef);
      const same = await storeCompare(store, { turn: 1, snapshots: { tool: toolState("/a", "x"), plugin: { p: 1 } }, meta: { m: 1 } }, one);
      expect(same.equal).toBe(true);
      expect(same.a).toBe(one.ref); // the expected checkpoint's ref is the stored one's
      const viaRef = await storeCompare(store, { turn: 1, snapshots: { tool: toolState("/a", "x"), plugin: unchanged(pluginRef) }, meta: { m: 1 } }, one.ref);
      expect(viaRef.equal).toBe(true);
      const differs = await storeCompare(store, { turn: 2, snapshots: { tool: toolState("/b", "x"), plugin: { p: 1 } } }, one);
      expect(differs.equal).toBe(false);
      expect(differs.b).toBe(one.ref);
      expect(differs.patch).toEqual([
        { op: "replace", path: "/turn", value: 1, old: 2 },
        { op: "add", path: "/meta", value: { m: 1 } },
        { op: "replace", path: "/snapshots/tool/cwd", value: "/a", old: "/b" },
      ]);
      expect(await store.blobs.has(differs.a)).toBe(false); // nothing was written
    });

    it("diffs two stored values", async () => {
      const store = await open({ moveOutThreshold: 1024 });
      const big = textPayload(4096, "values");
      const a = await store.values.put({ list: [1, 2, 3], text: big, note: "x" });
      const b = await store.values.put({ list: [1, 3], text: big, note: "y" });
      const same = await storeDiffValues(store, a, a);
      expect(same).toEqual({ kind: "value", a, b: a, equal: true, patch: [], lineDiffs: [] });
      const d = await storeDiffValues(store, a, b);
      expect(d.equal).toBe(false);
      expect(d.patch).toEqual([
        { op: "remove", path: "/list/1", old: 2 },
        { op: "replace", path: "/note", value: "y", old: "x" },
      ]);
      const root = await storeDiffValues(store, await store.values.put(big), await store.values.put(big + "\nmore"));
      expect(root.patch).toEqual([{ op: "replace", path: "", value: big + "\nmore", old: big }]);
      expect(root.lineDiffs[0]!.aRef).toBeDefined();
      expect(applyPatch(big, root.patch)).toBe(big + "\nmore");
    });

    it("refuses bad input with typed errors", async () => {
      const store = await open();
      const one = await store.session("bad").commit({ turn: 1, snapshots: { tool: 1 } });
      await expectCode(storeDiff(store, "not-a-ref", one), "INVALID_REF");
      await expectCode(storeDiff(store, one, "A".repeat(64)), "INVALID_REF");
      await expectCode(storeDiff(store, one, { ref: 42 as never }), "INVALID_REF");
      await expectCode(storeDiff(store, one, "0".repeat(64)), "NOT_FOUND");
      const value = await store.values.put({ format: 2, hello: "world" });
      await expectCode(storeDiff(store, value, one), "INTEGRITY");
      const raw = await store.blobs.put(new Uint8Array([0xc1, 0xc1, 0xc1]));
      await expectCode(storeDiff(store, one, raw), "INTEGRITY");
      await expectCode(storeDiff(store, one, one, { context: -1 }), "INVALID_ARGUMENT");
      await expectCode(storeDiffValues(store, "nope", value), "INVALID_REF");
      await expectCode(storeDiffValues(store, value, "1".repeat(64)), "NOT_FOUND");
      await expectCode(storeCompare(store, { turn: -1, snapshots: {} }, one), "INVALID_ARGUMENT");
    });

    it("a corrupt changed slot is an integrity error, not a wrong diff", async () => {
      const store = await open();
      const s = store.session("corrupt-changed");
      const one = await s.commit({ turn: 1, snapshots: { tool: { a: 1 } } });
      const two = await s.commit({ turn: 2, snapshots: { tool: { a: 2 } } });
      await corruptBlob(store, (await store.checkpoints.manifest(two.ref)).slots.tool!);
      await expectCode(storeDiff(store, one, two), "INTEGRITY");
    });
  });
}

describe("compareValues (in memory)", () => {
  it("keeps JSON Pointer escaping and explicit indexes", () => {
    expect(compareValues({ "a/b": { "~": 1 } }, { "a/b": { "~": 2 } }).patch).toEqual([{ op: "replace", path: "/a~1b/~0", value: 2, old: 1 }]);
    expect(compareValues([1, 2], [1, 2, 3, 4]).patch).toEqual([
      { op: "add", path: "/2", value: 3 },
      { op: "add", path: "/3", value: 4 },
    ]);
    expect(compareValues([0, 1, 2, 9], [0, 2, 9]).patch).toEqual([{ op: "remove", path: "/1", old: 1 }]);
  });

  it("treats -0 and 0, NaN and NaN, and a key holding undefined as cairn does", () => {
    expect(compareValues({ x: 0 }, { x: -0 }).patch).toEqual([{ op: "replace", path: "/x", value: -0, old: 0 }]);
    expect(compareValues({ x: NaN }, { x: NaN }).equal).toBe(true);
    expect(compareValues({}, { x: undefined }).patch).toEqual([{ op: "add", path: "/x", value: undefined }]);
    expect(compareValues(new Map([["a", 1], ["b", 2]]), new Map([["b", 2], ["a", 1]])).equal).toBe(true);
    expect(compareValues(new Set([1, 2]), new Set([2, 1])).equal).toBe(true);
  });

  it("gives long inline strings line diffs, short ones none", () => {
    const long = Array.from({ length: 100 }, (_, i) => `row ${i}: some text that makes the line longer`).join("\n");
    expect(compareValues({ t: "a" }, { t: "b" }).lineDiffs).toEqual([]);
    const { lineDiffs } = compareValues({ t: long }, { t: long.replace("row 50", "row fifty") });
    expect(lineDiffs).toHaveLength(1);
    expect(lineDiffs[0]!.hunks[0]!.lines).toContain("+row fifty: some text that makes the line longer");
    expect(compareValues({ t: long }, { t: long + "!" }, { lineDiffMinLength: 100_000 }).lineDiffs).toEqual([]);
  });

  it("applyPatch refuses operations that do not apply, and supports move, copy and test", () => {
    expect(() => applyPatch({ a: 1 }, [{ op: "remove", path: "/b" }])).toThrow(/patch operation 0 \(remove \/b\) does not apply/);
    expect(() => applyPatch([1], [{ op: "add", path: "/3", value: 1 }])).toThrow(/out of range/);
    expect(() => applyPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow(/differs/);
    expect(applyPatch({ a: { b: 1 } }, [{ op: "copy", from: "/a", path: "/c" }, { op: "move", from: "/a/b", path: "/d" }, { op: "test", path: "/c/b", value: 1 }])).toEqual({
      a: {},
      c: { b: 1 },
      d: 1,
    });
    const withProto = applyPatch<Record<string, unknown>>({}, [{ op: "add", path: "/__proto__", value: { polluted: true } }]);
    expect(Object.getPrototypeOf(withProto)).toBe(Object.prototype);
    expect(Object.hasOwn(withProto, "__proto__")).toBe(true);
  });
});

/** Refs of the large-value blobs (moved-out strings and bytes) in the store. */
async function largeValueRefs(store: Store): Promise<string[]> {
  const rows = await store[DATABASE].execute("SELECT hex(ref) FROM blobs WHERE kind = 'large-value'", []);
  return rows.rows.map((r) => String(r[0]).toLowerCase());
}

/** Corrupts a blob whether it is one row or a chunk list: every chunk it lists is corrupted too. */
async function corruptChunks(store: Store, ref: string): Promise<void> {
  const db = store[DATABASE];
  const rows = await db.execute(
    `WITH RECURSIVE tree(id) AS (SELECT id FROM blobs WHERE ref = unhex(?) UNION SELECT e.dst FROM edges e JOIN tree ON e.src = tree.id)
     SELECT hex(b.ref) FROM blobs b JOIN tree ON b.id = tree.id WHERE b.encoding != 2`,
    [ref],
  );
  for (const row of rows.rows) await corruptBlob(store, String(row[0]).toLowerCase());
}
