/**
 * exportBundle / importBundle: a round trip between two stores hydrates equal;
 * re-import changes nothing; a damaged bundle or a conflicting session is
 * refused with nothing written.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/index.js";
import { frameRecord, parseRecord, RecordType } from "../../src/maintenance/bundle-format.js";
import type { Ref } from "../../src/hash/ref.js";
import { tempDir } from "../support/backends.js";
import { textPayload } from "../support/random.js";
import { backendTitle, dump, expectCode, query , maintenanceBackends } from "./support.js";

const MARKER = "TAMPER-ME-MARKER";

/** Session "a" (growing history, a shared tool output with a marker, labels, meta), "b", a pin. */
async function source(store: Store, turns = 5): Promise<void> {
  const shared = `${MARKER} ${textPayload(40_000, "bundle tool output")}`;
  const messages: string[] = [];
  for (let turn = 1; turn <= turns; turn++) {
    messages.push(textPayload(2000, `a-${turn}`));
    await store.session("a").commit(
      { turn, snapshots: { tool: { output: shared, n: turn }, execution: { messages: [...messages] }, plugin: { bytes: new Uint8Array(5000).fill(turn) } } },
      { label: `turn ${turn}`, meta: { cost: turn * 0.5, tags: new Set(["x"]) } },
    );
  }
  const b = await store.session("b").commit({ turn: 1, snapshots: { tool: { output: shared }, execution: { other: true } } });
  await store.pin("golden", b.ref);
}

/**
 * Every history row and hydrated checkpoint of a session, for comparison across
 * stores. Commit ids stay with the store that took the commit (a bundle does not
 * carry them; on a server every commit has one), so they are left out.
 */
async function snapshot(store: Store, id: string) {
  const session = store.session(id);
  const history = await session.history();
  return Promise.all(history.map(async ({ commitId: _, ...h }) => ({ ...h, checkpoint: await session.at(h.seq) })));
}

const collect = () => {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, bytes: () => new Uint8Array(Buffer.concat(chunks)) };
};

