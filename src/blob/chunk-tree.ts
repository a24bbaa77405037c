/**
 * The chunk tree: how a chunked blob is cut, listed and walked back. Part of the
 * on-disk format, and its one home.
 *
 * A chunked row's data is a chunk list (src/codec/chunk-list.ts). Leaf entries
 * name chunks (rows of kind `chunk`); list entries name list nodes (rows of kind
 * `chunk-list` whose logical bytes are a chunk list). A root list longer than
 * {@link MAX_ROOT_ENTRIES} is grouped into list nodes at content-defined
 * boundaries, level by level.
 *
 * Building: {@link cutIntoTree} (a blob in memory) and {@link buildRootList}
 * (leaves known one by one, as a stream is cut). Reading: {@link walkChunkTree},
 * the one walker, which every read of a chunked blob goes through: `blobs.get`
 * collects it, `blobs.getStream` emits it, and it is built so that verify (report
 * problems and walk on, parts known bad) and export (the rows as stored) can use it.
 */
import { createHash } from "node:crypto";
import { chunkBoundaries, type ChunkingParams } from "../codec/chunker.js";
import { ChunkEntryType, decodeChunkList, encodeChunkList, type ChunkEntry } from "../codec/chunk-list.js";
import { CairnError } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import type { BlobRow } from "../storage/storage.js";
import { chunkRef } from "./chunk-memo.js";
import { checkRecordedSize, isChunked, materializeRow } from "./encoding.js";
import type { PartCache } from "./part-cache.js";
import { rememberChunking, reuseCuts } from "./recent-chunkings.js";

// ---------------------------------------------------------------------------
// Building

/** Root chunk lists longer than this are split into list nodes. */
export const MAX_ROOT_ENTRIES = 32;
/** List nodes are cut after an entry whose ref's first byte is 0 mod this (average fan-out). */
const LIST_FANOUT = 16;
const LIST_MIN = 4;
const LIST_MAX = 64;

/** Kind of a leaf chunk's row. */
export const CHUNK_KIND = "chunk";
/** Kind of a list node's row. */
export const LIST_KIND = "chunk-list";

/** One-off blobs this large are cut into larger chunks (see {@link chunkingFor}). */
export const LARGE_BLOB = 1024 * 1024;
const LARGE_CHUNKING: ChunkingParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

/**
 * Chunk sizes for a blob of `size` bytes. Evolving values (histories) always get
 * the store's small chunks, since each turn rewrites only the chunks around its
 * change. A one-off blob of 1 MiB or more (a raw put, a stream, a large moved-out
 * value) gets 64 KiB chunks: a 1 MiB put then writes 16 rows instead of 256,
 * which measured twice as fast to write and read back. Chunking never changes a ref.
 */
export function chunkingFor(base: ChunkingParams, size: number, evolving: boolean): ChunkingParams {
  return !evolving && size >= LARGE_BLOB && base.avg < LARGE_CHUNKING.avg ? LARGE_CHUNKING : base;
}

/** A piece of a chunk tree: a leaf chunk or a list node, in its logical (raw) form. */
export interface TreePiece {
  readonly ref: Ref;
  readonly kind: typeof CHUNK_KIND | typeof LIST_KIND;
  /** Logical bytes of the row (a list node's: its encoded list). */
  readonly size: number;
  readonly data: Uint8Array;
  /** A list node's entries; none for a chunk. */
  readonly links: readonly Ref[];
}

/** The row data of a chunked blob: its root list, and the refs its edges go to. */
export interface RootList {
  readonly data: Uint8Array;
  /** The refs of the root list's entries (the top of the tree). */
  readonly links: readonly Ref[];
}

/**
 * The root list over `leaves` (in order): while there are more than
 * {@link MAX_ROOT_ENTRIES} entries, they are grouped into list nodes, which are
 * added to `lists` (lowest level first).
 */
