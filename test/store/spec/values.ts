/** Conformance spec, values: canonical refs, moved-out strings, edges to linked blobs, refused values. */
import { describe, expect, it } from "vitest";
import { DATABASE } from "../../../src/store.js";
import type { Backend } from "../../support/backends.js";
import { expectCode } from "../../support/expect-code.js";
import { sha256Hex, textPayload, uid } from "../../support/random.js";

/** Registers this spec's tests for `backend` (inside its describe block; `backend.cleanup` closes what they open). */
export function valuesSpec(backend: Backend): void {
  describe("values", () => {
    it("gives equal values one ref, whatever their key order", async () => {
      const store = await backend.open();
      const a = await store.values.put({ a: 1, b: [1, 2, { c: "x", d: null }] });
      const b = await store.values.put({ b: [1, 2, { d: null, c: "x" }], a: 1 });
      expect(a).toBe(b);
      expect(await store.values.get(a)).toEqual({ a: 1, b: [1, 2, { c: "x", d: null }] });
    });

    it("moves large strings out and stores each distinct one once", async () => {
      const store = await backend.open({ moveOutThreshold: 16 * 1024 });
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
      const store = await backend.open();
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
      const store = await backend.open();
      const count = async () => Number((await store[DATABASE].execute("SELECT count(*) FROM blobs")).rows[0]![0]);
      const before = await count();
      const error = await expectCode(store.values.put({ ok: "x".repeat(50_000), deep: { fn: () => 1 } }), "UNSUPPORTED_VALUE");
      expect(error.details.path).toBe("/deep/fn");
      expect(await count()).toBe(before);
    });
  });
}
