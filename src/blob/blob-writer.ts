/**
 * The transactional writer's blob half: from a write plan to the statements of
 * one write transaction. Asks the store which blobs it has (those are not sent
 * again), chunks and compresses the rest, and records their edges.
 */
import { chunkBoundaries, type ChunkingParams } from "../codec/chunker.js";
import { encodeChunkList, ChunkEntryType, type ChunkEntry } from "../codec/chunk-list.js";
import { compress } from "../codec/compression.js";
import { CairnError } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import { chunkRef } from "./chunk-memo.js";
import { rememberChunking, reuseCuts } from "./recent-chunkings.js";
import type { ExtraStatement, NewBlobRow, NewHistoryRow, WriteOutcome } from "../storage/storage.js";
import type { BlobContext } from "./context.js";
import type { PlannedBlob, WritePlan } from "./write-plan.js";

/** How a blob's bytes are stored. Part of the on-disk format. */
export const Encoding = { RAW: 0, DEFLATE: 1, CHUNKED: 2 } as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/** Root chunk lists longer than this are split into list nodes. */
const MAX_ROOT_ENTRIES = 32;
/** List nodes are cut after an entry whose ref's first byte is 0 mod this (average fan-out). */
const LIST_FANOUT = 16;
const LIST_MIN = 4;
const LIST_MAX = 64;

interface Row {
  readonly ref: Ref;
  readonly kind: string;
  encoding: Encoding;
  readonly size: number;
  data: Uint8Array;
  readonly children: readonly Ref[];
  readonly compressible: boolean;
  /** The chunked blob this chunk was cut from: its chunks share one verdict on whether compression pays. */
  readonly family?: Ref;
}

/**
 * Compresses each compressible row where it pays. The chunks of one blob are
 * judged by the first of them tried: if it does not shrink, neither is expected
 * to (random or already compressed data), and the rest are stored raw.
 */
function compressRows(ctx: BlobContext, rows: Row[]): void {
  if (ctx.profile === "none") return;
  const verdicts = new Map<Ref, boolean>();
  for (const row of rows) {
    if (!row.compressible) continue;
    if (row.family !== undefined && verdicts.get(row.family) === false) continue;
    const packed = compress(row.data, ctx.profile);
    if (row.family !== undefined && !verdicts.has(row.family)) verdicts.set(row.family, packed !== undefined);
    if (packed) {
      row.data = packed;
      row.encoding = Encoding.DEFLATE;
    }
  }
}

/** What a prepared write will store. */
export interface PreparedWrite {
  /** The rows the store lacks, compressed where it pays. */
  readonly rows: readonly NewBlobRow[];
  /** Stored roots to touch (see {@link WriteBatch.touch}). */
  readonly touch: readonly Ref[];
  /** Blobs (including chunks) this write adds, and their stored bytes. */
  readonly blobsWritten: number;
  readonly bytesWritten: number;
  /** Every ref this write stores or relies on: all stored once it commits. */
  readonly reliedOn: readonly Ref[];
}

/**
 * Prepares the rows that store every blob of `plan` the store lacks.
 *
 * 1. Ask which planned and required refs are stored; a required ref that is not is NOT_FOUND.
 *    Refs this store confirmed recently are not asked about again, except the
 *    plan's roots: every other ref is the target of an edge from a new row, or
 *    the manifest a new history row names, and those inserts fail if it is gone.
 *    Evolving values (snapshots) not confirmed are cut into chunks first, so the
 *    same query asks about their chunks.
 * 2. Cut each other missing blob over `chunkAbove` into content-defined chunks and list nodes.
 * 3. Ask which of those chunks are stored (again skipping confirmed ones); keep the missing.
 * 4. Compress what is left where it pays.
 * 5. Hand the rows and their links to the storage floor, which records an edge per
 *    link and refuses the whole write (missing-link) when a target is gone, so a
 *    blob removed after step 1 aborts the transaction instead of leaving a dangling edge.
 */
