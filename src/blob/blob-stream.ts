/**
 * Blobs of any size, in and out as streams, with memory bounded by a few
 * batches whatever the blob's size.
 *
 * In: the bytes are hashed as they come and cut with the same content-defined
 * chunking a `blobs.put` of the same bytes uses, so the ref, the chunks and the
 * stored rows are the same ones. Chunks are written in bounded batches as the
 * stream goes (each batch one transaction; chunks the store has are touched, not
 * sent again); the root chunk list and its list nodes come last, in one final
 * transaction with their edges.
 *
 * Out: the one chunk-tree walker (src/blob/chunk-tree.ts), pulled a chunk at a time.
 */
import { createHash } from "node:crypto";
import { StreamChunker } from "../codec/chunker.js";
import { ChunkEntryType, type ChunkEntry } from "../codec/chunk-list.js";
import { CairnError } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import type { NewBlobRow } from "../storage/storage.js";
import { executeWrite, rememberStored } from "./blob-writer.js";
import { readBlobChunks } from "./blob-reader.js";
import { buildRootList, chunkingFor, CHUNK_KIND, LARGE_BLOB, type TreePiece } from "./chunk-tree.js";
import type { BlobContext } from "./context.js";
import { compressedForm, Encoding } from "./encoding.js";
import { WritePlan } from "./write-plan.js";

/**
 * Bytes to store as one blob: an async iterable of `Uint8Array` pieces (a Node
 * `Readable` without an encoding is one, yielding Buffers), or a Web `ReadableStream`.
 */
export type BlobSource = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** Chunks gathered before a batch is written. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** How often a stream in progress touches all the chunks it wrote so far (10 minutes). */
const TOUCH_EVERY = 10 * 60 * 1000;

/**
 * Stores the bytes of `source` as one blob of kind `kind`; returns its ref.
 * See {@link BlobStore.putStream}.
 */
export async function putStream(ctx: BlobContext, source: unknown, kind: string): Promise<Ref> {
  const pieces = piecesOf(source);
  const whole = createHash("sha256");
  let size = 0;
  // Until the blob is known to be at least this large, it may be one `put` would
  // store whole or cut with other chunk sizes: keep it, and decide at the end.
  const decided = Math.max(LARGE_BLOB, ctx.chunkAbove + 1, ctx.chunking.min + 1);
  const head: Uint8Array[] = [];
  let writer: ChunkWriter | undefined;
  for await (const piece of pieces) {
    if (!(piece instanceof Uint8Array)) {
      throw new CairnError("INVALID_ARGUMENT", `blobs.putStream: the source yielded ${describeType(piece)}, not a Uint8Array; nothing was rooted`, {
        argument: "source",
        actual: describeType(piece),
      });
    }
    if (piece.byteLength === 0) continue;
    size += piece.byteLength;
    if (size > ctx.maxBlobBytes) {
      throw new CairnError("LIMIT_EXCEEDED", `blobs.putStream: the source is over the ${ctx.maxBlobBytes}-byte limit; nothing was rooted`, {
        limit: ctx.maxBlobBytes,
        actual: size,
      });
    }
    whole.update(piece);
    if (writer) {
      await writer.push(piece);
      continue;
    }
    head.push(piece.slice()); // a private copy: the source may reuse its buffer
    if (size >= decided) {
      writer = new ChunkWriter(ctx, kind);
      for (const held of head.splice(0)) await writer.push(held);
    }
  }
  const ref = whole.digest("hex") as Ref;
  if (!writer || !(await writer.finish(ref, size))) {
    // Small enough (or one chunk): stored exactly as `put` stores the same bytes.
    const bytes = writer ? writer.only() : head.length === 1 ? head[0]! : Buffer.concat(head);
    const plan = new WritePlan();
    plan.markRoot(plan.addBytes(bytes, kind));
    await executeWrite(ctx, plan);
  }
  return ref;
}

/**
 * Cuts a stream into chunks and writes them in batches; at the end writes the
 * root list and its list nodes in one transaction.
 */
