/**
 * The public blob and value stores: put, get and has over refs.
 */
import { CairnError } from "../errors.js";
import { parseRef, type Ref } from "../hash/ref.js";
import type { BlobContext } from "./context.js";
import { blobInfo, readBlob, type BlobInfo } from "./blob-reader.js";
import { executeWrite } from "./blob-writer.js";
import { getStream, putStream, type BlobSource } from "./blob-stream.js";
import { readValue } from "./value-reader.js";
import { WritePlan } from "./write-plan.js";

/** Options for storing a blob or value. */
export interface PutOptions {
  /** What the blob is for (`tool-output`, `raw`, ...): metadata, never part of the ref. */
  readonly kind?: string;
}

function parseKind(options: PutOptions | undefined, fallback: string): string {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new CairnError("INVALID_ARGUMENT", "put options must be an object such as { kind: \"tool-output\" }", { argument: "options" });
  }
  const kind = options?.kind ?? fallback;
  if (typeof kind !== "string" || kind.length === 0 || kind.length > 64) {
    throw new CairnError("INVALID_ARGUMENT", `kind must be a non-empty string of at most 64 characters`, { argument: "kind", actual: String(kind) });
  }
  return kind;
}

/** Immutable bytes named by their SHA-256. */
export class BlobStore {
  readonly #ctx: () => BlobContext;

  /** @internal Created by openStore. */
  constructor(ctx: () => BlobContext) {
    this.#ctx = ctx;
  }

