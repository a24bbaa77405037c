/** Conformance spec, blobs: content addressing, dedup, typed errors, integrity of raw, chunked and deflated rows. */
import { describe, expect, it } from "vitest";
import { DATABASE } from "../../../src/store.js";
import type { Backend } from "../../support/backends.js";
import { expectCode } from "../../support/expect-code.js";
import { randomPayload, sha256Hex, textPayload } from "../../support/random.js";
import { corrupt } from "./support.js";

/** Registers this spec's tests for `backend` (inside its describe block; `backend.cleanup` closes what they open). */
export function blobsSpec(backend: Backend): void {
  describe("blobs", () => {
    it("names bytes by their SHA-256 and gives them back", async () => {
      const store = await backend.open();
      for (const size of [0, 1, 1000, 40_000, 300_000]) {
        const bytes = randomPayload(size);
        const ref = await store.blobs.put(bytes);
        expect(ref).toBe(sha256Hex(bytes));
        expect(await store.blobs.has(ref)).toBe(true);
        expect(Buffer.from(await store.blobs.get(ref)).equals(Buffer.from(bytes))).toBe(true);
      }
    });

    it("stores a payload once however often it is put", async () => {
      const store = await backend.open();
      const bytes = new TextEncoder().encode(textPayload(100_000));
      const first = await store.blobs.put(bytes);
      const before = await store[DATABASE].execute("SELECT count(*) FROM blobs");
      const second = await store.blobs.put(bytes, { kind: "tool-output" });
      const after = await store[DATABASE].execute("SELECT count(*) FROM blobs");
      expect(second).toBe(first);
      expect(after.rows[0]![0]).toBe(before.rows[0]![0]);
    });

    it("answers bad input with typed errors and writes nothing", async () => {
      const store = await backend.open();
      await expectCode(store.blobs.get("not-a-ref"), "INVALID_REF");
      await expectCode(store.blobs.get("A".repeat(64)), "INVALID_REF");
      await expectCode(store.blobs.get("0".repeat(64)), "NOT_FOUND");
      expect(await store.blobs.has("0".repeat(64))).toBe(false);
      await expectCode(store.blobs.put("text" as never), "INVALID_ARGUMENT");
      await expectCode(store.blobs.put(new Uint8Array(3), { kind: "" }), "INVALID_ARGUMENT");
      const small = await backend.open({ maxBlobBytes: 2048 });
      const big = randomPayload(4096);
      await expectCode(small.blobs.put(big), "LIMIT_EXCEEDED");
      expect(await small.blobs.has(sha256Hex(big))).toBe(false);
    });

    it("refuses corrupt bytes with INTEGRITY naming the expected and actual hash", async () => {
      const store = await backend.open({ profile: "none" });
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
      const store = await backend.open({ profile: "none" });
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
      const store = await backend.open({ profile: "fast" });
      const text = new TextEncoder().encode(textPayload(6_000));
      const ref = await store.blobs.put(text);
      expect((await store.blobs.info(ref))?.encoding).toBe("deflate");
      await store[DATABASE].writeBatch([{ sql: "UPDATE blobs SET size = 100 WHERE ref = unhex(?)", args: [ref] }]);
      await store.sync();
      await expectCode(store.blobs.get(ref), "INTEGRITY");
    });
  });
}
