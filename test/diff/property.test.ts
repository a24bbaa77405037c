/**
 * diff(a, b) applied to a gives b: fast-check properties over JSON values (applied
 * with rfc6902's own applier, after a JSON round trip of the patch), over every
 * cairn value type (applied with cairn's applyPatch), over every array diff
 * strategy, and end to end through a store with values moved out.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyPatch as rfc6902Apply, type Operation } from "rfc6902";
import { encodeValue } from "../../src/codec/value-codec.js";
import { applyPatch, checkpointView, compareValues } from "../../src/checkpoint/diff.js";
import { ARRAY_DIFF_LIMITS } from "../../src/checkpoint/diff-values.js";
import { backendTitle, cairnValues, cairnValuesWithLarge, check, checkAsync, diffBackends, hex, jsonValues, mutate, storeDiff } from "./support.js";

/** Pairs (a, b): unrelated half the time, b an edited copy of a otherwise. */
const pairs = (values: fc.Arbitrary<unknown>) =>
  fc.oneof(
    fc.tuple(values, values),
    fc.tuple(values, values, fc.integer()).map(([a, donor, seed]) => [a, mutate(a, seed, donor)] as [unknown, unknown]),
    fc.tuple(values, values, fc.integer()).map(([a, donor, seed]) => [a, mutate(a, seed, donor)] as [unknown, unknown]),
  );

/** Canonical equality: equal cairn values have equal canonical bytes. */
const canonical = (value: unknown): string => hex(encodeValue(value));

describe("JSON values: the patch is plain JSON that any RFC 6902 applier applies", () => {
  it("rfc6902.applyPatch(a, JSON round trip of diff(a, b)) deep-equals b", () => {
    check(
      fc.property(pairs(jsonValues), ([a, b]) => {
        const { patch, equal } = compareValues(a, b);
        const wire = JSON.parse(JSON.stringify(patch)) as Operation[];
        expect(wire).toEqual(patch); // nothing lost in JSON
        // rfc6902 cannot replace the document root, so the values sit one level down.
        const doc = { root: structuredClone(a) };
        const rooted = wire.map((op) => ({ ...op, path: `/root${op.path}` }));
        const errors = rfc6902Apply(doc, rooted);
        expect(errors.filter((e) => e !== null)).toEqual([]);
        expect(doc.root).toEqual(b);
        expect(equal).toBe(canonical(a) === canonical(b));
      }),
      400,
    );
  });
});

describe("every cairn value type: applyPatch(a, diff(a, b)) equals b", () => {
  it("holds for Map, Set, Date, BigInt, Uint8Array, undefined, -0 and NaN anywhere", () => {
    check(
      fc.property(pairs(cairnValues), ([a, b]) => {
        const { patch, equal } = compareValues(a, b);
        const before = canonical(a);
        expect(canonical(applyPatch(a, patch))).toBe(canonical(b));
        expect(canonical(a)).toBe(before); // a itself is untouched
        expect(equal).toBe(patch.length === 0);
        expect(equal).toBe(canonical(a) === canonical(b));
      }),
      400,
    );
  });

  it("non-JSON values are leaves: replaced whole, never walked into", () => {
    check(
      fc.property(pairs(cairnValues), ([a, b]) => {
        let current = a;
        for (const op of compareValues(a, b).patch) {
          // The parent of every path, in the value as it is when the operation applies, is an array or a plain object.
          const tokens = op.path.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
          let node: unknown = current;
          for (const token of tokens.slice(0, -1)) node = (node as Record<string, unknown>)[token];
          if (tokens.length > 0) expect(Array.isArray(node) || Object.getPrototypeOf(node) === Object.prototype || Object.getPrototypeOf(node) === null).toBe(true);
          current = applyPatch(current, [op]);
        }
      }),
      200,
    );
  });
});