export async function prepareWrite(ctx: BlobContext, plan: WritePlan): Promise<PreparedWrite> {
  const planned = [...plan.blobs.values()];
  for (const blob of planned) {
    if (blob.size > ctx.maxBlobBytes) {
      throw new CairnError("LIMIT_EXCEEDED", `a ${blob.kind} blob of ${blob.size} bytes is over the ${ctx.maxBlobBytes}-byte limit`, {
        limit: ctx.maxBlobBytes,
        actual: blob.size,
      });
    }
  }
  const required = [...plan.required].filter((ref) => !plan.blobs.has(ref));
  const confirmed = (ref: Ref) => ctx.knownStored.has(ref) && !plan.roots.has(ref);
  const chunkable = (size: number) => size > ctx.chunkAbove && size > ctx.chunking.min;
  // An evolving value this store has not confirmed is almost always new (a history
  // one turn longer): cut it now, so one query asks about it and its chunks together.
  const early = new Map<Ref, { row: Row; pieces: Row[] }>();
  for (const blob of planned) {
    if (blob.evolving !== true || confirmed(blob.ref) || !chunkable(blob.size)) continue;
    const pieces: Row[] = [];
    early.set(blob.ref, { row: chunkInto(ctx, blob, blob.bytes(), pieces), pieces });
  }
  const earlyPieces = [...early.values()].flatMap((e) => e.pieces.map((p) => p.ref));
  const stored = await storedRefs(ctx, [...planned.map((b) => b.ref), ...required, ...earlyPieces].filter((ref) => !confirmed(ref)));
  for (const ref of [...planned.map((b) => b.ref), ...required]) if (confirmed(ref)) stored.add(ref);
  for (const ref of required) {
    if (!stored.has(ref)) throw new CairnError("NOT_FOUND", `no stored value has ref ${ref}`, { ref });
  }
  const rows: Row[] = [];
  const pieces: Row[] = [];
  const lateCut: Row[] = [];
  for (const blob of planned) {
    if (stored.has(blob.ref)) continue;
    const cut = early.get(blob.ref);
    if (cut) {
      rows.push(cut.row);
      pieces.push(...cut.pieces);
      continue;
    }
    const bytes = blob.bytes();
    if (chunkable(bytes.byteLength)) {
      rows.push(chunkInto(ctx, blob, bytes, lateCut));
    } else {
      rows.push({ ref: blob.ref, kind: blob.kind, encoding: Encoding.RAW, size: bytes.byteLength, data: bytes, children: blob.children, compressible: true });
    }
  }
  if (lateCut.length > 0) {
    // Chunks of blobs found missing only now: ask about them in a second query.
    for (const ref of await storedRefs(ctx, lateCut.filter((p) => !ctx.knownStored.has(p.ref)).map((p) => p.ref))) stored.add(ref);
    pieces.push(...lateCut);
  }
  // Pieces this store confirmed recently are not asked about again: each one is
  // the target of an edge from a new row, whose insert fails if it is gone.
  const seen = new Set<Ref>();
  for (const piece of pieces) {
    if (seen.has(piece.ref)) continue;
    seen.add(piece.ref);
    if (ctx.knownStored.has(piece.ref) || stored.has(piece.ref)) continue;
    rows.push(piece);
  }
  compressRows(ctx, rows);
  let bytesWritten = 0;
  for (const row of rows) bytesWritten += row.data.byteLength;
  // A root the store already had may be old and unreachable: touch it, so gc's
  // grace period protects it until the caller roots it.
  const touch = [...plan.roots].filter((ref) => stored.has(ref));
  const reliedOn = [...planned.map((b) => b.ref), ...required, ...pieces.map((p) => p.ref)];
  return {
    rows: rows.map((r) => ({ ref: r.ref, kind: r.kind, encoding: r.encoding, size: r.size, data: r.data, links: r.children })),
    touch,
    blobsWritten: rows.length,
    bytesWritten,
    reliedOn,
  };
}

/**
 * Cuts `bytes` into chunks (added to `pieces`) and returns the row of the chunked
 * blob itself, whose data is its root chunk list.
 */
/** One-off blobs this large are cut into larger chunks (see {@link chunkingFor}). */
const LARGE_BLOB = 1024 * 1024;
const LARGE_CHUNKING: ChunkingParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

/**
 * Chunk sizes for a blob. Evolving values (histories) always get the store's
 * small chunks, since each turn rewrites only the chunks around its change. A
 * one-off blob of 1 MiB or more (a raw put, a large moved-out value) gets 64 KiB
 * chunks: a 1 MiB put then writes 16 rows instead of 256, which measured twice as
 * fast to write and read back. Chunking never changes a ref.
 */
function chunkingFor(ctx: BlobContext, blob: PlannedBlob, size: number): ChunkingParams {
  return blob.evolving !== true && size >= LARGE_BLOB && ctx.chunking.avg < LARGE_CHUNKING.avg ? LARGE_CHUNKING : ctx.chunking;
}

/** Size of the head chunk of an evolving value (see {@link chunkInto}). */
const HEAD_CHUNK = 64;

/** Evolving values up to this size are remembered for cut reuse and their chunks memoized. */
const REMEMBER_UP_TO = 8 * 1024 * 1024;

