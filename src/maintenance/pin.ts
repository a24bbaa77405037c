/**
 * Pins: named roots. A pinned blob, and everything reachable from it, is kept
 * by gc for as long as the pin exists.
 */
import type { BlobContext } from "../blob/context.js";
import { CairnError, describe } from "../errors.js";
import { parseRef, type Ref } from "../hash/ref.js";

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
 * Guarantee: the storage floor finds the blob by ref inside the write, so a pin
 * never names a blob that is not stored, even with a gc running; re-pinning the
 * same blob keeps the pin's time.
 * @throws CairnError INVALID_ARGUMENT (bad name), INVALID_REF (malformed ref),
 *   NOT_FOUND (the store lacks `ref`; nothing is written), CLOSED, DATABASE.
 */
export async function pin(ctx: BlobContext, name: string, ref: Ref | string): Promise<PinInfo> {
  const pinName = parsePinName(name);
  const target = parseRef(ref);
  const outcome = await ctx.maintenance.putPin(pinName, target, Date.now());
  if (!outcome.ok) throw new CairnError("NOT_FOUND", `cannot pin ${target}: the store has no blob with that ref`, { ref: target, name: pinName });
  return { name: pinName, ref: target, createdAt: new Date(outcome.createdAt) };
}

/**
 * Removes the pin `name`. Its blob stays until a gc finds it unreachable.
 * Returns true if the pin existed.
 * @throws CairnError INVALID_ARGUMENT (bad name), CLOSED, DATABASE.
 */
export async function unpin(ctx: BlobContext, name: string): Promise<boolean> {
  return ctx.maintenance.removePin(parsePinName(name));
}

/**
 * Every pin, by name. Reads no blob bytes.
 * A pin whose blob is missing (only possible in a damaged store) is left out here
 * and reported by verify().
 * @throws CairnError CLOSED, DATABASE.
 */
export async function listPins(ctx: BlobContext): Promise<PinInfo[]> {
  return (await ctx.maintenance.pins()).map((p) => ({ name: p.name, ref: p.ref, createdAt: new Date(p.createdAt) }));
}
