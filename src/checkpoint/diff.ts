/**
 * Checkpoint and value diffs over a store.
 *
 * Reading: the two manifests, then only the slots whose refs differ, decoded
 * with their links unresolved, so moved-out strings and byte arrays (and
 * `unchanged(ref)` values) compare by ref without being read. Only the links
 * that end up in the patch (a changed large string, an added message holding
 * one) are read.
 */
import { Pointer } from "rfc6902";
import { BlobLink, decodeValue, LinkTag, type LinkSite } from "../codec/value-codec.js";
import { CairnError } from "../errors.js";
import { parseRef, type Ref } from "../hash/ref.js";
import type { BlobContext } from "../blob/context.js";
import { readBlob } from "../blob/blob-reader.js";
import { resolveSites } from "../blob/value-reader.js";
import type { Checkpoint, Manifest } from "./checkpoint.js";
import { dehydrate, readManifest } from "./dehydrate.js";
import type { CheckpointDiff, DiffOperation, DiffOptions, LineDiff, SlotDiff, ValueChanges, ValueDiff } from "./diff-types.js";
import {
  diffTree,
  finishOperation,
  isPlainObject,
  lineDiff,
  parseDiffOptions,
  sameValue,
  wantsLineDiff,
  type ParsedDiffOptions,
  type WorkingOperation,
} from "./diff-values.js";

export type * from "./diff-types.js";
export { compareValues } from "./diff-values.js";
export { applyPatch, checkpointView, type CheckpointView } from "./diff-patch.js";

/** A checkpoint (or value) named by its ref, or anything carrying one: a commit result, a stored checkpoint, a history entry. */
export type RefLike = Ref | string | { readonly ref: Ref | string };

/** How many stored values deep a chain of links inside a diffed value may go. */
const MAX_LINK_DEPTH = 32;

function refOf(input: RefLike, what: string): Ref {
  if (typeof input === "object" && input !== null && "ref" in input) return parseRef(input.ref, `${what}.ref`);
  return parseRef(input, what);
}

/**
 * Diffs two checkpoints: which snapshot slots were added, removed, changed or
 * left unchanged, each changed slot as RFC 6902 operations, and the turn, plugin
 * revision and meta when they differ.
 *
 * Guarantees:
 * - A slot whose ref is the same in both checkpoints is `unchanged` and is never
 *   read or decoded. A moved-out string or byte array with the same ref on both
 *   sides is never read either.
 * - Applying `patch` to `checkpointView(a)` gives `checkpointView(b)` (and each
 *   slot's `patch` turns that slot of `a` into that slot of `b`).
 * - `equal` is true exactly when nothing differs (see {@link CheckpointDiff.equal}).
 * - Every blob read is verified against its ref.
 * @throws CairnError INVALID_REF (a or b not a ref), NOT_FOUND (no such blob),
 *   INTEGRITY (a blob that is not a checkpoint manifest, or a corrupt blob that had to be read),
 *   INVALID_ARGUMENT (bad options).
 * @example
 * const d = await store.diff(turn1, turn2);        // refs, or commit results
 * d.slots.execution.status                          // "changed"
 * d.slots.execution.patch                           // [{ op: "add", path: "/snapshots/execution/messages/2", value: {...} }]
 */
export async function diffCheckpoints(ctx: BlobContext, a: RefLike, b: RefLike, options?: DiffOptions): Promise<CheckpointDiff> {
  const parsed = parseDiffOptions(options);
  const aRef = refOf(a, "a");
  const bRef = refOf(b, "b");
  const [aManifest, bManifest] = await Promise.all([readManifest(ctx, aRef), aRef === bRef ? undefined : readManifest(ctx, bRef)]);
  return compareSides(ctx, storedSide(ctx, aRef, aManifest), storedSide(ctx, bRef, bManifest ?? aManifest), parsed);
}

/**
 * Diffs an expected checkpoint (not stored) against stored checkpoint `received`:
 * `a` is the expected checkpoint (its ref is the one it would have in this store;
 * nothing is written), `b` the received one. Slots whose refs agree are not read.
 * An `unchanged(ref)` slot in `expected` compares by ref.
 * @throws CairnError INVALID_ARGUMENT, UNSUPPORTED_VALUE (a malformed expected checkpoint),
 *   INVALID_REF, NOT_FOUND, INTEGRITY.
 */
export async function compareCheckpoint(ctx: BlobContext, expected: Checkpoint, received: RefLike, options?: DiffOptions): Promise<CheckpointDiff> {
  const parsed = parseDiffOptions(options);
  const bRef = refOf(received, "received");
  const { ref: aRef, manifest: aManifest } = dehydrate(ctx, expected);
  const bManifest = await readManifest(ctx, bRef);
  const expectedSide: Side = {
    ref: aRef,
    manifest: aManifest,
    load: async (slot) => expected.snapshots[slot],
  };
  return compareSides(ctx, expectedSide, storedSide(ctx, bRef, bManifest), parsed);
}

