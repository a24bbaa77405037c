/**
 * How the LangGraph saver turns channel values and pending writes into cairn
 * values and back.
 *
 * Every value goes through the saver's serde (LangGraph's `SerializerProtocol`,
 * `JsonPlusSerializer` by default), so whatever LangGraph can checkpoint round
 * trips, class instances included. The serde's output is kept as text when its
 * type is `json` (a string inside a cairn value: large ones are moved out into
 * blobs of their own and chunked), and as bytes otherwise.
 *
 * An array whose elements are all objects (a message list, the typical growing
 * channel) is stored element by element, in pages of {@link PAGE_ITEMS}: each
 * full page is a value of its own (`{ items }`, kind `langgraph-page`), and the
 * checkpoint holds its ref in a slot of its own (see `pageSlot`); the stored
 * value holds the page count and the last, partial page inline:
 * `{ pages, items: [[type, data] | null, ...] }`. An element whose text has
 * {@link LINK_CHARS} characters or more is stored once as a value of its own
 * (kind `langgraph-element`): a page links it (cairn's `unchanged(ref)` inside a
 * value); in the tail its place is `null` and the checkpoint holds its ref in a
 * slot (see `elementSlot`), so readers fetch it once for many checkpoints.
 *
 * So appending a message to a long list costs the new message, the inline tail
 * and one page slot per 64 messages; a page or large element is never encoded or
 * hashed again while its objects are unchanged; a reader decodes each page once
 * however many checkpoints share it; identical pages and elements in any thread
 * are stored once. Anything else is stored whole: `{ value: [type, data] }`.
 */
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { CairnError, describe } from "../../errors.js";
import { unchanged, type BlobLink, type Ref, type Store } from "../../index.js";

/** The serde's output: its type tag and its data, as text for `json`, as bytes otherwise. */
export type Serialized = [type: string, data: string | Uint8Array];

/**
 * The stored form of one channel value or pending write. In the tail (`items`),
 * a large element is `null`: the checkpoint holds its ref in a slot.
 */
export type StoredValue = { readonly value: Serialized } | { readonly pages: number; readonly items: Array<Serialized | null> };

/** A value ready to store: its stored form, the refs of its full pages in order, and of the large elements of its tail by index. */
export interface EncodedValue {
  readonly stored: StoredValue;
  readonly pages: readonly Ref[];
  readonly elements: ReadonlyMap<number, Ref>;
}

/** Elements per stored page of a list. */
export const PAGE_ITEMS = 64;
/** Element texts of at least this many characters are stored as values of their own. */
export const LINK_CHARS = 4096;
const ELEMENT_KIND = "langgraph-element";
const PAGE_KIND = "langgraph-page";
/** Characters of page and element text the read cache keeps across calls, per saver (16 Mi UTF-16 units: 32 MiB). */
const RAW_CACHE_CHARS = 16 * 1024 * 1024;

/** Deepest object graph the serialization cache walks; deeper (or cyclic) graphs are serialized every time. */
const MAX_WALK_DEPTH = 64;
/** Most entries a walk records per element; larger elements are serialized every time. */
const MAX_WALK_NODES = 100_000;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ARRAY_MARK = Symbol("array");

interface CachedElement {
  readonly serialized: Serialized;
  /** The element's object graph when it was serialized (prototypes, keys and leaf values, depth first); undefined if it cannot be compared. */
  readonly snapshot: unknown[] | undefined;
  /** The ref of the stored element, once stored (large elements only). */
  ref?: Ref;
}

/** Where a decoder finds the parts of a stored list stored apart (from the checkpoint's slots). */
export interface PartRefs {
  /** The ref of full page `page`. */
  page(page: number): Ref | undefined;
  /** The ref of the large element at `index` of the tail. */
  element(index: number): Ref | undefined;
}

interface CachedPage {
  /** The element objects of the page, and what each encoded to, when the page was stored. */
  readonly members: readonly object[];
  readonly parts: ReadonlyArray<Serialized | Ref>;
  readonly ref: Ref;
}

interface DecodedPage {
  readonly raw: readonly Serialized[];
  readonly values: readonly unknown[];
}

/**
 * Per-call memo for decoding: elements stored once decode to one object within
 * one `list()` call (never twice within one tuple), as consecutive states of a
 * live graph share their message objects. Pages are keyed by ref, inline
 * elements by type and text.
 */
export class DecodeMemo {
  /** @internal Stored slot values by ref, as read (never handed out). */
  readonly values = new Map<Ref, Promise<unknown>>();
  /** @internal */
  readonly byPage = new Map<Ref, Promise<DecodedPage>>();
  /** @internal */
  readonly byElement = new Map<Ref, Promise<DecodedPage>>();
  /** @internal */
  readonly byText = new Map<string, Map<string, Promise<unknown>>>();
}

