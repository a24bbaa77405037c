/**
 * The checkpoint vocabulary: what a runtime commits, what cairn stores for it
 * (the manifest), and the reference that marks a slot as unchanged.
 */
import { BlobLink, LinkTag } from "../codec/value-codec.js";
import { parseRef, type Ref } from "../hash/ref.js";

/** The snapshots of a checkpoint by slot. The three named slots are conventional; any other name works too. */
export interface Snapshots {
  tool?: unknown;
  plugin?: unknown;
  execution?: unknown;
  [slot: string]: unknown;
}

/** The full state of an agent session after a turn, as a runtime hands it to cairn. */
export interface Checkpoint {
  /** The turn this state is after: a non-negative integer. */
  turn: number;
  /** One value per slot. A slot may hold {@link unchanged}(ref) to reuse a stored value. */
  snapshots: Snapshots;
  /** Revision of the plugin snapshot format, for runtimes that version it. */
  pluginRevision?: string | number;
  /** Any value the runtime wants kept with the state (part of the checkpoint's identity). */
  meta?: unknown;
}

/** The small stored value that is a checkpoint: the turn, one ref per slot, revision and meta. */
export interface Manifest {
  readonly format: 1;
  readonly turn: number;
  readonly slots: Readonly<Record<string, Ref>>;
  readonly pluginRevision?: string | number;
  readonly meta?: unknown;
}

/** A checkpoint read back, with the ref of its manifest and the manifest itself. */
export interface StoredCheckpoint extends Checkpoint {
  readonly ref: Ref;
  readonly manifest: Manifest;
}

/** A checkpoint read back from a session's history. */
export interface SessionCheckpoint extends StoredCheckpoint {
  readonly seq: number;
}

/**
 * A reference to a value already stored, for a slot (or any place inside a value)
 * that has not changed: it is neither re-encoded nor re-hashed. It is a class
 * instance, so it can never be confused with a string that looks like a ref.
 *
 * Guarantee: a checkpoint holding `unchanged(ref)` in a slot has exactly the same
 * ref as one holding the value itself.
 * @throws CairnError INVALID_REF when `ref` is not a ref.
 * @example
 * const prev = await session.latest();
 * await session.commit({ turn: 8, snapshots: { tool: unchanged(prev.manifest.slots.tool), execution } });
 */
export function unchanged(ref: Ref | string): BlobLink {
  return new BlobLink(LinkTag.VALUE, parseRef(ref));
}

/** The kind recorded for a slot's value blob. */
export function kindForSlot(slot: string): string {
  switch (slot) {
    case "tool":
      return "tool-state";
    case "plugin":
      return "plugin-snapshot";
    case "execution":
      return "execution-state";
    default:
      return "snapshot";
  }
}
