/**
 * Links come from content: for every row a normal write stores (values with
 * moved-out strings and byte arrays, chunked values, manifests, list nodes,
 * raw blobs, streams), the links computed from the blob's own bytes
 * (src/blob/content-links.ts) are exactly the edges the writer recorded.
 */
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, unchanged, type Store } from "../../src/index.js";
import { contentOf, linkRefs, logicalContent, mayHoldValueLinks } from "../../src/blob/content-links.js";
import { encodeValue } from "../../src/codec/value-codec.js";
import type { Ref } from "../../src/hash/ref.js";
import { prng } from "../support/seeded.js";
import { query, TINY } from "./support.js";

/** Every blob row of `store` with the refs its edges lead to. */
async function rowsWithEdges(store: Store) {
  const rows = await query(store, "SELECT id, lower(hex(ref)), kind, encoding, size, data FROM blobs ORDER BY id");
  const edges = await query(store, "SELECT s.ref, d.ref FROM edges e JOIN blobs s ON s.id = e.src JOIN blobs d ON d.id = e.dst");
  const bySrc = new Map<string, Set<string>>();
  for (const e of edges.rows) {
    const src = Buffer.from(e[0] as ArrayBuffer).toString("hex");
    const dst = Buffer.from(e[1] as ArrayBuffer).toString("hex");
    bySrc.set(src, (bySrc.get(src) ?? new Set()).add(dst));
  }
  return rows.rows.map((r) => ({
    ref: String(r[1]) as Ref,
    kind: String(r[2]),
    encoding: Number(r[3]),
    size: Number(r[4]),
    data: new Uint8Array(r[5] as ArrayBuffer),
    edges: [...(bySrc.get(String(r[1])) ?? [])].sort(),
  }));
}

describe("links come from content", () => {
  const stores: Store[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it("equal the edges a normal write records, for every kind of row", async () => {
    const store = await openStore({ url: ":memory:", ...TINY });
    stores.push(store);
    const random = prng(9);
    const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const s = store.session("links");
    const first = await s.commit({
      turn: 1,
      snapshots: {
        tool: { output: text(5000), image: bytes(3000), small: "inline" },
        execution: { messages: Array.from({ length: 60 }, (_, i) => ({ i, text: text(40), long: i % 10 === 0 ? text(300) : "" })) },
        plugin: bytes(2000),
      },
    }, { meta: { note: text(20) } });
    const prev = (await s.latest())!;
    await s.commit({ turn: 2, snapshots: { tool: unchanged(prev.manifest.slots.tool!), execution: { nested: unchanged(prev.manifest.slots.execution!), more: text(700) } } });
    await store.values.put({ custom: text(900), list: [bytes(500), unchanged(first.ref)] }, { kind: "my-own-kind" });
    await store.blobs.put(bytes(20_000), { kind: "raw" });
    await store.blobs.putStream(Readable.from([bytes(1_500_000), bytes(700_000)]));
    const rows = await rowsWithEdges(store);
    const kinds = new Set(rows.map((r) => r.kind));
    for (const kind of ["manifest", "tool-state", "execution-state", "plugin-snapshot", "large-value", "chunk", "chunk-list", "raw", "my-own-kind"]) expect(kinds).toContain(kind);
    expect(rows.some((r) => r.encoding === 2 && r.kind === "execution-state")).toBe(true);
    let checked = 0;
    for (const row of rows) {
      const logical = await store.blobs.get(row.ref);
      const computed = linkRefs(contentOf(row, logical).links).sort();
      expect(computed, `${row.kind} ${row.ref} (encoding ${row.encoding})`).toEqual(row.edges);
      checked++;
    }
    expect(checked).toBe(rows.length);
  });

  it("does not trust the kind: a value keeps its links under any kind, and a kind that carries structure must parse", () => {
    const link = "ab".repeat(32) as Ref;
    const value = encodeValue({ a: unchanged(link) }, { threshold: 1 << 30, moveOutString: () => undefined, moveOutBytes: () => link, linked: () => {} });
    expect(mayHoldValueLinks(value)).toBe(true);
    for (const kind of ["raw", "chunk", "large-value", "anything"]) expect(linkRefs(logicalContent(link, kind, value).links)).toEqual([link]);
    expect(() => logicalContent(link, "manifest", value)).toThrow(/is not one/);
    expect(() => logicalContent(link, "chunk-list", value)).toThrow(/is not one/);
    expect(() => logicalContent(link, "execution-state", new Uint8Array([0xc1]))).toThrow(/is not one/);
    expect(logicalContent(link, "raw", new Uint8Array([0xc1])).links).toEqual([]);
  });
});