class ChunkWriter {
  readonly #ctx: BlobContext;
  readonly #kind: string;
  readonly #chunker: StreamChunker;
  /** Every leaf, in order: the root list is built from these at the end (a few dozen bytes per chunk). */
  readonly #leaves: ChunkEntry[] = [];
  /** Chunks this stream has written or found stored (and touched). */
  readonly #seen = new Set<Ref>();
  /** When every chunk in #seen was last written or touched (ms). */
  #touchedAt = 0;
  /**
   * The pending chunks' bytes, copied out of the chunker's buffers into one
   * buffer reused batch after batch (a batch and one largest chunk): a long
   * stream then leaves no chunk-sized garbage behind for the collector to catch
   * up with, only the pieces its source hands in.
   */
  readonly #arena: Uint8Array;
  /** Where each pending chunk lies in the arena. */
  #pending: Array<{ start: number; end: number }> = [];
  #pendingBytes = 0;
  #flushed = false;
  /** Whether compressing this blob's chunks pays, judged by the first one tried (as `put` judges a blob's chunks). */
  #compresses: boolean | undefined;

  constructor(ctx: BlobContext, kind: string) {
    this.#ctx = ctx;
    this.#kind = kind;
    // The chunk sizes `put` gives a one-off blob of this size (1 MiB or more).
    const params = chunkingFor(ctx.chunking, LARGE_BLOB, false);
    this.#chunker = new StreamChunker(params);
    this.#arena = new Uint8Array(BATCH_BYTES + params.max);
  }

