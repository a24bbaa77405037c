/**
 * Reading values: decode a value blob and resolve its links (moved-out strings
 * and byte arrays, and stored values it refers to), fetching each linked blob once.
 */
import { BlobLink, decodeValue, LinkTag, type LinkSite } from "../codec/value-codec.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import type { BlobContext } from "./context.js";
import { readBlob } from "./blob-reader.js";
import { cachedString, rememberString } from "./large-string-cache.js";

/** How many stored values deep a chain of value links may go. */
const MAX_LINK_DEPTH = 32;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and decodes the value `ref`, with every link resolved.
 * Guarantee: every blob behind the value is re-hashed on the way in.
 * @throws CairnError NOT_FOUND, INTEGRITY, LIMIT_EXCEEDED.
 */
export async function readValue(ctx: BlobContext, ref: Ref, depth = 0): Promise<unknown> {
  if (depth > MAX_LINK_DEPTH) {
    throw new CairnError("LIMIT_EXCEEDED", `value ${ref} links through more than ${MAX_LINK_DEPTH} stored values`, { ref, limit: MAX_LINK_DEPTH });
  }
  const decoded = decodeValue(await readBlob(ctx, ref));
  await resolveSites(ctx, decoded.links, depth);
  return decoded.value;
}

/** Replaces each link site with what it links to, fetching each distinct blob once. */
export async function resolveSites(ctx: BlobContext, sites: readonly LinkSite[], depth: number): Promise<void> {
  if (sites.length === 0) return;
  const cache = new Map<string, Promise<unknown>>();
  const resolve = (link: BlobLink): Promise<unknown> => {
    const key = `${link.tag}:${link.ref}`;
    let pending = cache.get(key);
    if (!pending) {
      pending = resolveLink(ctx, link, depth);
      cache.set(key, pending);
    }
    return pending;
  };
  const values = await Promise.all(sites.map((site) => resolve(site.link)));
  sites.forEach((site, i) => site.replace(values[i]));
}

async function resolveLink(ctx: BlobContext, link: BlobLink, depth: number): Promise<unknown> {
  if (link.tag === LinkTag.VALUE) return readValue(ctx, link.ref, depth + 1);
  if (link.tag === LinkTag.STRING) {
    const cached = cachedString(link.ref);
    if (cached !== undefined) return cached;
  }
  const bytes = await readBlob(ctx, link.ref);
  if (link.tag === LinkTag.BYTES) return bytes;
  try {
    const text = utf8.decode(bytes);
    rememberString(text, link.ref, bytes.byteLength);
    return text;
  } catch (error) {
    throw new CairnError("INTEGRITY", `blob ${link.ref} is linked as text but is not valid UTF-8`, { ref: link.ref }, { cause: error });
  }
}
