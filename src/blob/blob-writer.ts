/**
 * The transactional writer's blob half: from a write plan to the statements of
 * one write transaction. Asks the store which blobs it has (those are not sent
 * again), chunks and compresses the rest, and records their edges.
 */
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { cutIntoTree, type TreePiece } from "./chunk-tree.js";
import { compressedForm, Encoding } from "./encoding.js";
import { MIN_COMPRESSIBLE } from "../codec/compression.js";
import type { ExtraStatement, NewBlobRow, NewHistoryRow, WriteOutcome } from "../storage/storage.js";
import type { BlobContext } from "./context.js";
import type { PlannedBlob, WritePlan } from "./write-plan.js";
import { rememberValues, requireValues } from "./known-values.js";

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
 * judged by the first of them tried (of at least MIN_COMPRESSIBLE bytes): if it does not shrink, neither is expected
 * to (random or already compressed data), and the rest are stored raw.
 */
function compressRows(ctx: BlobContext, rows: Row[]): void {
  if (ctx.profile === "none") return;
  const verdicts = new Map<Ref, boolean>();
  for (const row of rows) {
    if (!row.compressible) continue;
    if (row.family !== undefined && verdicts.get(row.family) === false) continue;
    const packed = compressedForm(row.data, ctx.profile);
    // Only a chunk large enough to be tried gives the verdict: the 64-byte head
    // chunk of an evolving value never compresses, and must not decide for the rest.
    if (row.family !== undefined && !verdicts.has(row.family) && row.data.byteLength >= MIN_COMPRESSIBLE) verdicts.set(row.family, packed !== undefined);
    if (packed) {
      row.data = packed.data;
      row.encoding = packed.encoding;
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
 * 1. Ask which planned and required refs are stored; a required ref that is not is NOT_FOUND,
 *    and one linked as a value (`unchanged(ref)`) that does not decode as a value is INVALID_ARGUMENT.
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
  const stored = await ctx.storage.storedRefs([...planned.map((b) => b.ref), ...required, ...earlyPieces].filter((ref) => !confirmed(ref)));
  for (const ref of [...planned.map((b) => b.ref), ...required]) if (confirmed(ref)) stored.add(ref);
  for (const ref of required) {
    if (!stored.has(ref)) throw new CairnError("NOT_FOUND", `no stored value has ref ${ref}`, { ref });
  }
  // A value link (`unchanged(ref)`) must name a stored value, not bytes: refused before anything is written.
  await requireValues(ctx, [...plan.requiredValues].filter((ref) => !plan.values.has(ref)));
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
    for (const ref of await ctx.storage.storedRefs(lateCut.filter((p) => !ctx.knownStored.has(p.ref)).map((p) => p.ref))) stored.add(ref);
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
 * Cuts `bytes` into a chunk tree (its leaves and list nodes added to `pieces`)
 * and returns the row of the chunked blob itself, whose data is its root list:
 * see src/blob/chunk-tree.ts. A blob that would be one chunk is stored whole.
 */
function chunkInto(ctx: BlobContext, blob: PlannedBlob, bytes: Uint8Array, pieces: Row[]): Row {
  const { ref, kind, children } = blob;
  const tree = cutIntoTree(bytes, { kind, chunking: ctx.chunking, evolving: blob.evolving === true });
  if (!tree) return { ref, kind, encoding: Encoding.RAW, size: bytes.byteLength, data: bytes, children, compressible: true };
  for (const leaf of tree.leaves) pieces.push(pieceRow(leaf, ref));
  for (const list of tree.lists) pieces.push(pieceRow(list, undefined));
  // Its edges: to the top of its chunk tree, and to whatever its bytes link to.
  return { ref, kind, encoding: Encoding.CHUNKED, size: bytes.byteLength, data: tree.root.data, children: [...tree.root.links, ...children], compressible: false };
}

/** The row of a tree piece: chunks are compressible (sharing their blob's verdict), list nodes are not. */
function pieceRow(piece: TreePiece, family: Ref | undefined): Row {
  const row = { ref: piece.ref, kind: piece.kind, encoding: Encoding.RAW, size: piece.size, data: piece.data, children: piece.links };
  return family === undefined ? { ...row, compressible: false } : { ...row, compressible: true, family };
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
      rememberValues(ctx, plan.values);
      for (const blob of plan.blobs.values()) if (blob.text !== undefined) ctx.strings.remember(blob.ref, blob.text);
      return { outcome, prepared };
    }
    if (outcome.reason !== "missing-link") return { outcome, prepared };
    ctx.knownStored.clear();
    if (attempt > 0) throw new CairnError("NOT_FOUND", "a blob this write links to is not stored (removed while the write was prepared, twice)", {});
  }
}

const MAX_KNOWN = 200_000;

/** Remembers that `refs` are stored (see {@link BlobContext.knownStored}). */
export function rememberStored(ctx: BlobContext, refs: readonly Ref[]): void {
  if (ctx.knownStored.size + refs.length > MAX_KNOWN) ctx.knownStored.clear();
  for (const ref of refs) ctx.knownStored.add(ref);
}

