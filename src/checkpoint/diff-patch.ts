/**
 * Applying RFC 6902 patches to cairn values, and the plain view of a checkpoint
 * that a checkpoint diff's patch applies to.
 *
 * A JSON-only applier (rfc6902's applyPatch) applies cairn's patches between
 * JSON values as they are. This one also keeps what JSON cannot hold: Map, Set,
 * Date, BigInt, Uint8Array, undefined (a key holding undefined is kept), -0 and
 * NaN, and never walks into a Map, Set or other leaf.
 */
import { Pointer } from "rfc6902";
import { BlobLink } from "../codec/value-codec.js";
import { CairnError, describe } from "../errors.js";
import type { Checkpoint } from "./checkpoint.js";
import type { PatchOperation } from "./diff-types.js";
import { isPlainObject, sameValue } from "./diff-values.js";

/** A checkpoint as plain data: what a checkpoint diff's patch applies to. */
export interface CheckpointView {
  turn: number;
  snapshots: Record<string, unknown>;
  pluginRevision?: string | number;
  meta?: unknown;
}

/**
 * The view of a checkpoint that {@link CheckpointDiff.patch} applies to:
 * `{ turn, snapshots, pluginRevision?, meta? }`, without the ref, manifest or seq
 * of a stored checkpoint. Slots holding undefined are left out (they are not stored).
 * The values are shared with `checkpoint`, not copied.
 */
export function checkpointView(checkpoint: Checkpoint): CheckpointView {
  const snapshots: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(checkpoint.snapshots)) if (value !== undefined) snapshots[name] = value;
  return {
    turn: checkpoint.turn,
    snapshots,
    ...(checkpoint.pluginRevision !== undefined ? { pluginRevision: checkpoint.pluginRevision } : {}),
    ...(checkpoint.meta !== undefined ? { meta: checkpoint.meta } : {}),
  };
}

/**
 * Applies an RFC 6902 patch to a copy of `target` and returns the copy;
 * `target` is not changed. Accepts all six operations; `test` compares as cairn
 * does (Object.is for numbers, canonical encoding for Map and Set).
 *
 * Guarantee: for `{ patch } = compareValues(a, b)` (or a value or checkpoint
 * diff), `applyPatch(a, patch)` equals `b`.
 * @throws CairnError INVALID_ARGUMENT when an operation does not apply (a
 *   missing path, an index out of range, a failed test), naming the operation.
 * @example
 * applyPatch({ messages: ["hi"] }, [{ op: "add", path: "/messages/1", value: "bye" }])
 * // { messages: ["hi", "bye"] }
 */
export function applyPatch<T = unknown>(target: unknown, patch: readonly PatchOperation[]): T {
  if (!Array.isArray(patch)) throw new CairnError("INVALID_ARGUMENT", `a patch must be an array of operations, got ${describe(patch)}`, { argument: "patch" });
  let root = copy(target);
  patch.forEach((op: PatchOperation, index: number) => {
    root = applyOne(root, op, index);
  });
  return root as T;
}

function applyOne(root: unknown, op: PatchOperation, index: number): unknown {
  const fail = (why: string) =>
    new CairnError("INVALID_ARGUMENT", `patch operation ${index} (${String(op?.op)} ${String(op?.path)}) does not apply: ${why}`, {
      argument: "patch",
      index,
      path: op?.path,
    });
  if (typeof op !== "object" || op === null) throw fail("not an operation object");
  const tokens = parsePath(op.path, fail);
  switch (op.op) {
    case "add":
      requireValue(op, fail);
      return add(root, tokens, copy(op.value), fail);
    case "remove":
      return remove(root, tokens, fail).root;
    case "replace":
      requireValue(op, fail);
      get(root, tokens, fail);
      return tokens.length === 0 ? copy(op.value) : set(root, tokens, copy(op.value), fail);
    case "move": {
      const from = parsePath(op.from, fail);
      if (from.length < tokens.length && from.every((t, i) => t === tokens[i])) throw fail("cannot move a value into itself");
      const taken = remove(root, from, fail);
      return add(taken.root, tokens, taken.value, fail);
    }
    case "copy":
      return add(root, tokens, copy(get(root, parsePath(op.from, fail), fail)), fail);
    case "test":
      requireValue(op, fail);
      if (!sameValue(get(root, tokens, fail), op.value)) throw fail("the value differs");
      return root;
    default:
      throw fail(`unknown op ${describe((op as { op: unknown }).op)}`);
  }
}

