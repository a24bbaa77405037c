/**
 * Dehydrate and hydrate: a checkpoint to a write plan and manifest, and back.
 */
import { BlobLink, decodeValue, LinkTag } from "../codec/value-codec.js";
import { CairnError, describe } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import type { BlobContext } from "../blob/context.js";
import { readBlob } from "../blob/blob-reader.js";
import { readValues, resolveSites } from "../blob/value-reader.js";
import { WritePlan } from "../blob/write-plan.js";
import { kindForSlot, type Checkpoint, type Manifest, type StoredCheckpoint } from "./checkpoint.js";
import { MANIFEST_FORMAT, manifestValue, parseManifest } from "./manifest.js";

const MAX_SLOT_NAME = 128;

/** A dehydrated checkpoint: the blobs to write and the manifest they make. */
export interface Dehydrated {
  readonly plan: WritePlan;
  readonly ref: Ref;
  readonly manifest: Manifest;
}

/**
 * Encodes every slot of `checkpoint` and its manifest into a write plan.
 * Nothing is written; all hashing and encoding happen here.
 * @throws CairnError INVALID_ARGUMENT (malformed checkpoint), UNSUPPORTED_VALUE or
 *   LIMIT_EXCEEDED with `details.path` under `/snapshots/<slot>` or `/meta`.
 */
export function dehydrate(ctx: BlobContext, checkpoint: Checkpoint): Dehydrated {
  validateCheckpoint(checkpoint);
  const plan = new WritePlan();
  const slots: Record<string, Ref> = {};
  for (const name of Object.keys(checkpoint.snapshots).sort()) {
    const value = checkpoint.snapshots[name];
    if (value === undefined) continue;
    if (value instanceof BlobLink && value.tag === LinkTag.VALUE) {
      plan.requireValue(value.ref);
      slots[name] = value.ref;
      continue;
    }
    slots[name] = withPath(`/snapshots/${name}`, () => plan.addValue(value, kindForSlot(name), ctx.moveOutThreshold));
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    turn: checkpoint.turn,
    slots,
    ...(checkpoint.pluginRevision !== undefined ? { pluginRevision: checkpoint.pluginRevision } : {}),
    ...(checkpoint.meta !== undefined ? { meta: checkpoint.meta } : {}),
  };
  const ref = withPath("", () => plan.addValue(manifestValue(manifest), "manifest", ctx.moveOutThreshold));
  return { plan, ref, manifest };
}

function validateCheckpoint(checkpoint: Checkpoint): void {
  if (typeof checkpoint !== "object" || checkpoint === null) {
    throw new CairnError("INVALID_ARGUMENT", `a checkpoint must be an object, got ${describe(checkpoint)}`, { argument: "checkpoint" });
  }
  if (!Number.isSafeInteger(checkpoint.turn) || checkpoint.turn < 0) {
    throw new CairnError("INVALID_ARGUMENT", `checkpoint.turn must be a non-negative integer, got ${describe(checkpoint.turn)}`, { argument: "turn" });
  }
  const snapshots = checkpoint.snapshots;
  if (typeof snapshots !== "object" || snapshots === null || Array.isArray(snapshots)) {
    throw new CairnError("INVALID_ARGUMENT", `checkpoint.snapshots must be an object of slots, got ${describe(snapshots)}`, { argument: "snapshots" });
  }
  for (const name of Object.keys(snapshots)) {
    if (name.length === 0 || name.length > MAX_SLOT_NAME) {
      throw new CairnError("INVALID_ARGUMENT", `slot names must have 1 to ${MAX_SLOT_NAME} characters, got ${describe(name)}`, { argument: "snapshots" });
    }
  }
  const revision = checkpoint.pluginRevision;
  if (revision !== undefined && typeof revision !== "string" && !(typeof revision === "number" && Number.isFinite(revision))) {
    throw new CairnError("INVALID_ARGUMENT", `checkpoint.pluginRevision must be a string or a finite number, got ${describe(revision)}`, { argument: "pluginRevision" });
  }
}

/** Runs `fn`, prefixing the path of any encoding error with `prefix`. */
export function withPath<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof CairnError && typeof error.details.path === "string" && prefix) {
      const path = prefix + error.details.path;
      throw new CairnError(error.code, error.message.replace(` at ${error.details.path || "/"}`, ` at ${path}`), { ...error.details, path }, { cause: error.cause });
    }
    throw error;
  }
}

/**
 * Reads the manifest `ref` without reading any slot.
 * @throws CairnError NOT_FOUND, INTEGRITY (also when the blob is not a manifest).
 */
export async function readManifest(ctx: BlobContext, ref: Ref): Promise<Manifest> {
  const parsed = parseManifest(decodeValue(await readBlob(ctx, ref)), ref);
  // Anything else linked from the manifest (a large meta string) is resolved in place.
  await resolveSites(ctx, parsed.pending);
  return parsed.manifest;
}

/**
 * Reads checkpoint `ref` with the slots asked for (all by default) decoded.
 * Guarantee: every blob read is re-hashed; a slot not asked for is not read.
 * @throws CairnError NOT_FOUND, INTEGRITY.
 */
export async function hydrate(ctx: BlobContext, ref: Ref, slots?: readonly string[]): Promise<StoredCheckpoint> {
  const manifest = await readManifest(ctx, ref);
  const wanted = Object.keys(manifest.slots).filter((name) => slots === undefined || slots.includes(name));
  const values = await readValues(ctx, wanted.map((name) => manifest.slots[name]!));
  const snapshots: Record<string, unknown> = {};
  wanted.forEach((name, i) => (snapshots[name] = values[i]));
  return {
    ref,
    manifest,
    turn: manifest.turn,
    snapshots,
    ...(manifest.pluginRevision !== undefined ? { pluginRevision: manifest.pluginRevision } : {}),
    ...("meta" in manifest ? { meta: manifest.meta } : {}),
  };
}
