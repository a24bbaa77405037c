/**
 * Reading values: decode a value blob and resolve its links (moved-out strings
 * and byte arrays, and stored values it refers to).
 */
import { BlobLink, decodeValue, LinkTag, type LinkSite } from "../codec/value-codec.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import type { BlobContext } from "./context.js";
import { readBlob } from "./blob-reader.js";
import { rememberValues } from "./known-values.js";

/** How many stored values deep a chain of value links may go. */
const MAX_LINK_DEPTH = 32;
/**
 * How many links one read resolves at most. Every link but a value link names a
 * blob of at least the move-out threshold, so a legitimate value reaches the byte
 * budget long before this; a value whose links fan out reaches this first.
 */
const MAX_LINKS_PER_READ = 100_000;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * One read of a value and everything it links to. Each distinct blob is fetched
 * and verified once per read; each link site gets a value of its own (no two
 * places in the result share a mutable object); and the bytes decoded in all are
 * capped at the store's `maxBlobBytes`, so a value whose links fan out cannot
 * expand without bound.
 */
class ValueRead {
  readonly #blobs = new Map<Ref, Promise<Uint8Array>>();
  #budget: number;
  #links = 0;

  constructor(private readonly ctx: BlobContext) {
    this.#budget = ctx.maxBlobBytes;
  }

  #blob(ref: Ref): Promise<Uint8Array> {
    let pending = this.#blobs.get(ref);
    if (!pending) {
      pending = readBlob(this.ctx, ref);
      this.#blobs.set(ref, pending);
    }
    return pending;
  }

  #spend(bytes: number, ref: Ref): void {
    this.#budget -= bytes;
    if (this.#budget < 0) {
      throw new CairnError("LIMIT_EXCEEDED", `value ${ref} expands to more than ${this.ctx.maxBlobBytes} bytes through its links`, {
        ref,
        limit: this.ctx.maxBlobBytes,
      });
    }
  }

  async value(ref: Ref, depth: number): Promise<unknown> {
    if (depth > MAX_LINK_DEPTH) {
      throw new CairnError("LIMIT_EXCEEDED", `value ${ref} links through more than ${MAX_LINK_DEPTH} stored values`, { ref, limit: MAX_LINK_DEPTH });
    }
    const bytes = await this.#blob(ref);
    this.#spend(bytes.byteLength, ref);
    const decoded = decodeValue(bytes);
    rememberValues(this.ctx, [ref]);
    await this.resolve(decoded.links, depth);
    return decoded.value;
  }

  async resolve(sites: readonly LinkSite[], depth: number): Promise<void> {
    this.#links += sites.length;
    if (this.#links > MAX_LINKS_PER_READ) {
      throw new CairnError("LIMIT_EXCEEDED", `a value read resolves more than ${MAX_LINKS_PER_READ} links`, { limit: MAX_LINKS_PER_READ });
    }
    const values = await Promise.all(sites.map((site) => this.#link(site.link, depth)));
    sites.forEach((site, i) => site.replace(values[i]));
  }

  async #link(link: BlobLink, depth: number): Promise<unknown> {
    switch (link.tag) {
      case LinkTag.VALUE:
        return this.value(link.ref, depth + 1);
      case LinkTag.BYTES: {
        const bytes = await this.#blob(link.ref);
        this.#spend(bytes.byteLength, link.ref);
        return bytes.slice();
      }
      default: {
        const cached = this.ctx.strings.get(link.ref);
        if (cached !== undefined) return cached;
        const bytes = await this.#blob(link.ref);
        this.#spend(bytes.byteLength, link.ref);
        let text: string;
        try {
          text = utf8.decode(bytes);
        } catch (error) {
          throw new CairnError("INTEGRITY", `blob ${link.ref} is linked as text but is not valid UTF-8`, { ref: link.ref }, { cause: error });
        }
        this.ctx.strings.remember(link.ref, text);
        return text;
      }
    }
  }
}

/**
 * Reads and decodes the value `ref`, with every link resolved.
 * Guarantee: every blob behind the value that is read from the database is
 * re-hashed on the way in; large strings this store handle already wrote or
 * verified come from its memory.
 * @throws CairnError NOT_FOUND, INTEGRITY, LIMIT_EXCEEDED.
 */
export function readValue(ctx: BlobContext, ref: Ref, depth = 0): Promise<unknown> {
  return new ValueRead(ctx).value(ref, depth);
}

/**
 * Reads several values in one read: a blob linked from more than one of them
 * (a tool output in both the history and the tool snapshot) is fetched once.
 */
export function readValues(ctx: BlobContext, refs: readonly Ref[]): Promise<unknown[]> {
  const read = new ValueRead(ctx);
  return Promise.all(refs.map((ref) => read.value(ref, 0)));
}

/** Replaces each link site with what it links to (for values decoded by the caller). */
export function resolveSites(ctx: BlobContext, sites: readonly LinkSite[], depth = 0): Promise<void> {
  return new ValueRead(ctx).resolve(sites, depth);
}