  async push(bytes: Uint8Array): Promise<void> {
    for (const chunk of this.#chunker.push(bytes)) await this.#add(chunk);
  }

  async #add(chunk: Uint8Array): Promise<void> {
    // A chunk is at most the chunking's max, which the arena holds past a full batch.
    const start = this.#pendingBytes;
    this.#arena.set(chunk, start);
    this.#pendingBytes += chunk.byteLength;
    this.#pending.push({ start, end: this.#pendingBytes });
    // The first batch always holds two chunks or more: a blob of one chunk is stored whole.
    if (this.#pendingBytes >= BATCH_BYTES && this.#pending.length > 1) await this.#flush();
  }

  /** The one chunk of a blob that turned out to be a single chunk (a copy: the arena is reused). */
  only(): Uint8Array {
    const { start, end } = this.#pending[0]!;
    return this.#arena.slice(start, end);
  }

  /** Writes the pending chunks the store lacks, in one transaction; touches those it has. */
  async #flush(): Promise<void> {
    const batch = new Map<Ref, Uint8Array>();
    for (const { start, end } of this.#pending) {
      // Views of the arena: written (or refused) before the arena is reused, as the write is awaited.
      const chunk = this.#arena.subarray(start, end);
      const ref = hashBytes(chunk);
      this.#leaves.push({ type: ChunkEntryType.CHUNK, ref, size: chunk.byteLength });
      if (!this.#seen.has(ref)) batch.set(ref, chunk);
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#flushed = true;
    const now = Date.now();
    if (this.#touchedAt === 0) this.#touchedAt = now;
    // A long stream's early chunks are unrooted until the root lands: every
    // TOUCH_EVERY they are all touched again, so a gc's grace period (1 hour by
    // default; keep it above TOUCH_EVERY) keeps protecting them.
    const retouch = now - this.#touchedAt >= TOUCH_EVERY ? [...this.#seen] : [];
    if (retouch.length > 0) this.#touchedAt = now;
    if (batch.size === 0 && retouch.length === 0) return;
    const stored = await this.#ctx.storage.storedRefs(batch.keys());
    const rows: NewBlobRow[] = [];
    for (const [ref, data] of batch) {
      this.#seen.add(ref);
      if (stored.has(ref)) continue;
      rows.push({ ref, kind: CHUNK_KIND, ...this.#storedForm(data), size: data.byteLength, links: [] });
    }
    // Chunks the store has may be old and unreachable: touched, gc's grace period protects them until the root lands.
    const outcome = await this.#ctx.storage.write({ blobs: rows, touch: [...stored, ...retouch], now });
    if (!outcome.ok) throw new CairnError("INTEGRITY", `blobs.putStream: a batch of chunks was refused (${outcome.reason})`, { reason: outcome.reason });
  }

  #storedForm(data: Uint8Array): { encoding: Encoding; data: Uint8Array } {
    if (this.#ctx.profile === "none" || this.#compresses === false) return { encoding: Encoding.RAW, data };
    const packed = compressedForm(data, this.#ctx.profile);
    this.#compresses ??= packed !== undefined;
    return packed ?? { encoding: Encoding.RAW, data };
  }

  /**
   * Writes the rest and roots the blob `ref` of `size` bytes: its root list, and
   * the list nodes the store lacks, in one transaction with their edges. Returns
   * false, having written nothing, when the blob is a single chunk (the caller
   * stores it whole, as `put` does).
   */
  async finish(ref: Ref, size: number): Promise<boolean> {
    for (const chunk of this.#chunker.end()) await this.#add(chunk);
    if (!this.#flushed && this.#pending.length === 1) return false;
    await this.#flush();
    for (let attempt = 0; ; attempt++) {
      if ((await this.#ctx.storage.storedRefs([ref])).has(ref)) {
        // Stored already (same bytes, any layout): touched, as `put` touches a root it finds.
        await this.#ctx.storage.write({ blobs: [], touch: [ref], now: Date.now() });
        break;
      }
      const lists: TreePiece[] = [];
      const root = buildRootList(this.#leaves, lists);
      const stored = await this.#ctx.storage.storedRefs(lists.map((l) => l.ref));
      const rows: NewBlobRow[] = [{ ref, kind: this.#kind, encoding: Encoding.CHUNKED, size, data: root.data, links: root.links }];
      const added = new Set<Ref>();
      for (const list of lists) {
        if (stored.has(list.ref) || added.has(list.ref)) continue;
        added.add(list.ref);
        rows.push({ ref: list.ref, kind: list.kind, encoding: Encoding.RAW, size: list.size, data: list.data, links: list.links });
      }
      const outcome = await this.#ctx.storage.write({ blobs: rows, touch: [], now: Date.now() });
      if (outcome.ok) break;
      // A list node found stored was removed meanwhile (a concurrent gc): ask again, once.
      // The chunks themselves were touched when written or found, so gc's grace period keeps them.
      if (attempt > 0) {
        throw new CairnError("NOT_FOUND", `blobs.putStream: a part of blob ${ref} was removed before its root was written (a gc with no grace period?); nothing was rooted`, { ref });
      }
    }
    rememberStored(this.#ctx, [ref, ...this.#seen]);
    return true;
  }
}

/** What a value is, for an error message: `a string`, `null`, `a Buffer`... never its contents. */
function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== "object" && typeof value !== "function") return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object";
}

/** The pieces of a source, or INVALID_ARGUMENT when it is not one. */
function piecesOf(source: unknown): AsyncIterable<unknown> {
  if (typeof source === "object" && source !== null && !(source instanceof Uint8Array)) {
    // A Web stream is read through its reader (an async iterator is not on every runtime's streams).
    if (typeof (source as ReadableStream).getReader === "function") return readerPieces(source as ReadableStream<unknown>);
    if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") return source as AsyncIterable<unknown>;
  }
  const hint = source instanceof Uint8Array ? " (for bytes in memory, use blobs.put)" : "";
  throw new CairnError("INVALID_ARGUMENT", `blobs.putStream takes an async iterable of Uint8Array, a Node Readable or a Web ReadableStream, not ${describeType(source)}${hint}`, {
    argument: "source",
    actual: describeType(source),
  });
}

async function* readerPieces(stream: ReadableStream<unknown>): AsyncGenerator<unknown> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Stopped early (bad input, over the limit, a failed write): the source is cancelled.
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The bytes of blob `ref` as a Web stream. See {@link BlobStore.getStream}.
 */
export async function getStream(ctx: BlobContext, ref: Ref): Promise<ReadableStream<Uint8Array>> {
  const { chunks } = await readBlobChunks(ctx, ref);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value.bytes);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
