/** Backends and helpers shared by the session store tests: a fresh :memory: store and a file store in a temp dir. */
import { join } from "node:path";
import { expect } from "vitest";
import { CairnError, openStore, type Store, type StoreOptions } from "../../../src/index.js";
import { DATABASE } from "../../../src/store.js";
import { tempDir } from "../../support/backends.js";

export interface LocalBackend {
  readonly name: "memory" | "file";
  /** A fresh store. */
  open(options?: StoreOptions): Promise<Store>;
  /** Another store on the same database as the last `open` (file only). */
  reopen?(options?: StoreOptions): Promise<Store>;
  /** Closes every store opened here and removes temp dirs. */
  cleanup(): Promise<void>;
}

export function localBackends(): LocalBackend[] {
  const make = (name: "memory" | "file"): LocalBackend => {
    const opened: Store[] = [];
    const dirs: Array<() => void> = [];
    let path = "";
    const track = async (store: Promise<Store>) => {
      const s = await store;
      opened.push(s);
      return s;
    };
    return {
      name,
      open: (options) => {
        if (name === "memory") return track(openStore({ ...options, url: ":memory:" }));
        const dir = tempDir("cairn-stores-");
        dirs.push(dir.remove);
        path = join(dir.dir, "cairn.db");
        return track(openStore({ ...options, url: `file:${path}` }));
      },
      ...(name === "file" ? { reopen: (options?: StoreOptions) => track(openStore({ ...options, url: `file:${path}` })) } : {}),
      cleanup: async () => {
        for (const store of opened.splice(0)) await store.close().catch(() => {});
        dirs.splice(0).forEach((remove) => remove());
      },
    };
  };
  return [make("memory"), make("file")];
}

/** Awaits `promise` and checks it failed with a CairnError of `code`. */
export async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<CairnError> {
  const run = typeof promise === "function" ? Promise.resolve().then(promise) : promise;
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CairnError);
  expect((error as CairnError).code).toBe(code);
  return error as CairnError;
}

/** Row counts of every table a store writes, to show that a refused call wrote nothing. */
export async function rowCounts(store: Store): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ["blobs", "edges", "history", "sessions", "events", "usage"]) {
    const result = await store[DATABASE].execute(`SELECT count(*) FROM ${table}`);
    counts[table] = Number(result.rows[0]![0]);
  }
  return counts;
}

/** Sum of stored bytes of all blob rows. */
export async function storedBytes(store: Store): Promise<number> {
  const result = await store[DATABASE].execute("SELECT COALESCE(SUM(stored_size), 0) FROM blobs");
  return Number(result.rows[0]![0]);
}
