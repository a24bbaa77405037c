/**
 * Reading blobs back: one row, or a chunk tree, inflated within the recorded
 * sizes and re-hashed before anything is returned.
 */
import { decodeChunkList, ChunkEntryType, type ChunkEntry } from "../codec/chunk-list.js";
import { decompress } from "../codec/compression.js";
import { CairnError } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import type { BlobContext } from "./context.js";
import { Encoding } from "./blob-writer.js";
import type { BlobRow } from "../storage/storage.js";

/** A stored row, as the storage floor returns it. */
type StoredRow = BlobRow;

/** What a stored blob is, without its bytes. */
export interface BlobInfo {
  readonly ref: Ref;
  readonly kind: string;
  /** Logical bytes. */
  readonly size: number;
  /** Bytes in its own row (for a chunked blob, the chunk list only). */
  readonly storedSize: number;
  readonly encoding: "raw" | "deflate" | "chunked";
}

const ENCODING_NAMES = ["raw", "deflate", "chunked"] as const;

/**
 * Reads the blob `ref` and returns its logical bytes.
 * Guarantee: the returned bytes hash to `ref`; no allocation exceeds the size the
 * row records, and that size is checked against `ctx.maxBlobBytes` first.
 * @throws CairnError NOT_FOUND, INTEGRITY (with expected and actual hash), LIMIT_EXCEEDED.
 */
export async function readBlob(ctx: BlobContext, ref: Ref): Promise<Uint8Array> {
  const rows = await fetchRows(ctx, [ref]);
  const row = rows.get(ref);
  if (!row) throw new CairnError("NOT_FOUND", `no blob with ref ${ref}`, { ref });
  const bytes = await materializeAny(ctx, row, 0);
  verify(ref, bytes);
  return bytes;
}

/** Metadata of the blob `ref`, or undefined when it is not stored. Reads no blob bytes. */
export async function blobInfo(ctx: BlobContext, ref: Ref): Promise<BlobInfo | undefined> {
  const row = await ctx.storage.blobRowInfo(ref);
  if (!row) return undefined;
  return { ref, kind: row.kind, encoding: ENCODING_NAMES[row.encoding] ?? "raw", size: row.size, storedSize: row.storedSize };
}

function verify(ref: Ref, bytes: Uint8Array): void {
  const actual = hashBytes(bytes);
  if (actual !== ref) {
    throw new CairnError("INTEGRITY", `blob ${ref} is corrupt: its bytes hash to ${actual}`, { ref, expected: ref, actual });
  }
}

/**
 * Checks a row's recorded logical size before anything is allocated for it.
 * @throws CairnError INTEGRITY (an impossible size), LIMIT_EXCEEDED (over `maxBlobBytes`).
 */
export function checkRecordedSize(row: Pick<StoredRow, "ref" | "size">, maxBlobBytes: number): void {
  if (!Number.isSafeInteger(row.size) || row.size < 0) {
    throw new CairnError("INTEGRITY", `blob ${row.ref} records an impossible size ${row.size}`, { ref: row.ref, size: row.size });
  }
  if (row.size > maxBlobBytes) {
    throw new CairnError("LIMIT_EXCEEDED", `blob ${row.ref} records ${row.size} bytes, over the ${maxBlobBytes}-byte limit`, {
      ref: row.ref,
      limit: maxBlobBytes,
      actual: row.size,
    });
  }
}

/**
 * The logical bytes of a raw or deflated row, not yet hashed.
 * Guarantee: allocates at most the recorded size, which is checked first.
 * @throws CairnError INTEGRITY (wrong length, bad DEFLATE, a chunked or unknown encoding), LIMIT_EXCEEDED.
 */
export function materializeRow(row: Pick<StoredRow, "ref" | "encoding" | "size" | "data">, maxBlobBytes: number): Uint8Array {
  checkRecordedSize(row, maxBlobBytes);
  switch (row.encoding) {
    case Encoding.RAW:
      if (row.data.byteLength !== row.size) {
        throw new CairnError("INTEGRITY", `blob ${row.ref} has ${row.data.byteLength} bytes, not its recorded ${row.size}`, { ref: row.ref });
      }
      return row.data;
    case Encoding.DEFLATE:
      return decompress(row.data, row.size, row.ref);
    default:
      throw new CairnError("INTEGRITY", `blob ${row.ref} has encoding ${row.encoding}, which is not a single row`, { ref: row.ref, encoding: row.encoding });
  }
}

/**
 * The logical bytes of any row (not yet verified). A row reached as a chunk or a
 * list node may itself be chunked: the same bytes stored earlier as a blob of
 * their own. That is fine, since a ref names bytes, not a layout.
 */
async function materializeAny(ctx: BlobContext, row: StoredRow, depth: number): Promise<Uint8Array> {
  if (row.encoding !== Encoding.CHUNKED) return materializeRow(row, ctx.maxBlobBytes);
  if (depth > MAX_NESTING) throw new CairnError("INTEGRITY", `chunk tree of blob ${row.ref} nests deeper than ${MAX_NESTING} levels`, { ref: row.ref });
  return readChunked(ctx, row, depth);
}

