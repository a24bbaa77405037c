/**
 * The public checkpoint store: dehydrate a checkpoint into blobs in one
 * transaction, and hydrate it back.
 */
import { CairnError } from "../errors.js";
import { parseRef, type Ref } from "../hash/ref.js";
import type { BlobContext } from "../blob/context.js";
import { executeWrite } from "../blob/blob-writer.js";
import type { Checkpoint, Manifest, StoredCheckpoint } from "./checkpoint.js";
import { dehydrate, hydrate, readManifest } from "./dehydrate.js";

/** Options for reading a checkpoint. */
export interface GetCheckpointOptions {
  /** Decode only these slots; the others are not read. Default: all. */
  readonly slots?: readonly string[];
}

/**
 * Checks the `slots` option of a read.
 * @throws CairnError INVALID_ARGUMENT unless it is absent or an array of slot names.
 */
export function parseSlots(options: GetCheckpointOptions | undefined): readonly string[] | undefined {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new CairnError("INVALID_ARGUMENT", "read options must be an object such as { slots: [\"tool\"] }", { argument: "options" });
  }
  const slots = options?.slots;
  if (slots !== undefined && (!Array.isArray(slots) || slots.some((s) => typeof s !== "string"))) {
    throw new CairnError("INVALID_ARGUMENT", "options.slots must be an array of slot names", { argument: "slots" });
  }
  return slots;
}

/** Checkpoints by the ref of their manifest. */
export class CheckpointStore {
  readonly #ctx: () => BlobContext;

  /** @internal Created by openStore. */
  constructor(ctx: () => BlobContext) {
    this.#ctx = ctx;
  }

  /**
   * Dehydrates `checkpoint`: every slot becomes a value blob (large strings and
   * byte arrays moved out), the manifest links them, and everything the store
   * lacks is written in one transaction.
   * Guarantee: all or nothing; equal checkpoints get equal refs.
   * @throws CairnError INVALID_ARGUMENT, UNSUPPORTED_VALUE (with details.path), NOT_FOUND
   *   (an `unchanged(ref)` the store does not hold), LIMIT_EXCEEDED. Nothing is written then.
   */
  async put(checkpoint: Checkpoint): Promise<{ ref: Ref; manifest: Manifest; blobsWritten: number; bytesWritten: number }> {
    const ctx = this.#ctx();
    const { plan, ref, manifest } = dehydrate(ctx, checkpoint);
    plan.markRoot(ref);
    const { prepared } = await executeWrite(ctx, plan);
    return { ref, manifest, blobsWritten: prepared.blobsWritten, bytesWritten: prepared.bytesWritten };
  }

  /**
   * Hydrates checkpoint `ref`: all slots, or only `options.slots`.
   * @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY.
   */
  async get(ref: Ref | string, options: GetCheckpointOptions = {}): Promise<StoredCheckpoint> {
    return hydrate(this.#ctx(), parseRef(ref), parseSlots(options));
  }

  /** The manifest of checkpoint `ref`, reading no slot. @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY. */
  async manifest(ref: Ref | string): Promise<Manifest> {
    return readManifest(this.#ctx(), parseRef(ref));
  }
}
