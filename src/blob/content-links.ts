/**
 * Links come from content: the refs a stored blob links to, computed from the
 * blob's own bytes, never taken from what an input (a bundle, a caller) declares.
 *
 * A blob's links are the union of
 * - its root list's entries, when its row is chunked (encoding CHUNKED);
 * - the entries of its logical bytes when they are a well-formed chunk list of
 *   at most {@link MAX_LIST_NODE_BYTES} (a list node: kind `chunk-list`);
 * - the links inside its logical bytes when they decode as a cairn value (a
 *   manifest, a slot value, anything `values.put` stored; moved-out strings and
 *   byte arrays, and values linked by `unchanged(ref)`).
 *
 * This is exactly the set a normal write records as edges (the writer records
 * the value's links and the root list's entries, and a list node's entries).
 * The rule does not trust the kind: a value whose kind was changed still has its
 * links, and bytes that carry no structure have none. The kind is checked
 * instead: a blob of a kind that carries structure (a manifest, a list node, a
 * value kind cairn writes) whose bytes do not parse as that is refused, with
 * the reader's own parsers (src/codec/chunk-list.ts, src/codec/value-codec.ts,
 * src/checkpoint/manifest.ts).
 */
import { decodeChunkList, ChunkEntryType } from "../codec/chunk-list.js";
import { decodeValue, LinkTag, type DecodedValue } from "../codec/value-codec.js";
import { parseManifest } from "../checkpoint/manifest.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { LIST_KIND } from "./chunk-tree.js";
import { isChunked } from "./encoding.js";

/** Kind of a checkpoint manifest's blob. */
export const MANIFEST_KIND = "manifest";

/**
 * Kinds cairn writes encoded values under (values.put's default, the slot kinds,
 * manifests, the LangGraph saver's pages and elements): their bytes must decode
 * as a value. A value stored under a kind of the caller's own is still a value
 * (its links are found by content), it is just not checked to be one.
 */
export const VALUE_KINDS: ReadonlySet<string> = new Set([
  "value",
  "tool-state",
  "plugin-snapshot",
  "execution-state",
  "snapshot",
  MANIFEST_KIND,
  "langgraph-element",
  "langgraph-page",
]);

/** The largest list node the reader accepts (src/blob/chunk-tree.ts): larger bytes are never read as a list. */
export const MAX_LIST_NODE_BYTES = 64 * 1024;

/** How the blob at the end of a link is read: as a value, as UTF-8 text, as bytes, as a leaf chunk or as a list node. */
export type LinkRole = "value" | "text" | "bytes" | "chunk" | "list";

/** One link a blob's content implies. */
export interface ContentLink {
  readonly ref: Ref;
  readonly role: LinkRole;
}

/** What a blob's logical bytes were read as. */
export type ContentStructure = "manifest" | "value" | "chunk-list" | "bytes";

/** The links one blob's content implies, and what its bytes are. */
export interface BlobContent {
  readonly structure: ContentStructure;
  /** Every link, in the order met (a ref linked twice in one role is listed once). */
  readonly links: readonly ContentLink[];
}

/** The encoded form of a link's header: MessagePack ext 8, 33 bytes, extension type 0 (src/codec/value-codec.ts). */
const LINK_HEADER = Buffer.from([0xc7, 0x21, 0x00]);

/**
 * Whether `bytes` may hold a value link: they contain a link's header followed
 * by a link tag. Bytes without one decode (if at all) to a value with no links.
 * Guarantee: never false for bytes that decode to a value with a link.
 */
export function mayHoldValueLinks(bytes: Uint8Array): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = buffer.indexOf(LINK_HEADER); at !== -1; at = buffer.indexOf(LINK_HEADER, at + 1)) {
    const tag = buffer[at + 3];
    if (tag !== undefined && tag <= LinkTag.VALUE) return true;
  }
  return false;
}

/**
 * Scans bytes that come piece by piece for a link's header (see
 * {@link mayHoldValueLinks}), across piece boundaries.
 */
export class LinkHeaderScanner {
  #tail: Uint8Array = new Uint8Array(0);
  /** True once a link header has been seen. */
  found = false;

  /** Feeds the next piece. */
  push(piece: Uint8Array): void {
    if (this.found || piece.byteLength === 0) return;
    const joined = this.#tail.byteLength > 0 ? Buffer.concat([this.#tail, piece.subarray(0, 4)]) : undefined;
    if ((joined && mayHoldValueLinks(joined)) || mayHoldValueLinks(piece)) {
      this.found = true;
      return;
    }
    const keep = Math.min(3, piece.byteLength);
    this.#tail = Uint8Array.from(piece.subarray(piece.byteLength - keep));
  }
}

