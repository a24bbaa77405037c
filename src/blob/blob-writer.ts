/**
 * The transactional writer's blob half: from a write plan to the statements of
 * one write transaction. Asks the store which blobs it has (those are not sent
 * again), chunks and compresses the rest, and records their edges.
 */
import { chunkBoundaries } from "../codec/chunker.js";
import { encodeChunkList, ChunkEntryType, type ChunkEntry } from "../codec/chunk-list.js";
import { compress } from "../codec/compression.js";
import { CairnError } from "../errors.js";
import { hashBytes, refToBytes, type Ref } from "../hash/ref.js";
import type { InStatement } from "../db/database.js";
import type { BlobContext } from "./context.js";
import type { WritePlan } from "./write-plan.js";

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
  readonly encoding: Encoding;
  readonly size: number;
  data: Uint8Array;
  readonly children: readonly Ref[];
  readonly compressible: boolean;
}

/** What a prepared write will store. */
export interface PreparedWrite {
  readonly statements: InStatement[];
  /** Blobs (including chunks) this write adds, and their stored bytes. */
  readonly blobsWritten: number;
  readonly bytesWritten: number;
}

/**
 * Prepares the statements that store every blob of `plan` the store lacks.
 *
 * 1. Ask which planned and required refs are stored; a required ref that is not is NOT_FOUND.
 * 2. Cut each missing blob over `chunkAbove` into content-defined chunks and list nodes.
 * 3. Ask which of those chunks are stored; keep only the missing ones.
 * 4. Compress what is left (off the main thread, all at once) where it pays.
 * 5. Emit INSERT OR IGNORE for each row, then its edges. Each edge insert looks its
 *    target up by ref and fails (NOT NULL) when it is gone, so a blob removed
 *    after step 1 aborts the transaction instead of leaving a dangling edge.
 */
export async function prepareWrite(ctx: BlobContext, plan: WritePlan): Promise<PreparedWrite> {
  const planned = [...plan.blobs.values()];
  for (const blob of planned) {
    if (blob.bytes.byteLength > ctx.maxBlobBytes) {
      throw new CairnError("LIMIT_EXCEEDED", `a ${blob.kind} blob of ${blob.bytes.byteLength} bytes is over the ${ctx.maxBlobBytes}-byte limit`, {
        limit: ctx.maxBlobBytes,
        actual: blob.bytes.byteLength,
      });
    }
  }
  const stored = await storedRefs(ctx, [...planned.map((b) => b.ref), ...plan.required]);
  for (const ref of plan.required) {
    if (!stored.has(ref)) throw new CairnError("NOT_FOUND", `no stored value has ref ${ref}`, { ref });
  }
  const rows: Row[] = [];
  const pieces: Row[] = [];
  for (const blob of planned) {
    if (stored.has(blob.ref)) continue;
    if (blob.bytes.byteLength > ctx.chunkAbove) {
      rows.push(chunkInto(ctx, blob.ref, blob.kind, blob.bytes, pieces));
    } else {
      rows.push({ ref: blob.ref, kind: blob.kind, encoding: Encoding.RAW, size: blob.bytes.byteLength, data: blob.bytes, children: blob.children, compressible: true });
    }
  }
  if (pieces.length > 0) {
    const storedPieces = await storedRefs(ctx, pieces.map((p) => p.ref));
    const seen = new Set<Ref>();
    for (const piece of pieces) {
      if (storedPieces.has(piece.ref) || seen.has(piece.ref)) continue;
      seen.add(piece.ref);
      rows.push(piece);
    }
  }
  await Promise.all(
    rows.map(async (row) => {
      if (!row.compressible || ctx.profile === "none") return;
      const packed = await compress(row.data, ctx.profile);
      if (packed) {
        row.data = packed;
        (row as { encoding: Encoding }).encoding = Encoding.DEFLATE;
      }
    }),
  );
  const now = Date.now();
  const statements: InStatement[] = [];
  let bytesWritten = 0;
  for (const row of rows) {
    bytesWritten += row.data.byteLength;
    statements.push({
      sql: "INSERT OR IGNORE INTO blobs (ref, kind, encoding, size, stored_size, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
      args: [refToBytes(row.ref), row.kind, row.encoding, row.size, row.data.byteLength, now, row.data],
    });
  }
  for (const row of rows) statements.push(...edgeStatements(row.ref, row.children));
  return { statements, blobsWritten: rows.length, bytesWritten };
}

