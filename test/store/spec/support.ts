/** Helpers of the conformance specs: tampering behind the store's back. */
import type { Store } from "../../../src/index.js";
import { DATABASE } from "../../../src/store.js";

/**
 * Removes checkpoint `ref`, everything it links to and the given sessions' history
 * behind the store's back, as a gc racing a writer could. Touches only these rows,
 * so tests sharing a server database are unaffected.
 */
export async function purge(store: Store, ref: string, sessions: string[]): Promise<void> {
  await store[DATABASE].writeBatch([
    ...sessions.flatMap((id) => [
      { sql: "DELETE FROM history WHERE session = ?", args: [id] },
      { sql: "DELETE FROM sessions WHERE id = ?", args: [id] },
    ]),
    {
      sql: `WITH RECURSIVE tree(id) AS (SELECT id FROM blobs WHERE ref = unhex(?) UNION SELECT e.dst FROM edges e JOIN tree ON e.src = tree.id)
            DELETE FROM blobs WHERE id IN (SELECT id FROM tree)`,
      args: [ref],
    },
    "DELETE FROM edges WHERE src NOT IN (SELECT id FROM blobs) OR dst NOT IN (SELECT id FROM blobs)",
  ]);
  await store.sync();
}

/** Rewrites the stored bytes of one blob behind the store's back. */
export async function corrupt(store: Store, ref: string, mutate: (data: Uint8Array) => Uint8Array): Promise<void> {
  const db = store[DATABASE];
  const row = await db.execute("SELECT data FROM blobs WHERE ref = unhex(?)", [ref]);
  const data = new Uint8Array(row.rows[0]![0] as ArrayBuffer);
  await db.writeBatch([{ sql: "UPDATE blobs SET data = ? WHERE ref = unhex(?)", args: [mutate(data), ref] }]);
  await store.sync();
}
