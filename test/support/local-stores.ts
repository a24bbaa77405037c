/**
 * Stores on the two local backends (a real :memory: database and a file in a
 * temp directory), opened on demand and all closed and removed by `cleanup`.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { CairnError, openStore, type Store, type StoreOptions } from "../../src/index.js";
import { tempDir } from "./backends.js";

export type LocalBackend = "memory" | "file";
export const LOCAL_BACKENDS: readonly LocalBackend[] = ["memory", "file"];

export interface LocalStores {
  readonly name: LocalBackend;
  open(options?: StoreOptions): Promise<Store>;
  /** Opens the database of `store` again as a new handle (file only: a memory database lives in its handle). */
  reopen?(store: Store, options?: StoreOptions): Promise<Store>;
  cleanup(): Promise<void>;
}

export function localStores(name: LocalBackend, prefix = "cairn-test-"): LocalStores {
  const opened: Store[] = [];
  const dirs: Array<() => void> = [];
  const track = (store: Store) => (opened.push(store), store);
  return {
    name,
    open: async (options = {}) => {
      let url = ":memory:";
      if (name === "file") {
        const dir = tempDir(prefix);
        dirs.push(dir.remove);
        url = `file:${join(dir.dir, "cairn.db")}`;
      }
      return track(await openStore({ ...options, url }));
    },
    ...(name === "file" ? { reopen: async (store: Store, options?: StoreOptions) => track(await openStore({ ...options, url: store.url })) } : {}),
    cleanup: async () => {
      for (const store of opened.splice(0)) await store.close().catch(() => {});
      for (const remove of dirs.splice(0)) remove();
    },
  };
}

/** Awaits `promise` and checks it fails with a CairnError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<CairnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CairnError);
  expect((error as CairnError).code).toBe(code);
  return error as CairnError;
}