  /**
   * Stores `bytes` and returns their ref, the lowercase hex SHA-256 of the bytes.
   * Guarantee: idempotent; bytes the store already has are not written again; the
   * ref never depends on compression or chunking.
   * @throws CairnError INVALID_ARGUMENT (not a Uint8Array, bad kind), LIMIT_EXCEEDED.
   * @example const ref = await store.blobs.put(new TextEncoder().encode("hello"));
   */
  async put(bytes: Uint8Array, options?: PutOptions): Promise<Ref> {
    if (!(bytes instanceof Uint8Array)) {
      throw new CairnError("INVALID_ARGUMENT", "blobs.put takes a Uint8Array", { argument: "bytes", actual: typeof bytes });
    }
    const kind = parseKind(options, "raw");
    const plan = new WritePlan();
    const ref = plan.markRoot(plan.addBytes(bytes, kind));
    await executeWrite(this.#ctx(), plan);
    return ref;
  }

  /**
   * Stores the bytes of `source` as one blob, reading it as it comes, and returns
   * their ref: the SHA-256 of the whole byte sequence, the same ref (and the same
   * stored chunks) `put` gives for the same bytes, so chunks the store has are
   * not written again.
   *
   * `source` is an async iterable of `Uint8Array` pieces, a Node `Readable` (no
   * encoding set: it yields Buffers) or a Web `ReadableStream<Uint8Array>`; pieces
   * of any size are fine, and a piece may be reused by the source once it is handed over.
   *
   * Memory stays bounded whatever the size: the bytes are cut into content-defined
   * chunks as they come, and the chunks the store lacks are written in batches of
   * about 4 MiB, each its own transaction. The blob's root chunk list and its list
   * nodes are written last, in one transaction with their edges: the blob exists
   * (and `has(ref)` is true) only once that lands. Until then its chunks are
   * unrooted rows, like any blob nothing refers to yet: gc's grace period (one
   * hour by default) protects them, so a concurrent gc cannot remove them from
   * under the stream, and a stream that fails or is abandoned leaves only
   * unrooted chunks, which a later gc reclaims. Blobs under 1 MiB (and under the
   * store's `chunkAbove`) are gathered and written exactly as `put` writes them.
   *
   * @throws CairnError INVALID_ARGUMENT (`source` is not one of those, or yields
   *   something other than a Uint8Array; bad kind), LIMIT_EXCEEDED (more than the
   *   store's `maxBlobBytes`). Nothing is rooted then, and the source is cancelled
   *   (a Node stream destroyed). An error the source itself raises is rethrown as it is.
   * @example const ref = await store.blobs.putStream(fs.createReadStream("big.bin"));
   */
  async putStream(source: BlobSource, options?: PutOptions): Promise<Ref> {
    const kind = parseKind(options, "raw");
    return putStream(this.#ctx(), source, kind);
  }

  /**
   * The bytes of blob `ref` as a Web `ReadableStream` (async iterable in Node;
   * `Readable.fromWeb` makes it a Node stream), pulled a chunk at a time, so
   * memory stays bounded whatever the blob's size.
   *
   * Verified as it goes: every chunk is hashed against its own ref before it is
   * emitted, and the SHA-256 of the whole is computed along the way; the last
   * chunk is held back until that hash equals `ref`. A corrupt or missing row
   * (or a chunk list that names other, valid chunks) errors the stream with
   * CairnError INTEGRITY (details.expected and details.actual for a wrong whole),
   * so the stream never closes normally with bytes whose SHA-256 is not `ref`.
   * Bytes already read before such an error were each checked against their own
   * chunk's ref, but only a stream that closes normally is the blob: a consumer
   * writing to a file should treat an errored stream as no blob at all.
   *
   * The blob's row is read (and its size checked against `maxBlobBytes`) before
   * the stream is returned; cancelling the stream stops the reads.
   * @throws CairnError INVALID_REF, NOT_FOUND, LIMIT_EXCEEDED; the stream: INTEGRITY.
   * @example for await (const chunk of await store.blobs.getStream(ref)) process.stdout.write(chunk);
   */
  async getStream(ref: Ref | string): Promise<ReadableStream<Uint8Array>> {
    return getStream(this.#ctx(), parseRef(ref));
  }

  /**
   * The bytes of blob `ref`.
   * Guarantee: the returned bytes hash to `ref`, or this throws.
   * @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY (details.expected, details.actual).
   */
  async get(ref: Ref | string): Promise<Uint8Array> {
    return readBlob(this.#ctx(), parseRef(ref));
  }

  /** Whether blob `ref` is stored. Reads no blob bytes. @throws CairnError INVALID_REF. */
  async has(ref: Ref | string): Promise<boolean> {
    const parsed = parseRef(ref);
    return (await this.#ctx().storage.storedRefs([parsed])).has(parsed);
  }

  /** Kind, sizes and encoding of blob `ref`, or undefined. Reads no blob bytes. */
  async info(ref: Ref | string): Promise<BlobInfo | undefined> {
    return blobInfo(this.#ctx(), parseRef(ref));
  }
}

/** Any supported value, stored as canonical MessagePack. */
export class ValueStore {
  readonly #ctx: () => BlobContext;

  /** @internal Created by openStore. */
  constructor(ctx: () => BlobContext) {
    this.#ctx = ctx;
  }

  /**
   * Stores `value` and returns its ref: the SHA-256 of its canonical MessagePack
   * (object keys sorted), so `{a:1,b:2}` and `{b:2,a:1}` share one ref. Strings and
   * byte arrays of at least the store's move-out threshold are stored as blobs of
   * their own and linked, so each distinct large payload is stored once.
   * @throws CairnError UNSUPPORTED_VALUE or LIMIT_EXCEEDED with `details.path`; nothing is written then.
   */
  async put(value: unknown, options?: PutOptions): Promise<Ref> {
    const kind = parseKind(options, "value");
    const ctx = this.#ctx();
    const plan = new WritePlan();
    const ref = plan.markRoot(plan.addValue(value, kind, ctx.moveOutThreshold));
    await executeWrite(ctx, plan);
    return ref;
  }

  /**
   * The value stored under `ref`, with moved-out parts put back.
   * @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY.
   */
  async get<T = unknown>(ref: Ref | string): Promise<T> {
    return (await readValue(this.#ctx(), parseRef(ref))) as T;
  }
}