export function buildRootList(leaves: readonly ChunkEntry[], lists: TreePiece[]): RootList {
  let entries = leaves;
  while (entries.length > MAX_ROOT_ENTRIES) entries = groupIntoLists(entries, lists);
  return { data: encodeChunkList(entries), links: entries.map((e) => e.ref) };
}

/** One level up the chunk tree: groups entries at content-defined boundaries into list nodes. */
function groupIntoLists(entries: readonly ChunkEntry[], lists: TreePiece[]): ChunkEntry[] {
  const up: ChunkEntry[] = [];
  let group: ChunkEntry[] = [];
  const flush = () => {
    const data = encodeChunkList(group);
    const ref = hashBytes(data);
    const size = group.reduce((sum, e) => sum + e.size, 0);
    lists.push({ ref, kind: LIST_KIND, size: data.byteLength, data, links: group.map((e) => e.ref) });
    up.push({ type: ChunkEntryType.LIST, ref, size });
    group = [];
  };
  for (const entry of entries) {
    group.push(entry);
    const boundary = parseInt(entry.ref.slice(0, 2), 16) % LIST_FANOUT === 0;
    if ((boundary && group.length >= LIST_MIN) || group.length >= LIST_MAX) flush();
  }
  if (group.length > 0) flush();
  return up;
}

/** Size of the head chunk of an evolving value (see {@link cutIntoTree}). */
const HEAD_CHUNK = 64;
/** Evolving values up to this size are remembered for cut reuse and their chunks memoized. */
const REMEMBER_UP_TO = 8 * 1024 * 1024;

/** How {@link cutIntoTree} cuts a blob. */
export interface CutOptions {
  readonly kind: string;
  /** The store's chunking (see {@link chunkingFor}). */
  readonly chunking: ChunkingParams;
  /** An encoded value likely to come back a little longer next turn (a history). */
  readonly evolving: boolean;
}

/** A blob cut into a chunk tree. */
export interface CutTree {
  readonly root: RootList;
  /** The leaf chunks, in order (a chunk that repeats is listed each time). */
  readonly leaves: readonly TreePiece[];
  /** The list nodes, lowest level first. */
  readonly lists: readonly TreePiece[];
}

/**
 * Cuts `bytes` into content-defined chunks and list nodes; undefined when they
 * would be one chunk (the blob itself: same bytes, same ref; store it whole).
 *
 * An evolving value reuses the cuts and chunk refs of the last version of the
 * same kind (confirmed byte by byte), and starts with a small head chunk of its
 * own: its container headers hold lengths that change every turn (a history's
 * item count), so the first content chunk is not rewritten on every append.
 */
export function cutIntoTree(bytes: Uint8Array, options: CutOptions): CutTree | undefined {
  const { kind, evolving } = options;
  const remember = evolving && bytes.byteLength <= REMEMBER_UP_TO;
  const reused = remember ? reuseCuts(kind, bytes, options.chunking.min) : { cuts: [], refs: [] };
  const start = reused.cuts.at(-1) ?? 0;
  const params = chunkingFor(options.chunking, bytes.byteLength, evolving);
  const scanFrom = evolving && start === 0 ? HEAD_CHUNK : start;
  const cuts = [...reused.cuts, ...(scanFrom > start ? [scanFrom] : []), ...chunkBoundaries(bytes.subarray(scanFrom), params).map((cut) => cut + scanFrom)];
  if (cuts.length === 1) return undefined;
  const leaves: TreePiece[] = [];
  const entries: ChunkEntry[] = [];
  const refs: Ref[] = [];
  let from = 0;
  cuts.forEach((end, i) => {
    const data = bytes.subarray(from, end);
    const ref = reused.refs[i] ?? (remember ? chunkRef(data) : hashBytes(data));
    refs.push(ref);
    leaves.push({ ref, kind: CHUNK_KIND, size: data.byteLength, data, links: [] });
    entries.push({ type: ChunkEntryType.CHUNK, ref, size: data.byteLength });
    from = end;
  });
  if (remember) rememberChunking({ kind, min: params.min, bytes, cuts, refs });
  const lists: TreePiece[] = [];
  const root = buildRootList(entries, lists);
  return { root, leaves, lists };
}