function roleOfTag(tag: number): LinkRole {
  return tag === LinkTag.VALUE ? "value" : tag === LinkTag.STRING ? "text" : "bytes";
}

/** `links` without repeats (the same ref in the same role), in order. */
export function uniqueLinks(links: readonly ContentLink[]): ContentLink[] {
  const seen = new Set<string>();
  const out: ContentLink[] = [];
  for (const link of links) {
    const key = `${link.role}:${link.ref}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(link);
  }
  return out;
}

function listLinks(bytes: Uint8Array, ref: Ref): ContentLink[] {
  return decodeChunkList(bytes, ref).map((e) => ({ ref: e.ref, role: e.type === ChunkEntryType.LIST ? "list" : "chunk" }));
}

/**
 * The links a chunked row's own data (its root list) names; none for a single row.
 * @throws CairnError INTEGRITY (details.ref) when the root list is malformed.
 */
export function rootListLinks(row: { readonly ref: Ref; readonly encoding: number; readonly data: Uint8Array }): ContentLink[] {
  return isChunked(row) ? uniqueLinks(listLinks(row.data, row.ref)) : [];
}

/** Whether `bytes` could be a list node: small enough for the reader, and of the chunk list's format. */
function mayBeList(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes.byteLength <= MAX_LIST_NODE_BYTES && bytes[0] === 1;
}

function notOfKind(ref: Ref, kind: string, why: string, cause?: unknown): CairnError {
  return new CairnError("INTEGRITY", `blob ${ref} of kind ${kind} is not one: ${why}`, { ref, kind }, cause === undefined ? undefined : { cause });
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The links the logical bytes of blob `ref` imply (see the module comment), and
 * what the bytes are. `kind` is checked, never trusted: a manifest must decode
 * and parse as a checkpoint manifest (the one parser), a `chunk-list` must be a
 * well-formed chunk list, a value kind must decode as a value; any other kind's
 * bytes are read as a list node and as a value where they are one.
 *
 * Guarantee: depends on the bytes alone (and, for refusing, the kind); equals
 * the links a normal write of these bytes under this kind records.
 * @throws CairnError INTEGRITY (details.ref, details.kind) when a kind that
 *   carries structure does not parse as that kind.
 */
export function logicalContent(ref: Ref, kind: string, bytes: Uint8Array): BlobContent {
  const links: ContentLink[] = [];
  let structure: ContentStructure = "bytes";
  if (kind === LIST_KIND) {
    if (bytes.byteLength > MAX_LIST_NODE_BYTES) throw notOfKind(ref, kind, `${bytes.byteLength} bytes, more than a list node may have`);
    try {
      links.push(...listLinks(bytes, ref));
    } catch (error) {
      throw notOfKind(ref, kind, reasonOf(error), error);
    }
    return { structure: "chunk-list", links: uniqueLinks(links) };
  }
  if (mayBeList(bytes)) {
    try {
      links.push(...listLinks(bytes, ref));
      structure = "chunk-list";
    } catch {
      // not a chunk list: bytes
    }
  }
  const mustDecode = VALUE_KINDS.has(kind);
  if (mustDecode || mayHoldValueLinks(bytes)) {
    let decoded: DecodedValue | undefined;
    try {
      decoded = decodeValue(bytes);
    } catch (error) {
      // A value kind must be a value; any other kind's bytes that are not one are bytes.
      if (mustDecode) throw notOfKind(ref, kind, reasonOf(error), error);
    }
    if (decoded) {
      if (kind === MANIFEST_KIND) {
        try {
          parseManifest(decoded, ref);
        } catch (error) {
          throw notOfKind(ref, kind, reasonOf(error), error);
        }
        structure = "manifest";
      } else if (structure === "bytes") {
        structure = "value";
      }
      for (const site of decoded.links) links.push({ ref: site.link.ref, role: roleOfTag(site.link.tag) });
    }
  }
  return { structure, links: uniqueLinks(links) };
}

/**
 * Every link of a blob: its root list's (when its row is chunked) and its
 * logical bytes' ({@link logicalContent}).
 * @throws as {@link rootListLinks} and {@link logicalContent}.
 */
export function contentOf(
  row: { readonly ref: Ref; readonly kind: string; readonly encoding: number; readonly data: Uint8Array },
  logical: Uint8Array,
): BlobContent {
  const inner = logicalContent(row.ref, row.kind, logical);
  return { structure: inner.structure, links: uniqueLinks([...rootListLinks(row), ...inner.links]) };
}

/** The distinct refs of `links`. */
export function linkRefs(links: readonly ContentLink[]): Ref[] {
  return [...new Set(links.map((l) => l.ref))];
}
