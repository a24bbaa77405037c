/**
 * Regression tests for issue 9, failures 1, 2, 3 and 6. Each failed on the code
 * before the fix (noted per test) and passes now.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, openStore, unchanged, type Store } from "../../src/index.js";
import { RecordType, type BlobRecord } from "../../src/maintenance/bundle-format.js";
import { tempDir } from "../support/backends.js";
import { assemble, records } from "./bundle-tools.js";
import { dump, expectCode, query, sql, TINY } from "./support.js";

const stores: Store[] = [];
const open = async (options: object = {}) => {
  const store = await openStore({ url: ":memory:", ...TINY, ...options });
  stores.push(store);
  return store;
};

/** A session whose values link moved-out strings and bytes, one of them chunked. */
async function source(): Promise<Store> {
  const store = await open();
  const s = store.session("victim");
  await s.commit({ turn: 1, snapshots: { tool: { output: "t".repeat(3000) + "unique tool output", bytes: new Uint8Array(500).fill(7) }, execution: { messages: Array.from({ length: 40 }, (_, i) => `message ${i} `.repeat(4)) } } });
  return store;
}

async function bundleOf(store: Store): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, done) => (chunks.push(Buffer.from(c)), done()) });
  await store.exportBundle({ to: sink });
  return new Uint8Array(Buffer.concat(chunks));
}

/** Every checkpoint of every session hydrates, through a fresh read of each blob. */
async function hydrateAll(store: Store): Promise<void> {
  for (const info of await store.sessions.list()) {
    for (const h of await store.session(info.id).history()) await store.session(info.id).at(h.seq);
  }
}

afterAll(async () => {
  for (const s of stores) await s.close();
});