// ---------------------------------------------------------------------------
// Walking

/** Rows for those of `refs` that are stored, keyed by ref. */
export type FetchRows = (refs: readonly Ref[]) => Promise<Map<Ref, BlobRow>>;

/** Something wrong inside a chunk tree (the walker's report mode). */
export type TreeProblem =
  | { readonly type: "missing"; readonly chunk: Ref }
  | { readonly type: "malformed"; readonly reason: string }
  | { readonly type: "corrupt-part"; readonly chunk: Ref; readonly reason: string };

/** How {@link walkChunkTree} walks. */
export interface WalkOptions {
  /** Where rows come from: the storage floor, a bundle, or both. */
  readonly fetch: FetchRows;
  /** The largest logical size any row (the root included) may record. */
  readonly maxBlobBytes: number;
  /**
   * Hash every leaf chunk against its own ref before it is yielded (default
   * true). Off for a reader that collects the whole and checks only that.
   */
  readonly verifyParts?: boolean;
  /**
   * Hash the whole and compare it with the root's ref before the last chunk is
   * yielded (default true): a mismatch throws INTEGRITY instead, so the walk never
   * ends normally with wrong bytes. In report mode the hash is only returned.
   */
  readonly verifyWhole?: boolean;
  /**
   * Report mode (verify): every problem is passed here and the walk goes on past
   * it (a missing or broken list node's subtree and a bad leaf are skipped), so
   * all missing parts are found, not only the first. Without it the first
   * problem throws a CairnError (INTEGRITY, or LIMIT_EXCEEDED for a size over
   * `maxBlobBytes`), as every read does.
   */
  readonly onProblem?: (problem: TreeProblem) => void;
  /** Parts already known to be bad (reported elsewhere): skipped, no problem reported, the whole not hashed. */
  readonly isBad?: (ref: Ref) => boolean;
  /**
   * Receives every row the walk reads, as stored, before its bytes are used:
   * list nodes (`list`), leaves (`chunk`), and the rows inside a chunked part
   * (export copies a tree's rows this way).
   */
  readonly onRow?: (row: BlobRow, role: "list" | "chunk") => void;
  /** Leaves fetched per query (default 128; also at most 8 MiB of logical bytes). Bounds memory. */
  readonly window?: number;
  /**
   * Verified parts shared across walks (a store handle's): a leaf or list node
   * found there is neither fetched, inflated nor hashed again, and every
   * single-row leaf and list node this walk reads is hashed against its own ref
   * (whatever `verifyParts` says) and added. Only for a consumer that never
   * changes or transfers the bytes it is given (collectChunkTree copies them).
   */
  readonly parts?: PartCache;
}

/** Leaf bytes, in order. */
export interface TreeChunk {
  /** The leaf's ref (for the bytes of a single-row root: the root's ref). */
  readonly ref: Ref;
  readonly bytes: Uint8Array;
}

/** How a walk ended (the generator's return value). */
export interface WalkResult {
  /** SHA-256 of every byte yielded; undefined when the walk was incomplete (report mode). */
  readonly actual: Ref | undefined;
  /** Logical bytes yielded. */
  readonly bytes: number;
  /** True when a part known to be bad was met (so no hash, and no problem reported for it). */
  readonly tainted: boolean;
  /** Problems reported (report mode). */
  readonly problems: number;
}