describe("every array diff strategy gives a correct patch", () => {
  const saved = { ...ARRAY_DIFF_LIMITS };
  afterEach(() => Object.assign(ARRAY_DIFF_LIMITS, saved));
  const arrays = fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.record({ id: fc.integer({ min: 0, max: 3 }), text: fc.constantFrom("x", "y") })), {
    maxLength: 40,
  });
  const run = () =>
    check(
      fc.property(fc.oneof(fc.tuple(arrays, arrays), fc.tuple(arrays, arrays, fc.integer()).map(([a, d, s]) => [a, mutate(a, s, d)] as [unknown, unknown])), ([a, b]) => {
        const { patch } = compareValues({ list: a }, { list: b });
        expect(canonical(applyPatch({ list: a }, patch))).toBe(canonical({ list: b }));
        const doc = structuredClone({ list: a });
        expect(rfc6902Apply(doc, JSON.parse(JSON.stringify(patch))).filter((e) => e !== null)).toEqual([]);
        expect(doc).toEqual({ list: b });
      }),
      300,
    );
  it("rfc6902's Levenshtein (small middles)", run);
  it("jsdiff's Myers (large middles)", () => {
    ARRAY_DIFF_LIMITS.levenshteinCells = 0;
    run();
  });
  it("position by position (too many edits for Myers)", () => {
    ARRAY_DIFF_LIMITS.levenshteinCells = 0;
    ARRAY_DIFF_LIMITS.myersEdits = 0;
    run();
  });
  it("a long history that grew is diffed as appends, whatever the strategy", () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}` }));
    const grown = [...messages, { role: "user", content: "one more" }];
    expect(compareValues(messages, grown).patch).toEqual([{ op: "add", path: "/5000", value: { role: "user", content: "one more" } }]);
    const edited = messages.map((m, i) => (i === 2500 ? { ...m, content: "edited" } : m));
    expect(compareValues(messages, edited).patch).toEqual([{ op: "replace", path: "/2500/content", value: "edited", old: "message 2500" }]);
    const shuffled = [...messages].reverse();
    const { patch } = compareValues(messages, shuffled);
    expect(canonical(applyPatch(messages, patch))).toBe(canonical(shuffled));
  });
});

for (const backend of diffBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`checkpoints in a ${backendTitle(backend)} store (values moved out above 64 bytes)`, () => {
    afterAll(() => backend.cleanup());

    it("applyPatch(view(a), store.diff(a, b).patch) equals view(b), and each slot's patch turns slot a into slot b", async () => {
      const store = await backend.open({ moveOutThreshold: 64 });
      const slotNames = fc.constantFrom("tool", "plugin", "execution", "a/b", "x~y");
      const slots = fc.dictionary(slotNames, cairnValuesWithLarge.filter((v) => v !== undefined), { maxKeys: 4 });
      const checkpoint = fc.record(
        {
          turn: fc.integer({ min: 0, max: 3 }),
          snapshots: slots,
          pluginRevision: fc.oneof(fc.constant(undefined), fc.constantFrom(1, 2, "r1")),
          meta: fc.oneof(fc.constant(undefined), cairnValuesWithLarge.filter((v) => v !== undefined)),
        },
        { requiredKeys: ["turn", "snapshots"] },
      );
      const related = fc.tuple(checkpoint, checkpoint, fc.integer()).map(([a, donor, seed]) => {
        // b keeps some slots as they are (same ref), edits some, drops and adds others.
        const snapshots: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(a.snapshots)) {
          const r = Math.abs(seed + name.length) % 4;
          if (r === 0) continue;
          snapshots[name] = r === 1 ? value : mutate(value, seed, donor.snapshots);
        }
        for (const [name, value] of Object.entries(donor.snapshots)) if (!(name in a.snapshots)) snapshots[name] = value;
        const b = { ...donor, snapshots };
        return [a, b] as const;
      });
      let session = 0;
      await checkAsync(
        fc.asyncProperty(fc.oneof(related, fc.tuple(checkpoint, checkpoint)), async ([a, b]) => {
          const s = store.session(`p${session++}`);
          const ra = await s.commit(a);
          const rb = await s.commit(b);
          const d = await storeDiff(store, ra, rb);
          const va = checkpointView(await store.checkpoints.get(ra.ref));
          const vb = checkpointView(await store.checkpoints.get(rb.ref));
          expect(canonical(applyPatch(va, d.patch))).toBe(canonical(vb));
          expect(d.equal).toBe(ra.ref === rb.ref);
          for (const [name, slot] of Object.entries(d.slots)) {
            if (slot.status !== "changed") continue;
            const prefix = `/snapshots/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`;
            const relative = slot.patch.map((op) => ({ ...op, path: op.path.slice(prefix.length) }));
            expect(canonical(applyPatch(va.snapshots[name], relative))).toBe(canonical(vb.snapshots[name]));
          }
        }),
        60,
      );
    });
  });
}