/**
 * Diffs two stored values (refs from `store.values.put`).
 *
 * Guarantees: equal refs are equal values, and then nothing is read; otherwise
 * both are decoded with links unresolved, and only links that end up in the
 * patch are read. Applying `patch` to value `a` gives value `b`.
 * @throws CairnError INVALID_REF, NOT_FOUND, INTEGRITY, INVALID_ARGUMENT (bad options).
 */
export async function diffStoredValues(ctx: BlobContext, a: RefLike, b: RefLike, options?: DiffOptions): Promise<ValueDiff> {
  const parsed = parseDiffOptions(options);
  const aRef = refOf(a, "a");
  const bRef = refOf(b, "b");
  if (aRef === bRef) return { kind: "value", a: aRef, b: bRef, equal: true, patch: [], lineDiffs: [] };
  const [x, y] = await Promise.all([readUnresolved(ctx, aRef), readUnresolved(ctx, bRef)]);
  const changes = await settle(ctx, diffTree(x, y, new Pointer()), parsed, 0);
  return { kind: "value", a: aRef, b: bRef, equal: changes.patch.length === 0, ...changes };
}

/** One side of a checkpoint diff: a manifest and a way to load a slot's value (links may stay unresolved). */
interface Side {
  readonly ref: Ref;
  readonly manifest: Manifest;
  load(slot: string): Promise<unknown>;
}

function storedSide(ctx: BlobContext, ref: Ref, manifest: Manifest): Side {
  return { ref, manifest, load: (slot) => readUnresolved(ctx, manifest.slots[slot]!) };
}

async function compareSides(ctx: BlobContext, a: Side, b: Side, options: ParsedDiffOptions): Promise<CheckpointDiff> {
  const ma = a.manifest;
  const mb = b.manifest;
  const head: DiffOperation[] = [];
  let turn: CheckpointDiff["turn"];
  if (ma.turn !== mb.turn) {
    turn = { from: ma.turn, to: mb.turn };
    head.push({ op: "replace", path: "/turn", value: mb.turn, old: ma.turn });
  }
  let pluginRevision: CheckpointDiff["pluginRevision"];
  if (ma.pluginRevision !== mb.pluginRevision) {
    pluginRevision = {
      ...(ma.pluginRevision !== undefined ? { from: ma.pluginRevision } : {}),
      ...(mb.pluginRevision !== undefined ? { to: mb.pluginRevision } : {}),
    };
    if (mb.pluginRevision === undefined) head.push({ op: "remove", path: "/pluginRevision", old: ma.pluginRevision });
    else if (ma.pluginRevision === undefined) head.push({ op: "add", path: "/pluginRevision", value: mb.pluginRevision });
    else head.push({ op: "replace", path: "/pluginRevision", value: mb.pluginRevision, old: ma.pluginRevision });
  }
  let meta: ValueChanges | undefined;
  const aHasMeta = "meta" in ma && ma.meta !== undefined;
  const bHasMeta = "meta" in mb && mb.meta !== undefined;
  if (aHasMeta && bHasMeta) {
    const changes = await settle(ctx, diffTree(ma.meta, mb.meta, new Pointer(["", "meta"])), options, 0);
    if (changes.patch.length > 0) meta = changes;
  } else if (aHasMeta) {
    meta = { patch: [{ op: "remove", path: "/meta", old: ma.meta }], lineDiffs: [] };
  } else if (bHasMeta) {
    meta = { patch: [{ op: "add", path: "/meta", value: mb.meta }], lineDiffs: [] };
  }
  if (meta) head.push(...meta.patch);

  const names = [...new Set([...Object.keys(ma.slots), ...Object.keys(mb.slots)])].sort();
  const slotDiffs = await Promise.all(
    names.map(async (name): Promise<SlotDiff> => {
      const aRef = ma.slots[name];
      const bRef = mb.slots[name];
      const ptr = new Pointer(["", "snapshots", name]);
      if (aRef === undefined) {
        const value = await resolveDeep(ctx, await b.load(name), 0);
        return { status: "added", bRef: bRef!, patch: [{ op: "add", path: ptr.toString(), value }], lineDiffs: [] };
      }
      if (bRef === undefined) return { status: "removed", aRef, patch: [{ op: "remove", path: ptr.toString() }], lineDiffs: [] };
      if (aRef === bRef) return { status: "unchanged", aRef, bRef, patch: [], lineDiffs: [] };
      const [x, y] = await Promise.all([a.load(name), b.load(name)]);
      const changes = await settle(ctx, diffTree(x, y, ptr), options, 0);
      return { status: "changed", aRef, bRef, ...changes };
    }),
  );
  const slots: Record<string, SlotDiff> = {};
  names.forEach((name, i) => (slots[name] = slotDiffs[i]!));
  const patch = [...head, ...slotDiffs.flatMap((s) => s.patch)];
  const equal = head.length === 0 && slotDiffs.every((s) => s.status === "unchanged");
  return {
    kind: "checkpoint",
    a: a.ref,
    b: b.ref,
    equal,
    slots,
    ...(turn ? { turn } : {}),
    ...(pluginRevision ? { pluginRevision } : {}),
    ...(meta ? { meta } : {}),
    patch,
  };
}

