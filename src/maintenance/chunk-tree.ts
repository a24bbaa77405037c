/**
 * Walking a chunked blob's tree without holding the blob: the parts are fetched
 * a window at a time and fed, in order, to one SHA-256. Used by verify (parts
 * from the database) and by bundle import (parts from the bundle or the store).
 */
import { createHash } from "node:crypto";
import { Encoding } from "../blob/blob-writer.js";
import { ChunkEntryType, decodeChunkList, type ChunkEntry } from "../codec/chunk-list.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { checkRecordedSize, materializeRow, reasonOf, type BlobRow } from "./blob-rows.js";

/** Rows for those of `refs` that exist, keyed by ref. */
export type FetchRows = (refs: readonly Ref[]) => Promise<Map<Ref, BlobRow>>;

/** Something wrong inside a chunk tree. */
export type TreeProblem =
  | { readonly type: "missing"; readonly chunk: Ref }
  | { readonly type: "malformed"; readonly reason: string }
  | { readonly type: "corrupt-part"; readonly chunk: Ref; readonly reason: string };

export interface TreeOptions {
  readonly maxBlobBytes: number;
  /** Parts already known to be bad (reported elsewhere): the walk goes on, but no hash is computed. */
  readonly isBad?: (ref: Ref) => boolean;
  /** Receives the logical bytes in order, for callers that need them. */
  readonly sink?: (bytes: Uint8Array) => void;
}

export interface TreeResult {
  /** SHA-256 of the reassembled bytes; undefined when a part is missing, bad or malformed. */
  readonly actual: Ref | undefined;
  readonly bytesHashed: number;
  readonly problems: readonly TreeProblem[];
  /** True when a part known to be bad was met (so no hash, and no new problem for it). */
  readonly tainted: boolean;
}

/** How deep list nodes and chunked parts may nest (the reader's limit). */
const MAX_NESTING = 16;
/** Parts fetched per query: bounds memory to this many parts. */
const WINDOW = 64;

/**
 * Reassembles the chunked row `root` as a stream and hashes it.
 *
 * 1. Parse the root chunk list.
 * 2. Expand list nodes level by level into the ordered leaf entries (each node
 *    fetched, materialized and parsed; a node that is itself chunked is
 *    reassembled and its own hash checked).
 * 3. Check the leaf sizes add up to the size the row records.
 * 4. Fetch the leaves a window at a time, check each one's recorded size,
 *    inflate it within that size, and feed it to the hash (and the sink).
 * Every missing part is reported, not only the first. Parts are not hashed one
 * by one here: callers check single rows on their own.
 */
export async function hashChunkTree(root: BlobRow, fetch: FetchRows, options: TreeOptions, depth = 0): Promise<TreeResult> {
  const problems: TreeProblem[] = [];
  const missing = new Set<Ref>();
  let tainted = false;
  const fail = (reason: string): TreeResult => ({ actual: undefined, bytesHashed: 0, problems: [...problems, { type: "malformed", reason }], tainted });
  try {
    checkRecordedSize(root, options.maxBlobBytes);
  } catch (error) {
    return fail(reasonOf(error));
  }
  // 1. The root list.
  let entries: ChunkEntry[];
  try {
    entries = decodeChunkList(root.data, root.ref);
  } catch (error) {
    return fail(reasonOf(error));
  }
  // 2. Expand list nodes.
  for (let level = depth; entries.some((e) => e.type === ChunkEntryType.LIST); level++) {
    if (level >= MAX_NESTING) return fail(`chunk tree of blob ${root.ref} nests deeper than ${MAX_NESTING} levels`);
    const lists = await fetch([...new Set(entries.filter((e) => e.type === ChunkEntryType.LIST).map((e) => e.ref))]);
    const next: ChunkEntry[] = [];
    for (const entry of entries) {
      if (entry.type === ChunkEntryType.CHUNK) {
        next.push(entry);
        continue;
      }
      const node = lists.get(entry.ref);
      if (!node) {
        if (!missing.has(entry.ref)) problems.push({ type: "missing", chunk: entry.ref });
        missing.add(entry.ref);
        continue;
      }
      if (options.isBad?.(entry.ref)) {
        tainted = true;
        continue;
      }
      try {
        next.push(...decodeChunkList(await materializePart(node, fetch, options, level + 1), entry.ref));
      } catch (error) {
        problems.push({ type: "corrupt-part", chunk: entry.ref, reason: reasonOf(error) });
      }
    }
    entries = next;
  }
  // 3. Sizes.
  const complete = problems.length === 0 && !tainted;
  const total = entries.reduce((sum, e) => sum + e.size, 0);
  if (complete && total !== root.size) return fail(`chunks of blob ${root.ref} add up to ${total} bytes, not its recorded ${root.size}`);
  // 4. Leaves, a window at a time.
  const hash = createHash("sha256");
  let hashing = complete;
  let bytesHashed = 0;
  for (let i = 0; i < entries.length; i += WINDOW) {
    const window = entries.slice(i, i + WINDOW);
    const rows = await fetch([...new Set(window.map((e) => e.ref))]);
    for (const entry of window) {
      const leaf = rows.get(entry.ref);
      if (!leaf) {
        if (!missing.has(entry.ref)) problems.push({ type: "missing", chunk: entry.ref });
        missing.add(entry.ref);
        hashing = false;
        continue;
      }
      if (options.isBad?.(entry.ref)) {
        tainted = true;
        hashing = false;
        continue;
      }
      if (!hashing) continue;
      if (leaf.size !== entry.size) {
        problems.push({ type: "corrupt-part", chunk: entry.ref, reason: `chunk ${entry.ref} records ${leaf.size} bytes, the list says ${entry.size}` });
        hashing = false;
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = await materializePart(leaf, fetch, options, depth + 1);
      } catch (error) {
        problems.push({ type: "corrupt-part", chunk: entry.ref, reason: reasonOf(error) });
        hashing = false;
        continue;
      }
      hash.update(bytes);
      options.sink?.(bytes);
      bytesHashed += bytes.byteLength;
    }
  }
  return { actual: hashing ? (hash.digest("hex") as Ref) : undefined, bytesHashed, problems, tainted };
}

/**
 * The logical bytes of a part: a raw or deflated row, or a chunked one (the same
 * bytes stored earlier as a blob of their own), reassembled and its hash checked.
 * @throws CairnError INTEGRITY, LIMIT_EXCEEDED.
 */
async function materializePart(row: BlobRow, fetch: FetchRows, options: TreeOptions, depth: number): Promise<Uint8Array> {
  if (row.encoding !== Encoding.CHUNKED) return materializeRow(row, options.maxBlobBytes);
  if (depth >= MAX_NESTING) throw new CairnError("INTEGRITY", `chunk tree nests deeper than ${MAX_NESTING} levels at ${row.ref}`, { ref: row.ref });
  const parts: Uint8Array[] = [];
  const inner = await hashChunkTree(row, fetch, { maxBlobBytes: options.maxBlobBytes, isBad: options.isBad, sink: (b) => parts.push(b) }, depth);
  if (inner.actual !== row.ref) {
    const why = inner.problems[0] ? describeProblem(inner.problems[0]) : `its chunks hash to ${inner.actual ?? "nothing"}`;
    throw new CairnError("INTEGRITY", `chunked part ${row.ref} is damaged: ${why}`, { ref: row.ref });
  }
  return Buffer.concat(parts);
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