/** Statements recording `src -> dst` for each child; each fails if its target is not stored. */
export function edgeStatements(src: Ref, children: readonly Ref[]): InStatement[] {
  const out: InStatement[] = [];
  const unique = [...new Set(children)];
  for (let i = 0; i < unique.length; i += 200) {
    const part = unique.slice(i, i + 200);
    const values = part.map(() => "((SELECT id FROM blobs WHERE ref = ?), (SELECT id FROM blobs WHERE ref = ?))").join(", ");
    const args: Uint8Array[] = [];
    const srcBytes = refToBytes(src);
    for (const dst of part) args.push(srcBytes, refToBytes(dst));
    out.push({ sql: `INSERT INTO edges (src, dst) VALUES ${values} ON CONFLICT (src, dst) DO NOTHING`, args });
  }
  return out;
}

/**
 * Cuts `bytes` into chunks (added to `pieces`) and returns the row of the chunked
 * blob itself, whose data is its root chunk list.
 */
function chunkInto(ctx: BlobContext, ref: Ref, kind: string, bytes: Uint8Array, pieces: Row[]): Row {
  let entries: ChunkEntry[] = [];
  let start = 0;
  for (const end of chunkBoundaries(bytes, ctx.chunking)) {
    const data = bytes.subarray(start, end);
    const chunkRef = hashBytes(data);
    pieces.push({ ref: chunkRef, kind: "chunk", encoding: Encoding.RAW, size: data.byteLength, data, children: [], compressible: true });
    entries.push({ type: ChunkEntryType.CHUNK, ref: chunkRef, size: data.byteLength });
    start = end;
  }
  while (entries.length > MAX_ROOT_ENTRIES) entries = groupIntoLists(entries, pieces);
  const data = encodeChunkList(entries);
  return { ref, kind, encoding: Encoding.CHUNKED, size: bytes.byteLength, data, children: entries.map((e) => e.ref), compressible: false };
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
export async function storedRefs(ctx: BlobContext, refs: Iterable<Ref>): Promise<Set<Ref>> {
  const unique = [...new Set(refs)];
  const found = new Set<Ref>();
  for (let i = 0; i < unique.length; i += 256) {
    const part = unique.slice(i, i + 256);
    const result = await ctx.db.execute(`SELECT hex(ref) FROM blobs WHERE ref IN (${part.map(() => "?").join(", ")})`, part.map(refToBytes));
    for (const row of result.rows) found.add(String(row[0]).toLowerCase() as Ref);
  }
  return found;
}

/**
 * Stores `plan` and runs `tail` after its blobs, all in one write transaction.
 * Returns the results of the `tail` statements.
 *
 * If a blob the plan relied on vanished between the check and the transaction
 * (a concurrent gc), the transaction aborts whole and is prepared once more.
 */
export async function executeWrite(ctx: BlobContext, plan: WritePlan, tail: InStatement[] = []): Promise<{ results: ResultSetLike[]; prepared: PreparedWrite }> {
  for (let attempt = 0; ; attempt++) {
    const prepared = await prepareWrite(ctx, plan);
    try {
      const results = await ctx.db.writeBatch([...prepared.statements, ...tail]);
      return { results: results.slice(prepared.statements.length), prepared };
    } catch (error) {
      if (attempt === 0 && error instanceof CairnError && /NOT NULL constraint failed: edges\./.test(causeMessage(error))) continue;
      throw error;
    }
  }
}

/** The rows of a statement result, as returned by the database layer. */
export interface ResultSetLike {
  readonly rows: ArrayLike<ArrayLike<unknown>>;
}

/** The message of the libSQL error behind a translated error. */
export function causeMessage(error: CairnError): string {
  return error.cause instanceof Error ? error.cause.message : "";
}
