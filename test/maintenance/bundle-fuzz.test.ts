/**
 * Bundle fuzz: mutated bundles (structural mutations with the checksum and
 * counts rewritten, so only content checks can catch them) are each either
 * refused with a typed CairnError, leaving the target store unchanged, or
 * imported into a store that then verifies clean, hydrates every checkpoint,
 * and still hydrates every checkpoint after gc({ grace: 0 }).
 * Seeded (FUZZ_SEED, default fixed), the seed logged; FUZZ_RUNS sets the count.
 */
import { Readable, Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, openStore, unchanged, type Store } from "../../src/index.js";
import { RecordType, type BlobRecord, type BundleRecord } from "../../src/maintenance/bundle-format.js";
import type { Ref } from "../../src/hash/ref.js";
import { prng } from "../support/seeded.js";
import { assemble, records } from "./bundle-tools.js";
import { dump, TINY } from "./support.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20260901);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const KINDS = ["manifest", "chunk-list", "chunk", "raw", "value", "large-value", "execution-state", "x"];

async function buildSource(): Promise<Store> {
  const store = await openStore({ url: ":memory:", ...TINY });
  const random = prng(SEED);
  const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
  const a = store.session("a");
  const messages: string[] = [];
  for (let turn = 1; turn <= 3; turn++) {
    messages.push(text(90));
    const prev = await a.latest();
    await a.commit({
      turn,
      snapshots: {
        execution: { messages: [...messages], data: Array.from({ length: 120 }, (_, i) => i * turn) },
        tool: turn === 2 && prev ? unchanged(prev.manifest.slots.tool!) : { output: text(400), bytes: new Uint8Array(200).fill(turn) },
      },
    }, { meta: { turn } });
  }
  await store.session("b").commit({ turn: 1, snapshots: { plugin: { note: text(300) } } });
  await store.pin("stream", await store.blobs.putStream(Readable.from([new Uint8Array(1_100_000).map((_, i) => (i * 31 + (i >> 9)) & 0xff)])));
  return store;
}

async function exportAll(store: Store): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  await store.exportBundle({ to: new Writable({ write: (c: Buffer, _e, done) => (chunks.push(Buffer.from(c)), done()) }) });
  return new Uint8Array(Buffer.concat(chunks));
}

/** One structural mutation of the blob records (pick is a seeded choice). */
function mutate(recs: BundleRecord[], pick: (n: number) => number): { name: string; recs: BundleRecord[] } {
  const blobIdx = recs.flatMap((r, i) => (r.type === RecordType.BLOB ? [i] : []));
  const i = blobIdx[pick(blobIdx.length)]!;
  const blob = recs[i] as BlobRecord;
  const other = recs[blobIdx[pick(blobIdx.length)]!] as BlobRecord;
  const out = [...recs];
  const set = (r: BlobRecord) => (out[i] = r);
  const which = pick(10);
  switch (which) {
    case 0:
      set({ ...blob, children: blob.children.filter(() => pick(2) === 0) });
      return { name: "links removed", recs: out };
    case 1:
      set({ ...blob, children: [...blob.children, other.ref] });
      return { name: "link added", recs: out };
    case 2: {
      set({ ...blob, children: other.children });
      out[recs.indexOf(other)] = { ...other, children: blob.children };
      return { name: "links swapped", recs: out };
    }
    case 3:
      set({ ...blob, kind: KINDS[pick(KINDS.length)]! });
      return { name: "kind changed", recs: out };
    case 4:
      set({ ...blob, size: Math.max(0, blob.size + [1, -1, blob.size][pick(3)]!) });
      return { name: "size lied", recs: out };
    case 5: {
      const data = Uint8Array.from(blob.data);
      if (data.length > 0) { const at = pick(data.length); data[at] = data[at]! ^ (1 << pick(8)); }
      set({ ...blob, data });
      return { name: "byte flipped", recs: out };
    }
    case 6:
      out.splice(i, 1);
      return { name: "blob dropped", recs: out };
    case 7:
      set({ ...blob, encoding: pick(4) });
      return { name: "encoding changed", recs: out };
    case 8:
      set({ ...blob, children: [...blob.children].reverse().concat(blob.children.length > 0 ? [blob.children[0]!] : []) });
      return { name: "links duplicated", recs: out };
    default:
      set({ ...blob, kind: other.kind, children: [] });
      return { name: "kind and links from another", recs: out };
  }
}

async function hydrateAll(store: Store): Promise<void> {
  for (const info of await store.sessions.list()) {
    for (const h of await store.session(info.id).history()) await store.session(info.id).at(h.seq);
  }
  for (const pin of await store.listPins()) await store.blobs.get(pin.ref);
}

describe("bundle fuzz", () => {
  const opened: Store[] = [];
  afterAll(async () => {
    for (const s of opened) await s.close().catch(() => {});
  });

  it(`${RUNS} mutated bundles: refused with a typed error and nothing written, or imported whole and safe (seed ${SEED})`, async () => {
    console.log(`bundle fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    const source = await buildSource();
    opened.push(source);
    const original = records(await exportAll(source));
    const random = prng(SEED);
    const pick = (n: number) => Math.floor(random() * n);
    const newTarget = async () => {
      const store = await openStore({ url: ":memory:", ...TINY });
      opened.push(store);
      await store.session("existing").commit({ turn: 1, snapshots: { tool: { mine: "x".repeat(500) } } });
      return { store, before: await dump(store) };
    };
    let target = await newTarget();
    const outcomes = new Map<string, number>();
    for (let run = 0; run < RUNS; run++) {
      let mutated = mutate(original, pick);
      if (pick(4) === 0) mutated = { name: `${mutated.name} + ${mutate(mutated.recs, pick).name}`, recs: mutate(mutated.recs, pick).recs };
      const where = `run ${run} (${mutated.name}), FUZZ_SEED=${SEED}`;
      let refused: unknown;
      try {
        await target.store.importBundle({ from: assemble(mutated.recs) });
      } catch (error) {
        refused = error;
      }
      if (refused !== undefined) {
        expect(refused, where).toBeInstanceOf(CairnError);
        expect(await dump(target.store), where).toBe(target.before);
        outcomes.set(`refused ${(refused as CairnError).code}`, (outcomes.get(`refused ${(refused as CairnError).code}`) ?? 0) + 1);
        continue;
      }
      outcomes.set("accepted", (outcomes.get("accepted") ?? 0) + 1);
      const store = target.store;
      expect((await store.verify()).findings, where).toEqual([]);
      await hydrateAll(store).catch((error: unknown) => expect.fail(`${where}: hydrate after import: ${String(error)}`));
      await store.gc({ grace: 0 });
      await hydrateAll(store).catch((error: unknown) => expect.fail(`${where}: hydrate after gc: ${String(error)}`));
      expect((await store.verify()).findings, where).toEqual([]);
      await store.close();
      target = await newTarget();
    }
    console.log(`bundle fuzz outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    expect(outcomes.get("accepted") ?? 0).toBeGreaterThan(0);
  });
});

export type { Ref };
