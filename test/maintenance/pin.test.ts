/** Pins: named roots, typed errors for bad input, nothing written then. */
import { afterAll, describe, expect, it } from "vitest";
import { randomPayload, sha256Hex } from "../support/random.js";
import { backendTitle, dump, expectCode , maintenanceBackends } from "./support.js";

for (const backend of maintenanceBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`pins on ${backendTitle(backend)}`, () => {
    const { open, cleanup } = backend;
    afterAll(cleanup);

    it("creates, moves, lists and removes pins", async () => {
      const store = await open();
      const a = await store.blobs.put(randomPayload(100));
      const b = await store.blobs.put(randomPayload(100));
      const first = await store.pin("release", a);
      expect(first).toMatchObject({ name: "release", ref: a });
      expect(first.createdAt).toBeInstanceOf(Date);
      const again = await store.pin("release", a);
      expect(again.createdAt.getTime()).toBe(first.createdAt.getTime());
      await store.pin("zeta ✓", b);
      expect((await store.listPins()).map((p) => [p.name, p.ref])).toEqual([
        ["release", a],
        ["zeta ✓", b],
      ]);
      await store.pin("release", b);
      expect((await store.listPins()).map((p) => p.ref)).toEqual([b, b]);
      expect(await store.unpin("release")).toBe(true);
      expect(await store.unpin("release")).toBe(false);
      expect((await store.listPins()).map((p) => p.name)).toEqual(["zeta ✓"]);
    });

    it("refuses a ref the store lacks with NOT_FOUND, bad names with INVALID_ARGUMENT, bad refs with INVALID_REF; writes nothing", async () => {
      const store = await open();
      const ref = await store.blobs.put(randomPayload(10));
      const before = await dump(store);
      const absent = sha256Hex("never stored");
      const error = await expectCode(store.pin("x", absent), "NOT_FOUND");
      expect(error.details.ref).toBe(absent);
      for (const name of ["", "a\nb", "\u0000", "x".repeat(257), "\ud800", 42, null]) {
        await expectCode(store.pin(name as never, ref), "INVALID_ARGUMENT");
        await expectCode(store.unpin(name as never), "INVALID_ARGUMENT");
      }
      await expectCode(store.pin("x", "not-a-ref"), "INVALID_REF");
      await expectCode(store.pin("x", ref.toUpperCase()), "INVALID_REF");
      expect(await dump(store)).toBe(before);
      expect(await store.listPins()).toEqual([]);
    });

    it("answers CLOSED once the store is closed", async () => {
      const store = await open();
      const ref = await store.blobs.put(randomPayload(10));
      await store.close();
      await expectCode(store.pin("x", ref), "CLOSED");
      await expectCode(store.listPins(), "CLOSED");
    });
  });
}