/** Encodes values through a serde into cairn values, and back. One per saver. */
export class ValueCodec {
  readonly #serde: SerializerProtocol;
  readonly #store: Store;
  /** Element -> its serialization (and stored ref), valid while its object graph is unchanged (checked on every use). */
  #elements = new WeakMap<object, CachedElement>();
  /** First element of a stored page -> the page, valid while its members and their encodings are the same. */
  #pages = new WeakMap<object, CachedPage>();
  /** Pages and large elements read back, by ref (a ref names its content, so an entry never goes stale). */
  readonly #raw = new Map<Ref, { readonly items: Serialized[]; readonly chars: number }>();
  #rawChars = 0;

  constructor(serde: SerializerProtocol, store: Store) {
    this.#serde = serde;
    this.#store = store;
  }

  /** Forgets every element's serialization and stored ref (after a stored element turned out to be gone). */
  forget(): void {
    this.#elements = new WeakMap();
    this.#pages = new WeakMap();
  }

  /**
   * The stored form of `value`. Arrays of objects are stored element by element
   * in pages; an element seen before whose object graph is unchanged (same
   * prototypes, keys and leaf values, compared by identity) is not serialized
   * again, and a page whose elements are all unchanged is not stored again. New
   * pages and large elements are stored (each in a transaction of its own, the
   * first time) and returned by ref.
   * @throws CairnError UNSUPPORTED_VALUE when the serde returns something that is
   *   not `[string, bytes]`; whatever storing a page or element throws.
   */
  async encode(value: unknown): Promise<EncodedValue> {
    if (!isObjectArray(value)) return { stored: { value: await this.serialize(value) }, pages: [], elements: new Map() };
    const parts = await Promise.all(value.map((element) => this.#element(element as object)));
    const full = Math.floor(parts.length / PAGE_ITEMS);
    const pages = await Promise.all(Array.from({ length: full }, (_, page) => this.#page(value, parts, page * PAGE_ITEMS)));
    const elements = new Map<number, Ref>();
    const items = parts.slice(full * PAGE_ITEMS).map((part, i) => {
      if (typeof part !== "string") return part;
      elements.set(i, part);
      return null;
    });
    return { stored: { pages: full, items }, pages, elements };
  }

  /** The serde's output for `value`, as text when it is `json` and valid UTF-8. */
  async serialize(value: unknown): Promise<Serialized> {
    const out = (await this.#serde.dumpsTyped(value)) as unknown;
    if (!Array.isArray(out) || typeof out[0] !== "string" || !(out[1] instanceof Uint8Array || typeof out[1] === "string")) {
      throw new CairnError("UNSUPPORTED_VALUE", `the serde's dumpsTyped returned ${describe(out)}, not [type, bytes]`, { path: "" });
    }
    const [type, data] = out as [string, Uint8Array | string];
    if (type === "json" && data instanceof Uint8Array) {
      try {
        return [type, utf8.decode(data)];
      } catch {
        return [type, data];
      }
    }
    return [type, data];
  }

  /** Turns a serialized value back into the value, through the serde. */
  async deserialize(serialized: unknown): Promise<unknown> {
    const [type, data] = parseSerialized(serialized);
    return this.#serde.loadsTyped(type, typeof data === "string" ? data : data.slice());
  }

  /**
   * The value stored as `stored`, its pages and large tail elements found through `refs`. With a memo,
   * pages and inline elements decoded before in the same call are shared (arrays
   * themselves never are, nor are objects within one value).
   * @throws CairnError INTEGRITY when `stored` is not a stored value or a page is missing; NOT_FOUND.
   */
  async decode(stored: unknown, refs: PartRefs, memo?: DecodeMemo): Promise<unknown> {
    if (typeof stored !== "object" || stored === null) throw notStored(stored);
    if ("value" in stored) return this.deserialize((stored as { value: unknown }).value);
    const { pages: count, items } = stored as { pages?: unknown; items?: unknown };
    if (!Number.isSafeInteger(count) || (count as number) < 0 || !Array.isArray(items)) throw notStored(stored);
    const decodedPages: Array<Promise<DecodedPage>> = [];
    for (let page = 0; page < (count as number); page++) {
      const ref = refs.page(page);
      if (ref === undefined) throw new CairnError("INTEGRITY", `stored list lacks the slot of its page ${page}`, { page });
      let found = memo?.byPage.get(ref);
      if (found === undefined) {
        found = this.#decodePage(ref, false);
        memo?.byPage.set(ref, found);
      }
      decodedPages.push(found);
    }
    const tailRaw: Array<Serialized | Promise<DecodedPage>> = items.map((item: unknown, i) => {
      if (item !== null) return parseSerialized(item);
      const ref = refs.element(i);
      if (ref === undefined) throw new CairnError("INTEGRITY", `stored list lacks the slot of its element ${i}`, { index: i });
      let found = memo?.byElement.get(ref);
      if (found === undefined) {
        found = this.#decodePage(ref, true);
        memo?.byElement.set(ref, found);
      }
      return found;
    });
    const tail: Array<Promise<unknown>> = tailRaw.map((item) => {
      if (!Array.isArray(item)) return item.then((element) => element.values[0]);
      const [type, data] = item;
      if (memo === undefined || typeof data !== "string") return this.#serde.loadsTyped(type, typeof data === "string" ? data : data.slice());
      let byText = memo.byText.get(type);
      if (byText === undefined) memo.byText.set(type, (byText = new Map()));
      let found = byText.get(data);
      if (found === undefined) {
        found = this.#serde.loadsTyped(type, data);
        byText.set(data, found);
      }
      return found;
    });
    const [decoded, tailValues, tailItems] = await Promise.all([
      Promise.all(decodedPages),
      Promise.all(tail),
      Promise.all(tailRaw.map(async (item) => (Array.isArray(item) ? item : (await item).raw[0]!))),
    ]);
    const raw = [...decoded.flatMap((page) => page.raw), ...tailItems];
    const out = [...decoded.flatMap((page) => page.values), ...tailValues];
    if (memo !== undefined) {
      // One object per place within a value: a repeated element gets a copy of its own.
      const used = new Set<unknown>();
      for (let i = 0; i < out.length; i++) {
        const element = out[i];
        if (typeof element !== "object" || element === null) continue;
        if (used.has(element)) out[i] = await this.deserialize(raw[i]);
        else used.add(element);
      }
    }
    return out;
  }

  /** A page (or a large element, as a page of one) decoded. */
  async #decodePage(ref: Ref, element: boolean): Promise<DecodedPage> {
    const raw = await this.#rawPage(ref, element);
    return { raw, values: await Promise.all(raw.map((item) => this.deserialize(item))) };
  }

  /** A page's serialized elements (links resolved by cairn), or a large element as a page of one, from the cache or the store. */
  async #rawPage(ref: Ref, element: boolean): Promise<Serialized[]> {
    const cached = this.#raw.get(ref);
    if (cached !== undefined) {
      this.#raw.delete(ref);
      this.#raw.set(ref, cached);
      return cached.items;
    }
    const value = await this.#store.values.get(ref);
    let items: Serialized[];
    if (element) {
      items = [parseSerialized(value)];
    } else {
      const page = value as { items?: unknown } | null;
      if (typeof page !== "object" || page === null || !Array.isArray(page.items)) throw notStored(page);
      items = page.items.map(parseSerialized);
    }
    const chars = items.reduce((sum, [, data]) => sum + (typeof data === "string" ? data.length : data.byteLength), 0);
    if (chars <= RAW_CACHE_CHARS / 4) {
      this.#raw.set(ref, { items, chars });
      this.#rawChars += chars;
      for (const [oldest, entry] of this.#raw) {
        if (this.#rawChars <= RAW_CACHE_CHARS) break;
        this.#raw.delete(oldest);
        this.#rawChars -= entry.chars;
      }
    }
    return items;
  }

  /** The ref of the page of `elements` starting at `start`, storing it unless stored with the same members. */
  async #page(elements: readonly object[], parts: ReadonlyArray<Serialized | Ref>, start: number): Promise<Ref> {
    const cached = this.#pages.get(elements[start]!);
    if (cached !== undefined && samePage(cached, elements, parts, start)) return cached.ref;
    const members = elements.slice(start, start + PAGE_ITEMS);
    const memberParts = parts.slice(start, start + PAGE_ITEMS);
    const ref = await this.#store.values.put({ items: memberParts.map(storedElement) }, { kind: PAGE_KIND });
    this.#pages.set(elements[start]!, { members, parts: memberParts, ref });
    return ref;
  }

  /** An element's serialized form, or the ref of the stored element when it is large. */
  async #element(element: object): Promise<Serialized | Ref> {
    let cached = this.#elements.get(element);
    if (cached === undefined || cached.snapshot === undefined || !matches(element, cached.snapshot)) {
      // Snapshot before serializing: a change made meanwhile then fails the next comparison.
      const snapshot = takeSnapshot(element);
      cached = { serialized: await this.serialize(element), snapshot };
      if (snapshot) this.#elements.set(element, cached);
      else this.#elements.delete(element);
    }
    const [, data] = cached.serialized;
    if ((typeof data === "string" ? data.length : data.byteLength) < LINK_CHARS) return cached.serialized;
    cached.ref ??= await this.#store.values.put(cached.serialized, { kind: ELEMENT_KIND });
    return cached.ref;
  }
}

/** An element's stored form in a page: inline, or a link to the element stored apart. */
function storedElement(part: Serialized | Ref): Serialized | BlobLink {
  return typeof part === "string" ? unchanged(part) : part;
}

/** Whether a cached page still has exactly these element objects, encoded to exactly these parts. */
function samePage(cached: CachedPage, elements: readonly object[], parts: ReadonlyArray<Serialized | Ref>, start: number): boolean {
  for (let i = 0; i < PAGE_ITEMS; i++) {
    if (cached.members[i] !== elements[start + i] || cached.parts[i] !== parts[start + i]) return false;
  }
  return true;
}

function notStored(stored: unknown): CairnError {
  return new CairnError("INTEGRITY", `not a stored LangGraph value: ${describe(stored)}`, {});
}

function parseSerialized(serialized: unknown): Serialized {
  if (
    !Array.isArray(serialized) ||
    serialized.length !== 2 ||
    typeof serialized[0] !== "string" ||
    !(typeof serialized[1] === "string" || serialized[1] instanceof Uint8Array)
  ) {
    throw new CairnError("INTEGRITY", `not a serialized LangGraph value: ${describe(serialized)}`, {});
  }
  return serialized as Serialized;
}

/** A plain, dense array whose every element is a non-null object. */
function isObjectArray(value: unknown): value is object[] {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i];
    if (typeof element !== "object" || element === null) return false;
  }
  return true;
}

