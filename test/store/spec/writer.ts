/** Conformance spec, the transactional writer: what vanished after it was confirmed is written again. */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../support/backends.js";
import { sha256Hex, textPayload, uid } from "../../support/random.js";
import { purge } from "./support.js";

/** Registers this spec's tests for `backend` (inside its describe block; `backend.cleanup` closes what they open). */
export function writerSpec(backend: Backend): void {
  describe("the transactional writer", () => {
    it("writes again what vanished after it was confirmed (a concurrent gc), never a dangling link", async () => {
      const store = await backend.open();
      const output = textPayload(64 * 1024);
      const checkpoint = { turn: 1, snapshots: { tool: { output }, execution: { note: uid() } } };
      const one = store.session(uid());
      const first = await one.commit(checkpoint);
      await purge(store, first.ref, [one.id]);
      expect(await store.blobs.has(sha256Hex(output))).toBe(false);
      // The same checkpoint again: its manifest and every blob were confirmed by this store before.
      const again = store.session(uid());
      const second = await again.commit(checkpoint);
      expect(second.ref).toBe(first.ref);
      expect(second.blobsWritten).toBeGreaterThan(0);
      expect((await again.latest())?.snapshots).toEqual(checkpoint.snapshots);
      // A new checkpoint linking to a vanished output: the edge guard catches it.
      await purge(store, second.ref, [again.id]);
      expect(await store.blobs.has(sha256Hex(output))).toBe(false);
      const third = store.session(uid());
      await third.commit({ turn: 2, snapshots: { tool: { output }, execution: { note: uid() } } });
      expect((await third.latest())?.snapshots.tool).toEqual({ output });
      expect(await store.blobs.has(sha256Hex(output))).toBe(true);
    });
  });
}
