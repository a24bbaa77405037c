/**
 * Shared setup for the LangGraph adapter tests: savers on fresh cairn stores
 * (a file in a real temp directory, or :memory:), closed and removed afterwards.
 */
import type { CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import type { Store } from "../../../src/index.js";
import { backends, type BackendName as RegistryName } from "../../support/backends.js";
import { CairnSaver } from "../../../src/adapters/langgraph/index.js";

/** The LangGraph validation suite runs once per file (validation-*.test.ts); these are its backends. */
export type BackendName = Extract<RegistryName, "file" | "memory">;

/** A store on `backend` of the one registry: a new database each call. */
export async function freshStore(backend: BackendName): Promise<{ store: Store; url: string; remove: () => Promise<void> }> {
  const found = backends({ isolated: true, prefix: "cairn-langgraph-" }).find((b) => b.name === backend)!;
  const store = await found.open();
  return { store, url: store.url, remove: () => found.cleanup() };
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