function requireValue(op: object, fail: (why: string) => CairnError): void {
  if (!Object.hasOwn(op, "value")) throw fail("it has no value member");
}

function parsePath(path: unknown, fail: (why: string) => CairnError): string[] {
  if (typeof path !== "string") throw fail("the path is not a string");
  if (path === "") return [];
  if (!path.startsWith("/")) throw fail("a JSON Pointer starts with /");
  return Pointer.fromJSON(path).tokens.slice(1);
}

/** The container at `tokens` minus the last one, and the last token. */
function parentOf(root: unknown, tokens: string[], fail: (why: string) => CairnError): { parent: unknown; key: string } {
  const parent = get(root, tokens.slice(0, -1), fail);
  return { parent, key: tokens[tokens.length - 1]! };
}

function get(root: unknown, tokens: string[], fail: (why: string) => CairnError): unknown {
  let node = root;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (Array.isArray(node)) {
      const index = arrayIndex(token, node.length - 1, fail);
      node = node[index];
    } else if (isPlainObject(node)) {
      if (!Object.hasOwn(node, token)) throw fail(`no member ${JSON.stringify(token)} at ${prefix(tokens, i)}`);
      node = node[token];
    } else {
      throw fail(`${describe(node)} at ${prefix(tokens, i)} has no members`);
    }
  }
  return node;
}

function add(root: unknown, tokens: string[], value: unknown, fail: (why: string) => CairnError): unknown {
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(root, tokens, fail);
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : arrayIndex(key, parent.length, fail);
    parent.splice(index, 0, value);
  } else if (isPlainObject(parent)) {
    define(parent, key, value);
  } else {
    throw fail(`cannot add to ${describe(parent)}`);
  }
  return root;
}

function set(root: unknown, tokens: string[], value: unknown, fail: (why: string) => CairnError): unknown {
  const { parent, key } = parentOf(root, tokens, fail);
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length - 1, fail)] = value;
  else define(parent as Record<string, unknown>, key, value);
  return root;
}

function remove(root: unknown, tokens: string[], fail: (why: string) => CairnError): { root: unknown; value: unknown } {
  if (tokens.length === 0) return { root: undefined, value: root };
  const value = get(root, tokens, fail);
  const { parent, key } = parentOf(root, tokens, fail);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length - 1, fail), 1);
  else delete (parent as Record<string, unknown>)[key];
  return { root, value };
}

function arrayIndex(token: string, max: number, fail: (why: string) => CairnError): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw fail(`${JSON.stringify(token)} is not an array index`);
  const index = Number(token);
  if (index > max) throw fail(`index ${index} is out of range`);
  return index;
}

/** Sets a member without ever touching a prototype (a "__proto__" key stays a key). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function prefix(tokens: string[], length: number): string {
  return length === 0 ? "the root" : new Pointer(["", ...tokens.slice(0, length)]).toString();
}

/** A deep copy of the walkable parts (arrays, plain objects); leaves are copied with structuredClone, links kept. */
function copy(value: unknown): unknown {
  if (typeof value !== "object" || value === null || value instanceof BlobLink) return value;
  if (Array.isArray(value)) return Array.from(value, copy);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
    for (const key of Object.keys(value)) define(out, key, copy(value[key]));
    return out;
  }
  return structuredClone(value);
}
