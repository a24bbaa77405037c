/**
 * Helpers for the maintenance tests: stores on every backend, tampering, table dumps.
 *
 * Maintenance looks at the whole database (verify, gc, stats, dumps), so its
 * suites take the registry's backends `isolated`: every opened store has a
 * database of its own, on the server backends too (a private sqld each).
 */
import { createHash } from "node:crypto";
import type { Store, StoreOptions } from "../../src/index.js";
import { DATABASE } from "../../src/store.js";
import { backends, backendsWith, type Backend, type Capability } from "../support/backends.js";

export { expectCode } from "../support/expect-code.js";
export { backendTitle, type Backend } from "../support/backends.js";

/** Every backend, each `open` a fresh database of its own. */
export const maintenanceBackends = (): Backend[] => backends({ isolated: true, prefix: "cairn-maint-" });
/** The backends with `capability`, each `open` a fresh database of its own. */
export const maintenanceBackendsWith = (capability: Capability): Backend[] => backendsWith(capability, { isolated: true, prefix: "cairn-maint-" });

/** Runs SQL behind the store's back (through its own client, so on a replica it goes to the primary), then syncs. */
export async function sql(store: Store, statement: string, args: unknown[] = []) {
  const [result] = await store[DATABASE].writeBatch([{ sql: statement, args: args as never }]);
  await store.sync();
  return result!;
}

/** Reads with SQL behind the store's back. */
export async function query(store: Store, statement: string, args: unknown[] = []) {
  return store[DATABASE].execute(statement, args as never);
}

/** Rewrites the stored bytes of blob `ref`. */
export async function corrupt(store: Store, ref: string, mutate: (data: Uint8Array) => Uint8Array): Promise<void> {
  const row = await query(store, "SELECT data FROM blobs WHERE ref = unhex(?)", [ref]);
  const data = new Uint8Array(row.rows[0]![0] as ArrayBuffer);
  await sql(store, "UPDATE blobs SET data = ? WHERE ref = unhex(?)", [mutate(data), ref]);
}

/** Flips one bit of byte `at`. */
export const flip = (at: number) => (data: Uint8Array) => {
  const copy = Uint8Array.from(data);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
};

/** Makes every blob (or those matching `where`) look `ms` older. */
export async function age(store: Store, ms: number, where = "true", args: unknown[] = []): Promise<void> {
  await sql(store, `UPDATE blobs SET created_at = created_at - ? WHERE ${where}`, [ms, ...args]);
}

/** A digest of every row of every table cairn maintains: equal digests, equal stores. */
export async function dump(store: Store): Promise<string> {
  const hash = createHash("sha256");
  for (const table of [
    "SELECT id, hex(ref), kind, encoding, size, stored_size, created_at, hex(data) FROM blobs ORDER BY id",
    "SELECT src, dst FROM edges ORDER BY src, dst",
    "SELECT id, head, created_at, updated_at FROM sessions ORDER BY id",
    "SELECT session, seq, manifest, turn, label, hex(meta), created_at FROM history ORDER BY session, seq",
    "SELECT name, blob, created_at FROM pins ORDER BY name",
  ]) {
    const result = await query(store, table);
    hash.update(JSON.stringify(result.rows.map((r) => Array.from(r as ArrayLike<unknown>))));
  }
  return hash.digest("hex");
}

/** Refs of every stored blob. */
export async function allRefs(store: Store): Promise<Set<string>> {
  const result = await query(store, "SELECT lower(hex(ref)) FROM blobs");
  return new Set(result.rows.map((r) => String(r[0])));
}

/**
 * Refs reachable from the roots (history rows and pins), computed in JavaScript
 * by a breadth-first walk over the edges table: independent of gc's SQL.
 */
export async function reachableRefs(store: Store): Promise<Set<string>> {
  const edges = await query(store, "SELECT src, dst FROM edges");
  const children = new Map<number, number[]>();
  for (const r of edges.rows) {
    const src = Number(r[0]);
    children.set(src, [...(children.get(src) ?? []), Number(r[1])]);
  }
  const roots = await query(store, "SELECT manifest FROM history UNION SELECT blob FROM pins");
  const seen = new Set<number>();
  const queue = roots.rows.map((r) => Number(r[0]));
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    queue.push(...(children.get(id) ?? []));
  }
  const refs = await query(store, "SELECT id, lower(hex(ref)) FROM blobs");
  return new Set(refs.rows.filter((r) => seen.has(Number(r[0]))).map((r) => String(r[1])));
}

/** A store's options that make small values chunk and move out, so small tests exercise every path. */
export const TINY: StoreOptions = { moveOutThreshold: 64, chunkAbove: 256, chunking: { min: 64, avg: 128, max: 256 } };
