/** stats(): exact figures on a workload whose every blob is known. */
import { afterAll, describe, expect, it } from "vitest";
import { encodeValue } from "../../src/codec/value-codec.js";
import { textPayload } from "../support/random.js";
import { backendTitle, query , maintenanceBackends } from "./support.js";

for (const backend of maintenanceBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`stats on ${backendTitle(backend)}`, () => {
    const { open, cleanup } = backend;
    afterAll(cleanup);

    it("counts sessions, checkpoints and blobs by kind, and computes the dedup ratio exactly", async () => {
      const store = await open({ profile: "none" });
      const tool = { files: ["a.ts", "b.ts"], cwd: "/repo" };
      const a = store.session("a");
      const manifests: number[] = [];
      const executions: number[] = [];
      for (let step = 1; step <= 3; step++) {
        const execution = { step, note: "x".repeat(step * 10) };
        const { ref } = await a.commit({ turn: step, snapshots: { tool, execution } });
        manifests.push((await store.blobs.get(ref)).byteLength);
        executions.push(encodeValue(execution).byteLength);
      }
      await a.fork("b"); // shares all three checkpoints
      const toolSize = encodeValue(tool).byteLength;

      const s = await store.stats();
      expect(s.sessions).toBe(2);
      expect(s.checkpoints).toBe(6);
      expect(s.pins).toBe(0);
      // Each manifest links its two slot values.
      expect(s.edges).toBe(6);
      const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
      expect(s.byKind).toEqual({
        manifest: { count: 3, logicalBytes: sum(manifests), storedBytes: sum(manifests) },
        "tool-state": { count: 1, logicalBytes: toolSize, storedBytes: toolSize },
        "execution-state": { count: 3, logicalBytes: sum(executions), storedBytes: sum(executions) },
      });
      const stored = sum(manifests) + toolSize + sum(executions);
      expect(s.blobs).toEqual({ count: 7, logicalBytes: stored, storedBytes: stored });
      expect(s.logicalBytes).toBe(stored);
      expect(s.storedBytes).toBe(stored);
      // Every history row counts its manifest and both slot values; each checkpoint is in two sessions.
      const referenced = 2 * (sum(manifests) + 3 * toolSize + sum(executions));
      expect(s.referencedBytes).toBe(referenced);
      expect(s.dedupRatio).toBe(referenced / stored);
      expect(s.compressionRatio).toBe(1);
    });

    it("counts a chunked blob's logical size once, its chunks as stored bytes, and compression over single rows", async () => {
      const store = await open({ profile: "fast" });
      const text = textPayload(100_000, "stats");
      const bytes = new TextEncoder().encode(text);
      const size = bytes.byteLength;
      const ref = await store.blobs.put(bytes, { kind: "tool-output" });
      await store.pin("p", ref);
      const s = await store.stats();
      const chunks = await query(store, "SELECT count(*), sum(size), sum(stored_size) FROM blobs WHERE kind = 'chunk'");
      const [count, logical, storedChunks] = Array.from(chunks.rows[0]! as ArrayLike<unknown>, Number) as [number, number, number];
      const root = await query(store, "SELECT stored_size FROM blobs WHERE kind = 'tool-output'");
      expect(s.byKind["tool-output"]).toEqual({ count: 1, logicalBytes: size, storedBytes: Number(root.rows[0]![0]) });
      expect(s.byKind.chunk).toEqual({ count, logicalBytes: logical, storedBytes: storedChunks });
      expect(logical).toBe(size);
      expect(s.logicalBytes).toBe(size);
      expect(s.storedBytes).toBe(storedChunks + Number(root.rows[0]![0]));
      expect(s.compressionRatio).toBe(size / storedChunks);
      expect(s.compressionRatio!).toBeGreaterThan(2);
      expect(s.pins).toBe(1);
      expect(s.referencedBytes).toBe(0);
      expect(s.dedupRatio).toBe(0);
    });

    it("reports null ratios for an empty store", async () => {
      const s = await (await open()).stats();
      expect(s).toMatchObject({ sessions: 0, checkpoints: 0, storedBytes: 0, logicalBytes: 0, referencedBytes: 0, dedupRatio: null, compressionRatio: null });
    });
  });
}