/** How deep chunk lists may nest, counting list nodes and chunked chunks. */
const MAX_NESTING = 16;
/** The largest list node cairn writes is 64 entries of at most 42 bytes; anything far past that is hostile. */
const MAX_LIST_BYTES = 64 * 1024;

/**
 * Reassembles a chunked blob.
 * 1. Expand list nodes level by level (each verified) into the ordered leaf entries.
 * 2. Check the entries add up to the recorded size; allocate that once.
 * 3. Fetch the leaves in batches, inflate each within its entry's size, copy in place.
 * The caller verifies the whole.
 */
async function readChunked(ctx: BlobContext, row: StoredRow, depth: number): Promise<Uint8Array> {
  checkRecordedSize(row, ctx.maxBlobBytes);
  // Every level of the tree must account for exactly the recorded size with no
  // empty entries, so a hostile tree can never expand past O(size) entries; each
  // distinct list node is fetched, verified and decoded once.
  const fail = (why: string) => new CairnError("INTEGRITY", `chunk tree of blob ${row.ref} is malformed: ${why}`, { ref: row.ref });
  const checkSpan = (list: readonly ChunkEntry[], size: number, owner: string) => {
    let sum = 0;
    for (const entry of list) {
      if (entry.size <= 0) throw fail(`an entry of ${owner} is empty`);
      sum += entry.size;
    }
    if (sum !== size) throw fail(`the entries of ${owner} add up to ${sum} bytes, not ${size}`);
  };
  let entries = decodeChunkList(row.data, row.ref);
  checkSpan(entries, row.size, "the root list");
  const lists = new Map<Ref, ChunkEntry[]>();
  for (let level = depth; entries.some((e) => e.type === ChunkEntryType.LIST); level++) {
    if (level > MAX_NESTING) throw fail(`it nests deeper than ${MAX_NESTING} levels`);
    const wanted = [...new Set(entries.filter((e) => e.type === ChunkEntryType.LIST && !lists.has(e.ref)).map((e) => e.ref))];
    for (let i = 0; i < wanted.length; i += 128) {
      const part = wanted.slice(i, i + 128);
      const rows = await fetchRows(ctx, part);
      for (const ref of part) {
        const listRow = rows.get(ref);
        if (!listRow) throw missingPart(row.ref, ref);
        if (listRow.size > MAX_LIST_BYTES) throw fail(`list node ${ref} records ${listRow.size} bytes`);
        const listBytes = await materializeAny(ctx, listRow, level + 1);
        verify(ref, listBytes);
        lists.set(ref, decodeChunkList(listBytes, ref));
      }
    }
    const next: ChunkEntry[] = [];
    for (const entry of entries) {
      if (entry.type === ChunkEntryType.CHUNK) {
        next.push(entry);
        continue;
      }
      const children = lists.get(entry.ref)!;
      checkSpan(children, entry.size, `list node ${entry.ref}`);
      for (const child of children) next.push(child);
    }
    entries = next;
  }
  const out = new Uint8Array(row.size);
  const offsets = new Map<Ref, number[]>();
  const sizes = new Map<Ref, number>();
  let offset = 0;
  for (const entry of entries) {
    const at = offsets.get(entry.ref);
    if (at) {
      if (sizes.get(entry.ref) !== entry.size) throw fail(`chunk ${entry.ref} is listed with two sizes`);
      at.push(offset);
    } else {
      offsets.set(entry.ref, [offset]);
      sizes.set(entry.ref, entry.size);
    }
    offset += entry.size;
  }
  const refs = [...offsets.keys()];
  for (let i = 0; i < refs.length; i += 128) {
    const leaves = await fetchRows(ctx, refs.slice(i, i + 128));
    for (const ref of refs.slice(i, i + 128)) {
      const leaf = leaves.get(ref);
      if (!leaf) throw missingPart(row.ref, ref);
      if (leaf.size !== sizes.get(ref)) {
        throw new CairnError("INTEGRITY", `chunk ${ref} of blob ${row.ref} records ${leaf.size} bytes, the list says ${sizes.get(ref)}`, { ref: row.ref, chunk: ref });
      }
      const bytes = await materializeAny(ctx, leaf, depth + 1);
      if (leaf.encoding === Encoding.CHUNKED) verify(ref, bytes);
      for (const at of offsets.get(ref)!) out.set(bytes, at);
    }
  }
  return out;
}

function missingPart(owner: Ref, part: Ref): CairnError {
  return new CairnError("INTEGRITY", `blob ${owner} refers to chunk ${part}, which is not stored`, { ref: owner, missing: part });
}

/** Rows for `refs` (those that exist), keyed by ref. */
function fetchRows(ctx: BlobContext, refs: Ref[]): Promise<Map<Ref, StoredRow>> {
  return ctx.storage.blobRows(refs);
}