function chunkInto(ctx: BlobContext, blob: PlannedBlob, bytes: Uint8Array, pieces: Row[]): Row {
  const { ref: blobRef, kind, children } = blob;
  const remember = blob.evolving === true && bytes.byteLength <= REMEMBER_UP_TO;
  const reused = remember ? reuseCuts(kind, bytes, ctx.chunking.min) : { cuts: [], refs: [] };
  const start = reused.cuts.at(-1) ?? 0;
  const params = chunkingFor(ctx, blob, bytes.byteLength);
  // An evolving value starts with its container headers, which hold lengths that
  // change every turn (a history's item count). Cut them off in a small chunk of
  // their own, so the first content chunk is not rewritten on every append.
  const scanFrom = blob.evolving === true && start === 0 ? HEAD_CHUNK : start;
  const cuts = [...reused.cuts, ...(scanFrom > start ? [scanFrom] : []), ...chunkBoundaries(bytes.subarray(scanFrom), params).map((cut) => cut + scanFrom)];
  if (cuts.length === 1) {
    // One chunk would be the blob itself (same bytes, same ref): store it whole.
    return { ref: blobRef, kind, encoding: Encoding.RAW, size: bytes.byteLength, data: bytes, children, compressible: true };
  }
  let entries: ChunkEntry[] = [];
  const refs: Ref[] = [];
  let from = 0;
  cuts.forEach((end, i) => {
    const data = bytes.subarray(from, end);
    const ref = reused.refs[i] ?? (remember ? chunkRef(data) : hashBytes(data));
    refs.push(ref);
    pieces.push({ ref, kind: "chunk", encoding: Encoding.RAW, size: data.byteLength, data, children: [], compressible: true, family: blobRef });
    entries.push({ type: ChunkEntryType.CHUNK, ref, size: data.byteLength });
    from = end;
  });
  if (remember) rememberChunking({ kind, min: params.min, bytes, cuts, refs });
  while (entries.length > MAX_ROOT_ENTRIES) entries = groupIntoLists(entries, pieces);
  const data = encodeChunkList(entries);
  // Its edges: to the top of its chunk tree, and to whatever its bytes link to.
  return { ref: blobRef, kind, encoding: Encoding.CHUNKED, size: bytes.byteLength, data, children: [...entries.map((e) => e.ref), ...children], compressible: false };
}

/** One level up the chunk tree: groups entries at content-defined boundaries into list nodes. */
function groupIntoLists(entries: ChunkEntry[], pieces: Row[]): ChunkEntry[] {
  const up: ChunkEntry[] = [];
  let group: ChunkEntry[] = [];
  const flush = () => {
    const data = encodeChunkList(group);
    const ref = hashBytes(data);
    const size = group.reduce((sum, e) => sum + e.size, 0);
    pieces.push({ ref, kind: "chunk-list", encoding: Encoding.RAW, size: data.byteLength, data, children: group.map((e) => e.ref), compressible: false });
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

/** Which of `refs` the store holds. */
export function storedRefs(ctx: BlobContext, refs: Iterable<Ref>): Promise<Set<Ref>> {
  return ctx.storage.storedRefs(refs);
}

/** What {@link executeWrite} adds to the plan's rows in the same transaction. */
export interface WriteTail {
  readonly history?: NewHistoryRow;
  readonly extra?: readonly ExtraStatement[];
}

/**
 * Stores `plan`, and the history row and statements of `tail`, in one write
 * transaction. Returns the floor's outcome: `head-moved` when the tail's history
 * row expected another head (nothing written).
 *
 * If a blob the plan relied on vanished between the check and the transaction
 * (a concurrent gc), the transaction aborts whole and is prepared once more,
 * asking the store about every ref.
 */
export async function executeWrite(
  ctx: BlobContext,
  plan: WritePlan,
  tail: WriteTail = {},
): Promise<{ outcome: Exclude<WriteOutcome, { reason: "missing-link" }>; prepared: PreparedWrite }> {
  for (let attempt = 0; ; attempt++) {
    const prepared = await prepareWrite(ctx, plan);
    const outcome = await ctx.storage.write({ blobs: prepared.rows, touch: prepared.touch, now: Date.now(), ...tail });
    if (outcome.ok) {
      rememberStored(ctx, prepared.reliedOn);
      for (const blob of plan.blobs.values()) if (blob.text !== undefined) ctx.strings.remember(blob.ref, blob.text);
      return { outcome, prepared };
    }
    if (outcome.reason === "head-moved") return { outcome, prepared };
    ctx.knownStored.clear();
    if (attempt > 0) throw new CairnError("NOT_FOUND", "a blob this write links to is not stored (removed while the write was prepared, twice)", {});
  }
}

const MAX_KNOWN = 200_000;

function rememberStored(ctx: BlobContext, refs: readonly Ref[]): void {
  if (ctx.knownStored.size + refs.length > MAX_KNOWN) ctx.knownStored.clear();
  for (const ref of refs) ctx.knownStored.add(ref);
}

