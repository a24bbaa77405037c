/** Conformance spec, checkpoints: dehydrate/hydrate, unchanged(ref), malformed input, dedup across sessions. */
import { describe, expect, it } from "vitest";
import { CairnError, unchanged } from "../../../src/index.js";
import type { Backend } from "../../support/backends.js";
import { expectCode } from "../../support/expect-code.js";
import { textPayload, uid } from "../../support/random.js";

/** Registers this spec's tests for `backend` (inside its describe block; `backend.cleanup` closes what they open). */
export function checkpointsSpec(backend: Backend): void {
  describe("checkpoints", () => {
    it("dehydrates into blobs and hydrates back whole, or only the slots asked for", async () => {
      const store = await backend.open();
      const checkpoint = {
        turn: 3,
        snapshots: { tool: { files: ["a.ts"], output: textPayload(40_000) }, plugin: { enabled: ["x"] }, execution: { messages: [{ role: "user", content: "hi" }] } },
        pluginRevision: 7,
        meta: { model: "m" },
      };
      const { ref, manifest } = await store.checkpoints.put(checkpoint);
      expect(Object.keys(manifest.slots).sort()).toEqual(["execution", "plugin", "tool"]);
      const back = await store.checkpoints.get(ref);
      expect(back.turn).toBe(3);
      expect(back.snapshots).toEqual(checkpoint.snapshots);
      expect(back.pluginRevision).toBe(7);
      expect(back.meta).toEqual({ model: "m" });
      const onlyPlugin = await store.checkpoints.get(ref, { slots: ["plugin"] });
      expect(onlyPlugin.snapshots).toEqual({ plugin: { enabled: ["x"] } });
    });

    it("takes unchanged(ref) for a slot and gives the same checkpoint ref as the value itself", async () => {
      const store = await backend.open();
      const tool = { output: textPayload(100_000) };
      const first = await store.checkpoints.put({ turn: 1, snapshots: { tool, execution: { n: 1 } } });
      const viaValue = await store.checkpoints.put({ turn: 2, snapshots: { tool, execution: { n: 2 } } });
      const viaRef = await store.checkpoints.put({ turn: 2, snapshots: { tool: unchanged(first.manifest.slots.tool!), execution: { n: 2 } } });
      expect(viaRef.ref).toBe(viaValue.ref);
      expect(viaRef.blobsWritten).toBe(0);
      expect(() => unchanged("nope")).toThrow(CairnError);
      await expectCode(store.checkpoints.put({ turn: 3, snapshots: { tool: unchanged("f".repeat(64)) } }), "NOT_FOUND");
    });

    it("refuses malformed checkpoints with INVALID_ARGUMENT", async () => {
      const store = await backend.open();
      await expectCode(store.checkpoints.put({ turn: -1, snapshots: {} }), "INVALID_ARGUMENT");
      await expectCode(store.checkpoints.put({ turn: 1.5, snapshots: {} }), "INVALID_ARGUMENT");
      await expectCode(store.checkpoints.put({ turn: 1, snapshots: [] as never }), "INVALID_ARGUMENT");
      await expectCode(store.checkpoints.put({ turn: 1, snapshots: { "": 1 } }), "INVALID_ARGUMENT");
      const error = await expectCode(store.checkpoints.put({ turn: 1, snapshots: { tool: { bad: Symbol("s") } } }), "UNSUPPORTED_VALUE");
      expect(error.details.path).toBe("/snapshots/tool/bad");
      await expectCode(store.checkpoints.get("0".repeat(64)), "NOT_FOUND");
      const notManifest = await store.values.put({ just: "a value" });
      await expectCode(store.checkpoints.get(notManifest), "INTEGRITY");
    });

    it("stores the same large tool output once across checkpoints and sessions", async () => {
      const store = await backend.open();
      const output = textPayload(256 * 1024);
      let first: number | undefined;
      let later = 0;
      for (let s = 0; s < 10; s++) {
        const session = store.session(uid());
        for (let t = 1; t <= 10; t++) {
          const result = await session.commit({ turn: t, snapshots: { tool: { output }, execution: { t, s } } });
          if (first === undefined) first = result.bytesWritten;
          else later = Math.max(later, result.bytesWritten);
        }
      }
      // The first commit stores the output (compressed); none of the 99 others stores it again.
      expect(first!).toBeGreaterThan(25_000);
      expect(later).toBeLessThan(2_000);
    });
  });
}
