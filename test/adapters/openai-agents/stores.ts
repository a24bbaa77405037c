/** File stores for the OpenAI Agents tests (vitest only: the child processes import fixtures.ts, not this). */
import { join } from "node:path";
import { afterEach } from "vitest";
import { openStore, type Store } from "../../../src/index.js";
import { tempDir } from "../../support/backends.js";

/**
 * Store files for one test file: `tempDb()` a path in a new temp directory,
 * `open(path)` a file store on it; both undone after each test, with whatever
 * else was pushed on `cleanups`, last first.
 */
export function fileStores(prefix: string): { cleanups: Array<() => Promise<void> | void>; tempDb(): string; open(path: string): Promise<Store> } {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanups,
    tempDb() {
      const dir = tempDir(prefix);
      cleanups.push(dir.remove);
      return join(dir.dir, "cairn.db");
    },
    async open(path) {
      const store = await openStore({ url: `file:${path}` });
      cleanups.push(() => store.close());
      return store;
    },
  };
}
