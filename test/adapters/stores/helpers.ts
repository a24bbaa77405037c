/** Backends and helpers shared by the session store tests. */
import type { Store } from "../../../src/index.js";
import { DATABASE } from "../../../src/store.js";
import { backends, type Backend } from "../../support/backends.js";

export type { Backend } from "../../support/backends.js";
export { backendTitle } from "../../support/backends.js";
export { expectCode } from "../../support/expect-code.js";

/**
 * The session store tests' backends: every backend of the registry, each
 * `open` a database of its own (the tests count the rows of whole tables).
 */
export function storeBackends(): Backend[] {
  return backends({ isolated: true, prefix: "cairn-stores-" });
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