/** How deep chunk lists may nest, counting list nodes and chunked parts. */
export const MAX_NESTING = 16;
/** The largest list node cairn writes is 64 entries of at most 42 bytes; anything far past that is hostile. */
const MAX_LIST_BYTES = 64 * 1024;
/** List nodes fetched ahead in one query, per level (each at most {@link MAX_LIST_BYTES}). */
const LIST_PREFETCH = 16;
const DEFAULT_WINDOW = 128;
const WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * Walks blob `root` (any row: a single raw or deflated row yields its bytes
 * once) and yields its logical bytes, chunk by chunk, in order.
 *
 * 1. Check the root's recorded size against `maxBlobBytes`; parse its chunk list.
 * 2. At every level the entries must add up to exactly the size recorded above
 *    them, with no empty entry, so a hostile tree can never expand past O(size)
 *    entries. List nodes are expanded depth first (a few siblings fetched per
 *    query), each one's size bounded, its bytes hashed against its ref, its list parsed.
 * 3. Leaves are fetched a window at a time; each one's recorded size must match
 *    its entry; it is inflated within that size, hashed against its own ref
 *    (`verifyParts`), then yielded. A part that is itself chunked (the same
 *    bytes stored earlier as a blob of their own) is walked the same way, one
 *    level deeper, and its own hash checked.
 * 4. The last chunk is held back until the whole hash is compared with the
 *    root's ref (`verifyWhole`).
 *
 * Guarantee: memory is bounded by one window of leaves and a few list nodes per
 * level, whatever the blob's size; a walk that ends normally (not in report mode)
 * yielded exactly the bytes whose SHA-256 is the root's ref.
 * @throws CairnError INTEGRITY (details.ref; details.expected and actual for a
 *   wrong whole; details.missing for a missing part), LIMIT_EXCEEDED. None in report mode.
 */
export async function* walkChunkTree(root: BlobRow, options: WalkOptions): AsyncGenerator<TreeChunk, WalkResult, undefined> {
  const batches = walkBatches(root, options);
  let done = false;
  try {
    for (;;) {
      const next = await batches.next();
      if (next.done) {
        done = true;
        return next.value;
      }
      for (const chunk of next.value) yield chunk;
    }
  } finally {
    // A consumer that stops early (a cancelled stream) closes the inner walk too.
    if (!done) await batches.return(undefined as never);
  }
}

/**
 * {@link walkChunkTree} in batches (one window of leaves, or one piece of a
 * chunked part, at a time): one async step per batch, not per chunk. The last
 * batch is held back until the whole hash is checked.
 */
async function* walkBatches(root: BlobRow, options: WalkOptions): AsyncGenerator<TreeChunk[], WalkResult, undefined> {
  const walk = new Walk(options);
  const verifyWhole = options.verifyWhole ?? true;
  const whole = createHash("sha256");
  let held: TreeChunk[] | undefined;
  let bytes = 0;
  try {
    for await (const batch of walk.row(root, 0)) {
      for (const chunk of batch) {
        if (walk.complete) whole.update(chunk.bytes);
        bytes += chunk.bytes.byteLength;
      }
      if (held) yield held;
      held = batch;
    }
  } catch (error) {
    // In report mode only the root itself can fail here (its size or list): one problem, and the walk ends.
    if (!options.onProblem || !(error instanceof CairnError) || (error.code !== "INTEGRITY" && error.code !== "LIMIT_EXCEEDED")) throw error;
    walk.problems++;
    options.onProblem({ type: "malformed", reason: error.message });
  }
  const actual = walk.complete ? (whole.digest("hex") as Ref) : undefined;
  if (verifyWhole && !walk.reporting && actual !== root.ref) {
    throw new CairnError("INTEGRITY", `blob ${root.ref} is corrupt: its bytes hash to ${actual}`, { ref: root.ref, expected: root.ref, actual });
  }
  if (held) yield held;
  return { actual, bytes, tainted: walk.tainted, problems: walk.problems };
}

/**
 * Walks `root` and returns its bytes in one array (the recorded size, allocated
 * once), checked against its ref.
 * @throws as {@link walkChunkTree}.
 */