/** Decodes stored value `ref`, leaving its links in place. */
async function readUnresolved(ctx: BlobContext, ref: Ref): Promise<unknown> {
  return decodeValue(await readBlob(ctx, ref)).value;
}

function containsLink(value: unknown, depth = 0): boolean {
  if (value instanceof BlobLink) return true;
  if (typeof value !== "object" || value === null || depth > 300) return false;
  if (Array.isArray(value)) return value.some((v) => containsLink(v, depth + 1));
  if (value instanceof Map) {
    for (const v of value.values()) if (containsLink(v, depth + 1)) return true;
    return false;
  }
  if (isPlainObject(value)) return Object.values(value).some((v) => containsLink(v, depth + 1));
  return false;
}

/**
 * `value` with every link in it replaced by what it links to (read and verified).
 * The containers on the way to a link are copied, never changed in place: a value
 * may be the caller's (an expected checkpoint).
 */
async function resolveDeep(ctx: BlobContext, value: unknown, depth: number): Promise<unknown> {
  if (!containsLink(value)) return value;
  const sites: LinkSite[] = [];
  const holder = { value: undefined as unknown };
  const walk = (node: unknown, replace: (resolved: unknown) => void): unknown => {
    if (node instanceof BlobLink) {
      sites.push({ link: node, replace });
      return node;
    }
    if (!containsLink(node)) return node;
    if (Array.isArray(node)) {
      const out = node.slice();
      out.forEach((child, i) => (out[i] = walk(child, (v) => (out[i] = v))));
      return out;
    }
    if (node instanceof Map) {
      const out = new Map(node);
      for (const [key, child] of node) out.set(key, walk(child, (v) => out.set(key, v)));
      return out;
    }
    const record = node as Record<string, unknown>;
    const out: Record<string, unknown> = Object.getPrototypeOf(record) === null ? Object.create(null) : {};
    for (const key of Object.keys(record)) {
      const define = (v: unknown) => Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
      define(walk(record[key], define));
    }
    return out;
  };
  holder.value = walk(value, (v) => (holder.value = v));
  await resolveSites(ctx, sites, depth);
  return holder.value;
}

/**
 * Turns working operations (whose values may hold links) into a final patch:
 * links are read, a replaced pair of stored values is diffed inside, a replaced
 * link that holds the same value as the other side is dropped, and replaced long
 * or moved-out strings get line diffs.
 */
async function settle(ctx: BlobContext, ops: WorkingOperation[], options: ParsedDiffOptions, depth: number): Promise<ValueChanges> {
  if (depth > MAX_LINK_DEPTH) {
    throw new CairnError("LIMIT_EXCEEDED", `a diffed value links through more than ${MAX_LINK_DEPTH} stored values`, { limit: MAX_LINK_DEPTH });
  }
  const parts = await Promise.all(ops.map((op) => settleOne(ctx, op, options, depth)));
  return { patch: parts.flatMap((p) => p.patch), lineDiffs: parts.flatMap((p) => p.lineDiffs) };
}

async function settleOne(ctx: BlobContext, op: WorkingOperation, options: ParsedDiffOptions, depth: number): Promise<ValueChanges> {
  if (op.op === "add") return { patch: [finishOperation({ ...op, value: await resolveDeep(ctx, op.value, depth) })], lineDiffs: [] };
  if (op.op === "remove") return { patch: [finishOperation({ ...op, old: await resolveDeep(ctx, op.old, depth) })], lineDiffs: [] };
  const { old, value } = op;
  const oldLink = old instanceof BlobLink ? old : undefined;
  const newLink = value instanceof BlobLink ? value : undefined;
  if (oldLink?.tag === LinkTag.VALUE && newLink?.tag === LinkTag.VALUE) {
    // Two different stored values in the same place: diff inside them, still by ref.
    const [x, y] = await Promise.all([readUnresolved(ctx, oldLink.ref), readUnresolved(ctx, newLink.ref)]);
    return settle(ctx, diffTree(x, y, Pointer.fromJSON(op.path)), options, depth + 1);
  }
  const [x, y] = await Promise.all([resolveDeep(ctx, old, depth), resolveDeep(ctx, value, depth)]);
  if (oldLink || newLink) {
    if (sameValue(x, y)) return { patch: [], lineDiffs: [] }; // the same value, linked on one side only
    if ((Array.isArray(x) && Array.isArray(y)) || (isPlainObject(x) && isPlainObject(y))) {
      return settle(ctx, diffTree(x, y, Pointer.fromJSON(op.path)), options, depth + 1);
    }
  }
  const lineDiffs: LineDiff[] = [];
  if (wantsLineDiff(x, y, options, oldLink !== undefined || newLink !== undefined)) {
    const aRef = oldLink?.tag === LinkTag.STRING ? oldLink.ref : undefined;
    const bRef = newLink?.tag === LinkTag.STRING ? newLink.ref : undefined;
    lineDiffs.push(lineDiff(op.path, x, y as string, options.context, aRef, bRef));
  }
  return { patch: [finishOperation({ op: "replace", path: op.path, value: y, old: x })], lineDiffs };
}
