/**
 * Shared setup for the LangGraph adapter tests: savers on fresh cairn stores
 * (a file in a real temp directory, or :memory:), closed and removed afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { openStore, type Store } from "../../../src/index.js";
import { CairnSaver } from "../../../src/adapters/langgraph/index.js";

export type BackendName = "file" | "memory";

/** A store on `backend`: a new database each call. */
export async function freshStore(backend: BackendName): Promise<{ store: Store; url: string; remove: () => Promise<void> }> {
  if (backend === "memory") {
    const store = await openStore({ url: ":memory:" });
    return { store, url: ":memory:", remove: () => store.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), "cairn-langgraph-"));
  const url = `file:${join(dir, "cairn.db")}`;
  const store = await openStore({ url });
  return {
    store,
    url,
    remove: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The conformance suite's initializer: every checkpointer gets a database of its own. */
export function initializer(backend: BackendName): CheckpointSaverTestInitializer<CairnSaver> {
  const cleanups = new Map<CairnSaver, () => Promise<void>>();
  return {
    checkpointerName: `CairnSaver (${backend})`,
    async createCheckpointer() {
      const { store, remove } = await freshStore(backend);
      const saver = new CairnSaver(store);
      cleanups.set(saver, remove);
      return saver;
    },
    async destroyCheckpointer(saver) {
      await cleanups.get(saver)?.();
      cleanups.delete(saver);
    },
    async afterAll() {
      for (const remove of cleanups.values()) await remove();
      cleanups.clear();
    },
  };
}
