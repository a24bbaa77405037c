/**
 * Any cairn value as JSON the web app can show (`Rendered`, src/ui/CONTRACT.md):
 * plain JSON values as themselves, every other type as a tagged object, and
 * what is too long to send whole (strings over 2,000 characters, byte arrays,
 * arrays past 200 items) as a preview with the JSON Pointer to fetch it by.
 *
 * Pointers address the value as rendered: object keys and array indexes as
 * usual; a Map's entry `i` is `/i`, its key `/i/0` and its value `/i/1` (the
 * `entries` of its rendering); a Set's member `i` is `/i`. An object wrapped
 * because it has a `$` key adds no segment.
 */
import { CairnError } from "../../errors.js";

/** Strings longer than this are sent as a preview. */
export const LONG_STRING = 2000;
/** Characters in a long string's preview. */
export const STRING_PREVIEW = 500;
/** Bytes whose hex a byte array's preview holds. */
export const BYTES_PREVIEW = 64;
/** Array items sent before a `more` marker. */
export const MAX_ITEMS = 200;
/** The longest string the value endpoint sends whole (UTF-16 code units). */
export const MAX_WHOLE_STRING = 16 * 1024 * 1024;
/** The most bytes the value endpoint sends as hex. */
export const MAX_WHOLE_BYTES = 1024 * 1024;

/** JSON: what a rendering is made of. */
export type Rendered = null | boolean | number | string | Rendered[] | { [key: string]: Rendered };

/** One JSON Pointer segment, escaped (RFC 6901). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The segments of a JSON Pointer. @throws CairnError INVALID_ARGUMENT when it is neither "" nor starts with "/". */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw new CairnError("INVALID_ARGUMENT", `path must be a JSON Pointer ("" or starting with "/"), got ${JSON.stringify(pointer.slice(0, 80))}`, { argument: "path" });
  }
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hex(bytes: Uint8Array, limit: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, limit)).toString("hex");
}

/**
 * `value` rendered by the contract's rules; `path` is its JSON Pointer within
 * its slot (carried by the previews). Guarantee: the result is JSON
 * (JSON.stringify never throws on it and loses nothing of it), and no stored
 * string is longer than {@link LONG_STRING} in it.
 */
export function render(value: unknown, path: string): Rendered {
  switch (typeof value) {
    case "string":
      return value.length > LONG_STRING ? { $: "string", length: value.length, preview: value.slice(0, STRING_PREVIEW), path } : value;
    case "number":
      return Number.isFinite(value) ? value : { $: "number", value: String(value) };
    case "boolean":
      return value;
    case "bigint":
      return { $: "bigint", value: value.toString() };
    case "undefined":
      return { $: "undefined" };
    case "function":
    case "symbol":
      // Never in a stored value; shown rather than dropped.
      return { $: "unsupported", type: typeof value };
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return { $: "bytes", length: value.byteLength, preview: hex(value, BYTES_PREVIEW), path };
  if (value instanceof Date) return { $: "date", iso: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Map) {
    return { $: "map", entries: [...value].map(([k, v], i) => [render(k, `${path}/${i}/0`), render(v, `${path}/${i}/1`)]) };
  }
  if (value instanceof Set) return { $: "set", values: [...value].map((v, i) => render(v, `${path}/${i}`)) };
  if (Array.isArray(value)) {
    const out: Rendered[] = [];
    const shown = Math.min(value.length, MAX_ITEMS);
    for (let i = 0; i < shown; i++) out.push(render(value[i], `${path}/${i}`));
    if (value.length > MAX_ITEMS) out.push({ $: "more", count: value.length - MAX_ITEMS, path });
    return out;
  }
  if (isPlainObject(value)) {
    const out: { [key: string]: Rendered } = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, `${path}/${pointerSegment(k)}`);
    return Object.prototype.hasOwnProperty.call(value, "$") ? { $: "object", value: out } : out;
  }
  // A class instance (a stored value never is one: a hydrated value holds only the types above).
  return { $: "unsupported", type: (value as object).constructor?.name ?? "object" };
}

/**
 * The node at `pointer` within `root` (see the module comment for Maps and Sets).
 * @throws CairnError INVALID_ARGUMENT (a malformed pointer), NOT_FOUND (nothing there).
 */
export function resolvePointer(root: unknown, pointer: string): unknown {
  let node = root;
  const missing = () => new CairnError("NOT_FOUND", `nothing at ${JSON.stringify(pointer.slice(0, 200))} in the value`, { path: pointer });
  for (const segment of parsePointer(pointer)) {
    const index = /^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : undefined;
    if (Array.isArray(node)) {
      if (index === undefined || index >= node.length) throw missing();
      node = node[index];
    } else if (node instanceof Map) {
      if (index === undefined || index >= node.size) throw missing();
      node = [...node][index];
    } else if (node instanceof Set) {
      if (index === undefined || index >= node.size) throw missing();
      node = [...node][index];
    } else if (isPlainObject(node)) {
      if (!Object.prototype.hasOwnProperty.call(node, segment)) throw missing();
      node = node[segment];
    } else {
      throw missing();
    }
  }
  return node;
}

/**
 * The value endpoint's rendering of the node at `path`: a string whole (up to
 * {@link MAX_WHOLE_STRING}), bytes as full hex (up to {@link MAX_WHOLE_BYTES},
 * else the first that many with `truncated: true`), anything else as {@link render}.
 * @throws CairnError LIMIT_EXCEEDED for a longer string (fetch its blob raw instead).
 */
export function renderWhole(node: unknown, path: string): Rendered {
  if (typeof node === "string") {
    if (node.length > MAX_WHOLE_STRING) {
      throw new CairnError("LIMIT_EXCEEDED", `the string at ${JSON.stringify(path)} has ${node.length} characters; at most ${MAX_WHOLE_STRING} are sent whole (read its blob from /api/blobs/<ref>/raw)`, {
        path,
        length: node.length,
        limit: MAX_WHOLE_STRING,
      });
    }
    return node;
  }
  if (node instanceof Uint8Array) {
    return {
      $: "bytes",
      length: node.byteLength,
      hex: hex(node, MAX_WHOLE_BYTES),
      ...(node.byteLength > MAX_WHOLE_BYTES ? { truncated: true } : {}),
    };
  }
  return render(node, path);
}
