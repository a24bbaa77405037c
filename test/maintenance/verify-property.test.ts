/**
 * Verify versus read: for random small stores with random damage to rows, edges
 * and list nodes, verify() reports a finding whenever some checkpoint fails to
 * hydrate (read through a fresh store handle, so no cache hides the damage).
 * Seeded (VERIFY_SEED, default fixed), the seed logged.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, unchanged, type Store } from "../../src/index.js";
import { prng } from "../support/seeded.js";
import { tempDir } from "../support/backends.js";
import { query, sql, TINY } from "./support.js";

const SEED = Number(process.env.VERIFY_SEED ?? 424242);
const RUNS = Number(process.env.VERIFY_RUNS ?? 60);

/** Damage behind the store's back, chosen by `pick`; returns what was done. */
async function damage(store: Store, pick: (n: number) => number): Promise<string> {
  const rows = (await query(store, "SELECT id, kind, encoding, size, length(data) FROM blobs ORDER BY id")).rows.map((r) => ({ id: Number(r[0]), kind: String(r[1]), encoding: Number(r[2]), size: Number(r[3]), stored: Number(r[4]) }));
  const lists = rows.filter((r) => r.kind === "chunk-list" || r.encoding === 2);
  const target = (pick(3) === 0 && lists.length > 0 ? lists : rows)[pick(lists.length > 0 ? Math.max(lists.length, 1) : rows.length)] ?? rows[pick(rows.length)]!;
  const edges = (await query(store, "SELECT src, dst FROM edges")).rows.map((r) => [Number(r[0]), Number(r[1])] as const);
  switch (pick(9)) {
    case 0:
      await sql(store, "DELETE FROM blobs WHERE id = ?", [target.id]);
      return `row ${target.id} (${target.kind}) deleted`;
    case 1: {
      const data = new Uint8Array((await query(store, "SELECT data FROM blobs WHERE id = ?", [target.id])).rows[0]![0] as ArrayBuffer).slice();
      if (data.length > 0) { const at = pick(data.length); data[at] = data[at]! ^ (1 << pick(8)); }
      await sql(store, "UPDATE blobs SET data = ? WHERE id = ?", [data, target.id]);
      return `row ${target.id} (${target.kind}) byte flipped`;
    }
    case 2:
      await sql(store, "UPDATE blobs SET size = ? WHERE id = ?", [Math.max(0, target.size + [1, -1, 7][pick(3)]!), target.id]);
      return `row ${target.id} (${target.kind}) size changed`;
    case 3:
      if (edges.length === 0) return "nothing";
      {
        const [src, dst] = edges[pick(edges.length)]!;
        await sql(store, "DELETE FROM edges WHERE src = ? AND dst = ?", [src, dst]);
        return `edge ${src}->${dst} deleted`;
      }
    case 4:
      await sql(store, "UPDATE blobs SET kind = ? WHERE id = ?", [["manifest", "chunk-list", "chunk", "raw", "value"][pick(5)], target.id]);
      return `row ${target.id} kind changed`;
    case 5:
      await sql(store, "UPDATE blobs SET encoding = ? WHERE id = ?", [pick(4), target.id]);
      return `row ${target.id} encoding changed`;
    case 6: {
      // Swap the bytes of two rows (each row intact, in the wrong place).
      const other = rows[pick(rows.length)]!;
      await sql(store, "UPDATE blobs SET data = (SELECT data FROM blobs WHERE id = ?) WHERE id = ?", [other.id, target.id]);
      return `row ${target.id} given row ${other.id}'s bytes`;
    }
    case 7:
      await sql(store, "UPDATE blobs SET stored_size = stored_size + 1 WHERE id = ?", [target.id]);
      return `row ${target.id} stored size changed`;
    default:
      await sql(store, "DELETE FROM edges WHERE src = ?", [target.id]);
      return `edges from ${target.id} deleted`;
  }
}

describe("verify versus read", () => {
  const dir = tempDir("cairn-verify-prop-");
  afterAll(() => dir.remove());

  it(`verify reports a finding whenever a checkpoint fails to hydrate (${RUNS} random damaged stores, seed ${SEED})`, async () => {
    console.log(`verify property: VERIFY_SEED=${SEED} VERIFY_RUNS=${RUNS}`);
    const random = prng(SEED);
    const pick = (n: number) => Math.floor(random() * n);
    const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + pick(26))).join("");
    let unreadable = 0;
    for (let run = 0; run < RUNS; run++) {
      const url = `file:${join(dir.dir, `s${run}.db`)}`;
      const options = { ...TINY, profile: pick(2) === 0 ? ("none" as const) : ("max" as const) };
      const store = await openStore({ url, ...options });
      const s = store.session("p");
      const turns = 1 + pick(3);
      for (let turn = 1; turn <= turns; turn++) {
        const prev = await s.latest();
        await s.commit({
          turn,
          snapshots: {
            execution: { items: Array.from({ length: 20 + pick(400) }, (_, i) => (pick(5) === 0 ? text(20 + pick(200)) : i)) },
            tool: prev && pick(2) === 0 ? unchanged(prev.manifest.slots.tool!) : { out: text(pick(600)), raw: new Uint8Array(pick(300)).fill(turn) },
          },
        });
      }
      const done: string[] = [];
      for (let k = 1 + pick(2); k > 0; k--) done.push(await damage(store, pick));
      const report = await store.verify();
      await store.close();
      const fresh = await openStore({ url, ...options });
      let failure: unknown;
      try {
        for (const h of await fresh.session("p").history()) await fresh.session("p").at(h.seq);
      } catch (error) {
        failure = error;
      }
      await fresh.close();
      if (failure !== undefined) {
        unreadable++;
        expect(report.findings.length, `run ${run} (${done.join("; ")}), VERIFY_SEED=${SEED}: read failed with ${String(failure)} but verify found nothing`).toBeGreaterThan(0);
      }
    }
    console.log(`verify property: ${unreadable} of ${RUNS} damaged stores had an unreadable checkpoint; verify reported each`);
    expect(unreadable).toBeGreaterThan(0);
  });
});
