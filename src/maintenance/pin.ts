/**
 * Pins: named roots. A pinned blob, and everything reachable from it, is kept
 * by gc for as long as the pin exists.
 */
import { toBytes } from "../storage/libsql/libsql-storage.js";
import { CairnError, describe } from "../errors.js";
import { parseRef, refFromBytes, refToBytes, type Ref } from "../hash/ref.js";
import { CONTEXT, type Store } from "../store.js";

/** A pin: a name that keeps a blob (and all it links to) alive. */
export interface PinInfo {
  readonly name: string;
  readonly ref: Ref;
  /** When the name was last pointed at this blob. */
  readonly createdAt: Date;
}

const MAX_NAME = 256;

/**
 * Checks a pin name: 1 to 256 characters, well-formed Unicode, no control characters.
 * @throws CairnError INVALID_ARGUMENT.
 */
export function parsePinName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME || !name.isWellFormed() || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new CairnError("INVALID_ARGUMENT", `a pin name must be 1 to ${MAX_NAME} printable characters, got ${describe(name)}`, { argument: "name" });
  }
  return name;
}

/**
 * Points the pin `name` at the stored blob `ref` (creating it, or moving it from
 * another blob). Pinning a checkpoint's ref keeps the whole checkpoint.
 *
 * Guarantee: one statement that finds the blob by ref inside its transaction, so
 * a pin never names a blob that is not stored, even with a gc running; re-pinning
 * the same blob keeps the pin's time.
 * @throws CairnError INVALID_ARGUMENT (bad name), INVALID_REF (malformed ref),
 *   NOT_FOUND (the store lacks `ref`; nothing is written), CLOSED, DATABASE.
 */
export async function pin(store: Store, name: string, ref: Ref | string): Promise<PinInfo> {
  const pinName = parsePinName(name);
  const target = parseRef(ref);
  const db = store[CONTEXT]().db;
  const result = await db.writeBatch([
    {
      sql: `INSERT INTO pins (name, blob, created_at) SELECT ?, id, ? FROM blobs WHERE ref = ?
            ON CONFLICT (name) DO UPDATE SET created_at = CASE WHEN blob = excluded.blob THEN created_at ELSE excluded.created_at END, blob = excluded.blob
            RETURNING created_at`,
      args: [pinName, Date.now(), refToBytes(target)],
    },
  ]);
  const row = result[0]!.rows[0];
  if (!row) throw new CairnError("NOT_FOUND", `cannot pin ${target}: the store has no blob with that ref`, { ref: target, name: pinName });
  return { name: pinName, ref: target, createdAt: new Date(Number(row[0])) };
}

/**
 * Removes the pin `name`. Its blob stays until a gc finds it unreachable.
 * Returns true if the pin existed.
 * @throws CairnError INVALID_ARGUMENT (bad name), CLOSED, DATABASE.
 */
export async function unpin(store: Store, name: string): Promise<boolean> {
  const pinName = parsePinName(name);
  const result = await store[CONTEXT]().db.writeBatch([{ sql: "DELETE FROM pins WHERE name = ?", args: [pinName] }]);
  return result[0]!.rowsAffected > 0;
}

/**
 * Every pin, by name. Reads no blob bytes.
 * A pin whose blob is missing (only possible in a damaged store) is left out here
 * and reported by verify().
 * @throws CairnError CLOSED, DATABASE.
 */
export async function listPins(store: Store): Promise<PinInfo[]> {
  const result = await store[CONTEXT]().db.execute("SELECT p.name, b.ref, p.created_at FROM pins p JOIN blobs b ON b.id = p.blob ORDER BY p.name");
  return result.rows.map((row) => ({ name: String(row[0]), ref: refFromBytes(toBytes(row[1])), createdAt: new Date(Number(row[2])) }));
}