export async function collectChunkTree(root: BlobRow, options: Omit<WalkOptions, "onProblem">): Promise<Uint8Array> {
  checkRecordedSize(root, options.maxBlobBytes);
  const out = new Uint8Array(root.size);
  let offset = 0;
  for await (const batch of walkBatches(root, options)) {
    for (const chunk of batch) {
      // The walk checks every size before it yields; this guards the copy itself.
      if (offset + chunk.bytes.byteLength > out.byteLength) throw malformed(root.ref, `its parts exceed the recorded ${root.size} bytes`);
      out.set(chunk.bytes, offset);
      offset += chunk.bytes.byteLength;
    }
  }
  if (offset !== out.byteLength) throw malformed(root.ref, `its parts add up to ${offset} bytes, not ${root.size}`);
  return out;
}

/** A walk in report mode, run to its end (see {@link checkChunkTree}). */
export interface TreeCheck extends WalkResult {
  /** Every problem met, in the order met (a missing part once). */
  readonly found: readonly TreeProblem[];
}

/**
 * Walks `root` in report mode to its end, as verify and import check a tree:
 * every problem is collected (a missing part is listed once, however often the
 * tree names it) and the walk goes on past it; the bytes go to `onChunk` when
 * given. Never throws for a problem of the tree itself.
 * @throws what `options.fetch` throws.
 */
export async function checkChunkTree(root: BlobRow, options: Omit<WalkOptions, "onProblem">, onChunk?: (bytes: Uint8Array) => void): Promise<TreeCheck> {
  const found: TreeProblem[] = [];
  const missing = new Set<Ref>();
  const walk = walkChunkTree(root, {
    ...options,
    onProblem: (problem) => {
      if (problem.type === "missing") {
        if (missing.has(problem.chunk)) return;
        missing.add(problem.chunk);
      }
      found.push(problem);
    },
  });
  for (;;) {
    const step = await walk.next();
    if (step.done) return { ...step.value, found };
    onChunk?.(step.value.bytes);
  }
}

/** One line for a tree problem. */
export function describeProblem(problem: TreeProblem): string {
  switch (problem.type) {
    case "missing":
      return `part ${problem.chunk} is not stored`;
    case "malformed":
      return problem.reason;
    case "corrupt-part":
      return `part ${problem.chunk} is corrupt: ${problem.reason}`;
  }
}

function malformed(ref: Ref, why: string): CairnError {
  return new CairnError("INTEGRITY", `chunk tree of blob ${ref} is malformed: ${why}`, { ref });
}