/**
 * Whether the object's serialization is a function of its own enumerable
 * properties and prototype: plain objects, plain arrays, and LangChain
 * `Serializable` instances (messages), whose `toJSON` reads their own fields.
 * Anything with internal state (Date, Map, Set, typed arrays, other classes) is not.
 */
function walkable(value: object, proto: unknown): boolean {
  if (proto === Object.prototype || proto === null) return true;
  try {
    const candidate = value as { lc_namespace?: unknown; toJSON?: unknown };
    return Array.isArray(candidate.lc_namespace) && typeof candidate.toJSON === "function";
  } catch {
    return false;
  }
}

/** Records the object graph of `root`, or undefined when it cannot be compared cheaply and soundly. */
function takeSnapshot(root: object): unknown[] | undefined {
  const out: unknown[] = [];
  return record(root, 0, out) ? out : undefined;
}

function record(value: unknown, depth: number, out: unknown[]): boolean {
  if (out.length > MAX_WALK_NODES) return false;
  if (typeof value !== "object" || value === null) {
    out.push(value);
    return true;
  }
  if (depth > MAX_WALK_DEPTH) return false;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return false;
    out.push(ARRAY_MARK, value.length);
    for (let i = 0; i < value.length; i++) if (!record(value[i], depth + 1, out)) return false;
    return true;
  }
  if (!walkable(value, proto)) return false;
  const keys = Object.keys(value);
  out.push(proto, keys.length);
  for (const key of keys) {
    out.push(key);
    if (!record((value as Record<string, unknown>)[key], depth + 1, out)) return false;
  }
  return true;
}

/** Whether `root`'s object graph is still the one `snapshot` recorded (leaves compared with Object.is). */
function matches(root: object, snapshot: readonly unknown[]): boolean {
  const cursor = { at: 0 };
  return compare(root, 0, snapshot, cursor) && cursor.at === snapshot.length;
}

function compare(value: unknown, depth: number, snapshot: readonly unknown[], cursor: { at: number }): boolean {
  if (cursor.at >= snapshot.length) return false;
  if (typeof value !== "object" || value === null) return Object.is(snapshot[cursor.at++], value);
  if (depth > MAX_WALK_DEPTH) return false;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype || snapshot[cursor.at++] !== ARRAY_MARK || snapshot[cursor.at++] !== value.length) return false;
    for (let i = 0; i < value.length; i++) if (!compare(value[i], depth + 1, snapshot, cursor)) return false;
    return true;
  }
  if (snapshot[cursor.at++] !== proto) return false;
  const keys = Object.keys(value);
  if (snapshot[cursor.at++] !== keys.length) return false;
  for (const key of keys) {
    if (snapshot[cursor.at++] !== key) return false;
    if (!compare((value as Record<string, unknown>)[key], depth + 1, snapshot, cursor)) return false;
  }
  return true;
}