describe("issue 9 regressions", () => {
  it("1: a bundle whose value record declares no links (checksum rewritten) cannot make gc lose what a checkpoint needs", async () => {
    // Before: imported cleanly with no edges from the value; verify clean; gc deleted the moved-out blob.
    const from = await source();
    const recs = records(await bundleOf(from));
    let emptied = 0;
    const tampered = recs.map((r) => {
      if (r.type === RecordType.BLOB && r.kind !== "chunk" && r.kind !== "chunk-list" && r.children.length > 0) {
        emptied++;
        return { ...r, children: [] } satisfies BlobRecord;
      }
      return r;
    });
    expect(emptied).toBeGreaterThan(1);
    const to = await open();
    await to.importBundle({ from: assemble(tampered) });
    expect((await to.verify()).findings).toEqual([]);
    await to.gc({ grace: 0 });
    await hydrateAll(to);
    expect((await to.session("victim").latest())?.snapshots).toEqual((await from.session("victim").latest())?.snapshots);
    expect((await to.verify()).findings).toEqual([]);
  });

  it("1: a blob whose kind was changed to manifest or chunk-list is refused, naming it, with nothing written", async () => {
    // Before: accepted; verify then reported the store damaged.
    const from = await source();
    const recs = records(await bundleOf(from));
    const to = await open();
    await to.session("mine").commit({ turn: 1, snapshots: { tool: { mine: true } } });
    const before = await dump(to);
    for (const kind of ["manifest", "chunk-list"]) {
      const target = recs.find((r): r is BlobRecord => r.type === RecordType.BLOB && r.kind === "large-value")!;
      const error = await expectCode(to.importBundle({ from: assemble(recs.map((r) => (r === target ? { ...r, kind } : r))) }), "INTEGRITY");
      expect(error.message).toContain(target.ref);
      expect(error.message).toContain(kind);
      expect(await dump(to)).toBe(before);
    }
  });

  it("2: verify follows the links inside stored values: a lost edge or a lost moved-out blob is a finding", async () => {
    // Before: 0 findings for both, while the second made latest() fail.
    const store = await source();
    const value = await query(store, "SELECT id FROM blobs WHERE kind = 'tool-state'");
    const edge = await query(store, "SELECT e.dst, lower(hex(b.ref)) FROM edges e JOIN blobs b ON b.id = e.dst WHERE e.src = ? AND b.kind = 'large-value' LIMIT 1", [value.rows[0]![0]]);
    const [dstId, dstRef] = [Number(edge.rows[0]![0]), String(edge.rows[0]![1])];
    await sql(store, "DELETE FROM edges WHERE src = ? AND dst = ?", [value.rows[0]![0], dstId]);
    expect((await store.verify()).findings).toEqual([expect.objectContaining({ type: "missing-edge", dst: dstRef })]);
    await sql(store, "DELETE FROM blobs WHERE id = ?", [dstId]);
    const report = await store.verify();
    // (its own parts' edges now dangle too, reported as such)
    expect(report.findings).toEqual(expect.arrayContaining([expect.objectContaining({ type: "missing-blob", ref: dstRef, role: "link" })]));
    await expectCode(store.session("victim").latest(), "NOT_FOUND");
  });

  it("2 (guard, held before too): a chunked value whose root list lies about a size is reported", async () => {
    const store = await open({ profile: "none" });
    await store.session("lists").commit({ turn: 1, snapshots: { execution: { items: Array.from({ length: 3000 }, (_, i) => i * 7919) } } });
    const nodes = await query(store, "SELECT id FROM blobs WHERE kind = 'chunk-list'");
    expect(nodes.rows.length).toBeGreaterThan(0);
    // Swap the data of the root's first two list entries' rows is beyond a single row's damage; instead
    // make the chunked value's root list lie about a size (its hash is only checked whole).
    const root = await query(store, "SELECT id, data FROM blobs WHERE encoding = 2 AND kind = 'execution-state'");
    const data = Uint8Array.from(new Uint8Array(root.rows[0]![1] as ArrayBuffer));
    data[2 + 32 + 1] = data[2 + 32 + 1]! ^ 0x01; // the first entry's size varint
    await sql(store, "UPDATE blobs SET data = ? WHERE id = ?", [data, root.rows[0]![0]]);
    const report = await store.verify();
    expect(report.ok).toBe(false);
  });

  it("3: commit with unchanged(ref) of raw bytes is refused with INVALID_ARGUMENT before anything is written", async () => {
    // Before: accepted; the head then failed with INTEGRITY forever and verify was clean.
    const store = await open();
    const raw = await store.blobs.put(new TextEncoder().encode("not a value: \u00ff raw bytes"));
    const s = store.session("u");
    await s.commit({ turn: 1, snapshots: { tool: { ok: true } } });
    const before = await dump(store);
    const error = await expectCode(s.commit({ turn: 2, snapshots: { tool: unchanged(raw) } }), "INVALID_ARGUMENT");
    expect(error.details).toMatchObject({ ref: raw });
    await expectCode(s.commit({ turn: 2, snapshots: { tool: { inside: [unchanged(raw)] } } }), "INVALID_ARGUMENT");
    await expectCode(store.values.put({ inside: unchanged(raw) }), "INVALID_ARGUMENT");
    expect(await dump(store)).toBe(before);
    // A stored value (from another handle's point of view too) is fine.
    const value = await store.values.put({ a: 1 });
    await s.commit({ turn: 2, snapshots: { tool: unchanged(value) } });
    expect((await s.latest())?.snapshots.tool).toEqual({ a: 1 });
  });

  it("6: a directory as a bundle path is a CairnError, not EISDIR", async () => {
    const dir = tempDir("cairn-trust-");
    try {
      const store = await source();
      const path = join(dir.dir, "a-directory");
      mkdirSync(path);
      const exported = await expectCode(store.exportBundle({ to: path }), "INVALID_ARGUMENT");
      expect(exported.details).toMatchObject({ path });
      const imported = await expectCode(store.importBundle({ from: path }), "INVALID_ARGUMENT");
      expect(imported.details).toMatchObject({ path });
      expect(imported).toBeInstanceOf(CairnError);
    } finally {
      dir.remove();
    }
  });
});