function missingPart(owner: Ref, part: Ref): CairnError {
  return new CairnError("INTEGRITY", `blob ${owner} refers to chunk ${part}, which is not stored`, { ref: owner, missing: part });
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A list node as fetched ahead: its verified bytes, what is wrong with it, or known bad. */
type FetchedList = Uint8Array | TreeProblem | "bad";

/** The state of one walk: its options, and what went wrong so far. */
class Walk {
  readonly #options: WalkOptions;
  readonly #verifyParts: boolean;
  readonly #window: number;
  /** Verified parts shared with other walks. */
  readonly #parts: PartCache | undefined;
  problems = 0;
  tainted = false;

  constructor(options: WalkOptions) {
    this.#options = options;
    this.#verifyParts = options.verifyParts ?? true;
    this.#window = Math.max(1, options.window ?? DEFAULT_WINDOW);
    this.#parts = options.parts;
  }

  get reporting(): boolean {
    return this.#options.onProblem !== undefined;
  }

  /** Whether every byte so far is accounted for (no problem, no bad part). */
  get complete(): boolean {
    return this.problems === 0 && !this.tainted;
  }

  /** Throws `error` (throw mode), or reports `problem` and returns (report mode). */
  #problem(problem: TreeProblem, error: unknown): void {
    if (!this.#options.onProblem) throw error;
    this.problems++;
    this.#options.onProblem(problem);
  }

  /** A walk of a chunked part (or list node) inside this one: throws its first problem, which this walk reports as one. */
  #nested(): Walk {
    const { onProblem: _, ...options } = this.#options;
    return new Walk(options);
  }

  /** The bytes of a single row; a part of `owner` is hashed against its ref when verifyParts (or when it is to be shared). */
  #single(row: BlobRow, owner: Ref | undefined): Uint8Array {
    const bytes = materializeRow(row, this.#options.maxBlobBytes);
    if (owner !== undefined && (this.#verifyParts || this.#parts !== undefined)) {
      const actual = hashBytes(bytes);
      if (actual !== row.ref) {
        throw new CairnError("INTEGRITY", `chunk ${row.ref} of blob ${owner} is corrupt: its bytes hash to ${actual}`, { ref: owner, chunk: row.ref, expected: row.ref, actual });
      }
    }
    return bytes;
  }

  /** The bytes of any row: a single row's at once, a chunked row's chunk by chunk. */
  /** The bytes of any row, in batches of chunks (a window's worth at most, or one chunked part's piece). */
  async *row(row: BlobRow, depth: number): AsyncGenerator<TreeChunk[]> {
    if (!isChunked(row)) {
      yield [{ ref: row.ref, bytes: this.#single(row, undefined) }];
      return;
    }
    if (depth > MAX_NESTING) throw malformed(row.ref, `it nests deeper than ${MAX_NESTING} levels`);
    checkRecordedSize(row, this.#options.maxBlobBytes);
    const entries = decodeChunkList(row.data, row.ref);
    checkSpan(row.ref, entries, row.size, "the root list");
    let window: ChunkEntry[] = [];
    let windowBytes = 0;
    for await (const leaves of this.#leaves(row.ref, entries, depth)) {
      for (const entry of leaves) {
        window.push(entry);
        windowBytes += entry.size;
        if (window.length >= this.#window || windowBytes >= WINDOW_BYTES) {
          yield* this.#leafWindow(row.ref, window, depth);
          window = [];
          windowBytes = 0;
        }
      }
    }
    if (window.length > 0) yield* this.#leafWindow(row.ref, window, depth);
  }

  /** One window of leaves: fetched in one query, then checked and yielded in order. */
  async *#leafWindow(owner: Ref, window: readonly ChunkEntry[], depth: number): AsyncGenerator<TreeChunk[]> {
    let batch: TreeChunk[] = [];
    const { rows, cached } = await this.#fetchLeaves(window);
    const parts = this.#parts;
    for (const entry of window) {
      // What the cache held when the window was planned (another walk may evict it meanwhile), else what it holds now.
      const known = cached.get(entry.ref) ?? parts?.get(entry.ref);
      if (known !== undefined) {
        if (known.byteLength !== entry.size) {
          const reason = `chunk ${entry.ref} of blob ${owner} records ${known.byteLength} bytes, the list says ${entry.size}`;
          this.#problem({ type: "corrupt-part", chunk: entry.ref, reason }, new CairnError("INTEGRITY", reason, { ref: owner, chunk: entry.ref }));
          continue;
        }
        batch.push({ ref: entry.ref, bytes: known });
        continue;
      }
      const leaf = rows.get(entry.ref);
      if (!leaf) {
        this.#problem({ type: "missing", chunk: entry.ref }, missingPart(owner, entry.ref));
        continue;
      }
      if (this.#options.isBad?.(entry.ref)) {
        this.tainted = true;
        continue;
      }
      this.#options.onRow?.(leaf, "chunk");
      if (leaf.size !== entry.size) {
        const reason = `chunk ${entry.ref} of blob ${owner} records ${leaf.size} bytes, the list says ${entry.size}`;
        this.#problem({ type: "corrupt-part", chunk: entry.ref, reason }, new CairnError("INTEGRITY", reason, { ref: owner, chunk: entry.ref }));
        continue;
      }
      if (!isChunked(leaf)) {
        let bytes: Uint8Array;
        try {
          bytes = this.#single(leaf, owner);
        } catch (error) {
          this.#problem({ type: "corrupt-part", chunk: entry.ref, reason: reasonOf(error) }, error);
          continue;
        }
        parts?.remember(entry.ref, bytes);
        batch.push({ ref: entry.ref, bytes });
        continue;
      }
      // What came before the chunked part goes first, in order.
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
      // A chunked part: walked one level deeper, its pieces yielded as they come, its own hash checked at its end.
      const inner = this.#nested();
      const hash = createHash("sha256");
      try {
        for await (const part of inner.row(leaf, depth + 1)) {
          for (const chunk of part) hash.update(chunk.bytes);
          yield part;
        }
        if (inner.tainted) {
          this.tainted = true;
          continue;
        }
        const actual = hash.digest("hex");
        if (actual !== entry.ref) {
          throw new CairnError("INTEGRITY", `chunked part ${entry.ref} of blob ${owner} is corrupt: its bytes hash to ${actual}`, { ref: owner, chunk: entry.ref, expected: entry.ref, actual });
        }
      } catch (error) {
        this.#problem({ type: "corrupt-part", chunk: entry.ref, reason: reasonOf(error) }, error);
      }
    }
    if (batch.length > 0) yield batch;
  }

  /**
   * The rows of a window's leaves, each fetched once: without a part cache all
   * of them in one query; with one, only those it does not hold (returned as
   * `cached`, so an eviction by another walk meanwhile cannot lose them), and a
   * leaf another walk is fetching now is taken from that fetch.
   */
  async #fetchLeaves(window: readonly ChunkEntry[]): Promise<{ rows: ReadonlyMap<Ref, BlobRow>; cached: ReadonlyMap<Ref, Uint8Array> }> {
    const distinct = [...new Set(window.map((entry) => entry.ref))];
    const parts = this.#parts;
    const cached = new Map<Ref, Uint8Array>();
    if (parts === undefined) return { rows: await this.#options.fetch(distinct), cached };
    const wanted: Ref[] = [];
    const waiting: Array<[Ref, Promise<ReadonlyMap<Ref, BlobRow>>]> = [];
    for (const ref of distinct) {
      const held = parts.get(ref);
      if (held !== undefined) {
        cached.set(ref, held);
        continue;
      }
      const pending = parts.inflight.get(ref);
      if (pending !== undefined) waiting.push([ref, pending]);
      else wanted.push(ref);
    }
    const rows = new Map<Ref, BlobRow>();
    if (wanted.length > 0) {
      const fetching = this.#options.fetch(wanted);
      // A waiter that sees this fetch fail fetches for itself; the failure is this walk's to throw.
      fetching.catch(() => undefined);
      for (const ref of wanted) parts.inflight.set(ref, fetching);
      try {
        for (const [ref, row] of await fetching) rows.set(ref, row);
      } finally {
        for (const ref of wanted) if (parts.inflight.get(ref) === fetching) parts.inflight.delete(ref);
      }
    }
    for (const [ref, pending] of waiting) {
      let found: ReadonlyMap<Ref, BlobRow>;
      try {
        found = await pending;
      } catch {
        found = await this.#options.fetch([ref]);
      }
      const row = found.get(ref);
      if (row !== undefined) rows.set(ref, row);
    }
    return { rows, cached };
  }

  /**
   * The leaf entries under `entries`, in order: list nodes expanded depth first,
   * each checked to span exactly its entry's size. A few list siblings are
   * fetched per query and kept only as verified bytes until they are expanded.
   */
  async *#leaves(owner: Ref, entries: readonly ChunkEntry[], depth: number): AsyncGenerator<readonly ChunkEntry[]> {
    let fetched = new Map<Ref, FetchedList>();
    let run: ChunkEntry[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.type === ChunkEntryType.CHUNK) {
        run.push(entry);
        continue;
      }
      if (run.length > 0) {
        yield run;
        run = [];
      }
      if (depth + 1 > MAX_NESTING) {
        const error = malformed(owner, `it nests deeper than ${MAX_NESTING} levels`);
        this.#problem({ type: "malformed", reason: error.message }, error);
        return;
      }
      if (!fetched.has(entry.ref)) fetched = await this.#fetchLists(owner, entries, i, depth + 1);
      const node = fetched.get(entry.ref)!;
      if (node === "bad") {
        this.tainted = true;
        continue;
      }
      if (!(node instanceof Uint8Array)) {
        this.#problem(node, node.type === "missing" ? missingPart(owner, node.chunk) : new CairnError("INTEGRITY", describeProblem(node), { ref: owner, chunk: entry.ref }));
        continue;
      }
      let children: ChunkEntry[];
      try {
        children = decodeChunkList(node, entry.ref);
      } catch (error) {
        this.#problem({ type: "corrupt-part", chunk: entry.ref, reason: reasonOf(error) }, error);
        continue;
      }
      try {
        checkSpan(owner, children, entry.size, `list node ${entry.ref}`);
      } catch (error) {
        // The node is intact (it hashed to its ref) but the tree's sizes do not add up: the tree is malformed.
        this.#problem({ type: "malformed", reason: reasonOf(error) }, error);
        continue;
      }
      yield* this.#leaves(owner, children, depth + 1);
    }
    if (run.length > 0) yield run;
  }

  /**
   * The list nodes named from `entries[from]` on (at most {@link LIST_PREFETCH}
   * distinct ones), fetched in one query, each one's size bounded and its bytes
   * hashed against its ref.
   */
  async #fetchLists(owner: Ref, entries: readonly ChunkEntry[], from: number, depth: number): Promise<Map<Ref, FetchedList>> {
    const wanted = new Set<Ref>();
    const out = new Map<Ref, FetchedList>();
    for (let i = from; i < entries.length && wanted.size < LIST_PREFETCH; i++) {
      const entry = entries[i]!;
      if (entry.type !== ChunkEntryType.LIST || out.has(entry.ref)) continue;
      const known = this.#parts?.get(entry.ref);
      if (known !== undefined) out.set(entry.ref, known);
      else wanted.add(entry.ref);
    }
    const rows = wanted.size > 0 ? await this.#options.fetch([...wanted]) : new Map<Ref, BlobRow>();
    for (const ref of wanted) {
      const row = rows.get(ref);
      if (!row) {
        out.set(ref, { type: "missing", chunk: ref });
        continue;
      }
      if (this.#options.isBad?.(ref)) {
        out.set(ref, "bad");
        continue;
      }
      this.#options.onRow?.(row, "list");
      try {
        if (row.size > MAX_LIST_BYTES) throw malformed(owner, `list node ${ref} records ${row.size} bytes`);
        const inner = this.#nested();
        const parts: Uint8Array[] = [];
        for await (const batch of inner.row(row, depth)) for (const chunk of batch) parts.push(chunk.bytes);
        if (inner.tainted) {
          out.set(ref, "bad");
          continue;
        }
        const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        const actual = hashBytes(bytes);
        if (actual !== ref) {
          throw new CairnError("INTEGRITY", `list node ${ref} of blob ${owner} is corrupt: its bytes hash to ${actual}`, { ref: owner, chunk: ref, expected: ref, actual });
        }
        out.set(ref, bytes);
        this.#parts?.remember(ref, bytes);
      } catch (error) {
        if (!this.reporting) throw error;
        out.set(ref, { type: "corrupt-part", chunk: ref, reason: reasonOf(error) });
      }
    }
    return out;
  }
}

/** Every level of the tree must account for exactly the size recorded above it, with no empty entries. */
function checkSpan(owner: Ref, list: readonly ChunkEntry[], size: number, what: string): void {
  let sum = 0;
  for (const entry of list) {
    if (entry.size <= 0) throw malformed(owner, `an entry of ${what} is empty`);
    sum += entry.size;
  }
  if (sum !== size) throw malformed(owner, `the entries of ${what} add up to ${sum} bytes, not ${size}`);
}