for (const backend of maintenanceBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`bundles on ${backendTitle(backend)}`, () => {
    const { open, cleanup } = backend;
    const dir = tempDir("cairn-bundle-");
    afterAll(async () => {
      await cleanup();
      dir.remove();
    });

    it("moves a session between stores: it hydrates equal, and re-importing changes nothing", async () => {
      const from = await open({ profile: "none" });
      await source(from);
      const to = await open({ profile: "max" });
      const path = join(dir.dir, `${backend}-a.cairn`);
      const progress: Array<[number, number]> = [];
      const exported = await from.exportBundle({ sessions: ["a"], to: path, onProgress: (d, t) => progress.push([d, t]) });
      expect(exported).toMatchObject({ sessions: ["a"], historyRows: 5, pins: 0 });
      expect(exported.blobs).toBeGreaterThan(10);
      expect(progress.at(-1)).toEqual([exported.blobs, exported.blobs]);
      expect(readdirSync(dir.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);

      const phases = new Set<string>();
      const imported = await to.importBundle({ from: path, onProgress: (_d, _t, phase) => phases.add(phase) });
      expect(phases).toEqual(new Set(["scan", "verify", "write"]));
      expect(imported).toMatchObject({ sessions: ["a"], historyRows: 5, blobs: exported.blobs, blobsPresent: 0, pins: 0 });
      expect(await snapshot(to, "a")).toEqual(await snapshot(from, "a"));
      expect((await to.sessions.list()).map((s) => [s.id, s.head])).toEqual([["a", 5]]);
      expect(await to.session("b").head()).toBe(0);
      expect((await to.verify()).findings).toEqual([]);

      const before = await dump(to);
      const again = await to.importBundle({ from: path });
      expect(again).toMatchObject({ historyRows: 0, blobs: 0, blobsPresent: exported.blobs, pins: 0 });
      expect(await dump(to)).toBe(before);
    });

    it("exports the whole store with its pins to a stream, and imports it from bytes", async () => {
      const from = await open();
      await source(from);
      const sink = collect();
      const exported = await from.exportBundle({ to: sink.stream });
      expect(exported).toMatchObject({ sessions: ["a", "b"], historyRows: 6, pins: 1 });
      const to = await open();
      await to.importBundle({ from: sink.bytes() });
      for (const id of ["a", "b"]) expect(await snapshot(to, id)).toEqual(await snapshot(from, id));
      expect((await to.listPins()).map((p) => [p.name, p.ref])).toEqual((await from.listPins()).map((p) => [p.name, p.ref]));
      expect((await to.verify()).findings).toEqual([]);
      // Exactly the reachable blobs: the source holds nothing else, so the counts match...
      expect(exported.blobs).toBe(Number((await query(from, "SELECT count(*) FROM blobs")).rows[0]![0]));
      // ...and an unrooted blob stays out.
      const unrooted = await from.blobs.put(new TextEncoder().encode("nobody refers to me"));
      const second = collect();
      const again = await from.exportBundle({ to: second.stream });
      expect(again.blobs).toBe(exported.blobs);
      expect(Buffer.from(second.bytes()).includes(Buffer.from("nobody refers to me"))).toBe(false);
      expect(unrooted).toMatch(/^[0-9a-f]{64}$/);
    });

    it("adds the rows a later export has, to a session imported before", async () => {
      const from = await open();
      await source(from, 2);
      const to = await open();
      const early = collect();
      await from.exportBundle({ sessions: ["a"], to: early.stream });
      await to.importBundle({ from: early.bytes() });
      for (let turn = 3; turn <= 4; turn++) await from.session("a").commit({ turn, snapshots: { execution: { turn } } });
      const late = collect();
      await from.exportBundle({ sessions: ["a"], to: late.stream });
      const result = await to.importBundle({ from: late.bytes() });
      expect(result.historyRows).toBe(2);
      expect(await snapshot(to, "a")).toEqual(await snapshot(from, "a"));
    });

    it("refuses a tampered blob with INTEGRITY even when the checksum is rewritten, writing nothing", async () => {
      const from = await open({ profile: "none" });
      await source(from);
      const sink = collect();
      await from.exportBundle({ sessions: ["a"], to: sink.stream });
      const good = sink.bytes();
      const to = await open();
      await to.session("other").commit({ turn: 1, snapshots: { tool: { mine: true } } });
      const before = await dump(to);

      // 1. One bit flipped inside a blob's bytes: the checksum catches it.
      const at = Buffer.from(good).indexOf(MARKER);
      expect(at).toBeGreaterThan(0);
      const flipped = Uint8Array.from(good);
      flipped[at + 3] = flipped[at + 3]! ^ 0x01;
      await expectCode(to.importBundle({ from: flipped }), "INTEGRITY");
      expect(await dump(to)).toBe(before);

      // 2. The same flip with the end record's checksum recomputed: the blob's own hash catches it.
      const end = endRecordOffset(flipped);
      const body = flipped.subarray(0, end);
      const digest = createHash("sha256").update(body).digest("hex") as Ref;
      const forged = new Uint8Array(Buffer.concat([body, frameRecord({ type: RecordType.END, counts: readEndCounts(good), sha256: digest })]));
      const error = await expectCode(to.importBundle({ from: forged }), "INTEGRITY");
      expect(error.details.expected).toMatch(/^[0-9a-f]{64}$/);
      expect(error.details.actual).not.toBe(error.details.expected);
      expect(await dump(to)).toBe(before);

      // 3. Truncated, or not a bundle at all.
      await expectCode(to.importBundle({ from: good.subarray(0, good.length - 10) }), "INTEGRITY");
      await expectCode(to.importBundle({ from: good.subarray(0, good.length / 2) }), "INTEGRITY");
      await expectCode(to.importBundle({ from: new TextEncoder().encode("hello, not a bundle") }), "INVALID_ARGUMENT");
      await expectCode(to.importBundle({ from: join(dir.dir, "no-such-file.cairn") }), "NOT_FOUND");
      expect(await dump(to)).toBe(before);
    });

    it("refuses a session whose history conflicts with CONFLICT, writing nothing", async () => {
      const from = await open();
      await source(from);
      const sink = collect();
      await from.exportBundle({ to: sink.stream });
      const to = await open();
      await to.session("a").commit({ turn: 1, snapshots: { tool: { different: true } } });
      const before = await dump(to);
      const error = await expectCode(to.importBundle({ from: sink.bytes() }), "CONFLICT");
      expect(error.details).toMatchObject({ session: "a", seq: 1 });
      expect(await dump(to)).toBe(before);
      // A pin of the same name on another blob conflicts too.
      const other = await open();
      await other.pin("golden", await other.blobs.put(new Uint8Array([1, 2, 3])));
      const otherBefore = await dump(other);
      await expectCode(other.importBundle({ from: sink.bytes() }), "CONFLICT");
      expect(await dump(other)).toBe(otherBefore);
    });

    it("answers bad arguments with typed errors and leaves no partial file", async () => {
      const from = await open();
      await source(from, 1);
      await expectCode(from.exportBundle({ sessions: ["nope"], to: join(dir.dir, "x.cairn") }), "NOT_FOUND");
      expect(existsSync(join(dir.dir, "x.cairn"))).toBe(false);
      await expectCode(from.exportBundle({ sessions: [], to: join(dir.dir, "x.cairn") }), "INVALID_ARGUMENT");
      await expectCode(from.exportBundle({ sessions: [""], to: join(dir.dir, "x.cairn") }), "INVALID_ARGUMENT");
      await expectCode(from.exportBundle({ to: 5 } as never), "INVALID_ARGUMENT");
      await expectCode(from.exportBundle({ to: join(dir.dir, "missing-dir", "x.cairn") }), "INVALID_ARGUMENT");
      await expectCode(from.exportBundle(undefined as never), "INVALID_ARGUMENT");
      await expectCode(from.importBundle({ from: 5 } as never), "INVALID_ARGUMENT");
      await expectCode(from.importBundle({ from: "", extra: 1 } as never), "INVALID_ARGUMENT");
      // A bundle file written and read back through the file path works.
      const path = join(dir.dir, `${backend}-one.cairn`);
      await from.exportBundle({ to: path });
      writeFileSync(`${path}.copy`, readFileSync(path));
      const to = await open();
      await to.importBundle({ from: `${path}.copy` });
      expect(await snapshot(to, "a")).toEqual(await snapshot(from, "a"));
    });
  });
}

/** Offset of the end record (the last record) in a bundle. */
function endRecordOffset(bundle: Uint8Array): number {
  let pos = 8;
  for (;;) {
    const length = new DataView(bundle.buffer, bundle.byteOffset).getUint32(pos);
    if (pos + 4 + length === bundle.byteLength) return pos;
    pos += 4 + length;
  }
}

/** The counts of a bundle's end record. */
function readEndCounts(bundle: Uint8Array) {
  const record = parseRecord(bundle.subarray(endRecordOffset(bundle) + 4));
  if (record.type !== RecordType.END) throw new Error("no end record");
  return record.counts;
}
