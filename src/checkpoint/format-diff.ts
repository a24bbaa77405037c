/**
 * formatDiff: a checkpoint or value diff as text for people and test failures.
 */
import pc from "picocolors";
import { BlobLink } from "../codec/value-codec.js";
import type { CheckpointDiff, DiffOperation, LineDiff, ValueChanges, ValueComparison } from "./diff-types.js";
import { isPlainObject } from "./diff-values.js";

/** Options for {@link formatDiff}. */
export interface FormatDiffOptions {
  /** ANSI colours (red removed, green added, yellow replaced, cyan paths). Default false. */
  readonly color?: boolean;
  /**
   * Values rendered longer than this many characters are elided in the middle:
   * `"first 40 chars…last 40 chars" (12,345 chars)`. Default 80.
   */
  readonly maxValueLength?: number;
  /** Most operations shown per slot (and for meta, and for a value diff); the rest are counted. Default 50. */
  readonly maxOperations?: number;
  /** Most lines shown per line diff; the rest are counted. Default 40. */
  readonly maxLineDiffLines?: number;
  /** List unchanged slots (on one line). Default true. */
  readonly showUnchanged?: boolean;
  /** Names for the two sides in the header. Default `{ a: "a", b: "b" }`; the vitest matchers use expected and received. */
  readonly labels?: { readonly a: string; readonly b: string };
}

interface Style {
  readonly path: (s: string) => string;
  readonly add: (s: string) => string;
  readonly remove: (s: string) => string;
  readonly change: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

const number = new Intl.NumberFormat("en-US");

/**
 * Renders a diff (from `store.diff`, `store.diffValues` or `compareValues`) as
 * text: a header with both refs (where there are refs), the turn, plugin revision
 * and meta changes, then each added, removed or changed slot with its operations
 * (path, old value → new value) and the line diffs of long strings; unchanged
 * slots on one line. Long values are elided in the middle, with their length.
 *
 * Guarantee: the output is plain text unless `color` is true; it never holds a
 * value rendered longer than about `maxValueLength` characters.
 * @example
 * console.log(formatDiff(await store.diff(before, after), { color: true }));
 */
export function formatDiff(diff: CheckpointDiff | ValueComparison, options: FormatDiffOptions = {}): string {
  const c = pc.createColors(options.color === true);
  const style: Style = { path: c.cyan, add: c.green, remove: c.red, change: c.yellow, dim: c.dim, bold: c.bold };
  const max = Math.max(options.maxValueLength ?? 80, 10);
  const maxOps = Math.max(options.maxOperations ?? 50, 1);
  const maxLines = Math.max(options.maxLineDiffLines ?? 40, 1);
  const labels = options.labels ?? { a: "a", b: "b" };
  const out: string[] = [];
  const what = diff.kind === "checkpoint" ? "checkpoint" : "value";
  // A stored diff names both refs; compareValues' in-memory one has none.
  const ref = (r: string | undefined) => (r === undefined ? "" : ` ${short(r)}`);
  const refs = "a" in diff ? { a: diff.a, b: diff.b } : { a: undefined, b: undefined };
  const header = `${what} ${labels.a}${ref(refs.a)} → ${labels.b}${ref(refs.b)}`;
  if (diff.equal) {
    out.push(style.bold(`${header}: no changes`));
    return out.join("\n");
  }
  out.push(style.bold(header));
  if (diff.kind === "value") {
    out.push(...operations(diff, "  ", style, max, maxOps, maxLines));
    return out.join("\n");
  }
  if (diff.turn) out.push(`  ${style.path("/turn")}: ${style.remove(String(diff.turn.from))} → ${style.add(String(diff.turn.to))}`);
  if (diff.pluginRevision) {
    const { from, to } = diff.pluginRevision;
    out.push(`  ${style.path("/pluginRevision")}: ${from === undefined ? style.dim("(none)") : style.remove(render(from, max))} → ${to === undefined ? style.dim("(none)") : style.add(render(to, max))}`);
  }
  if (diff.meta) {
    out.push(`  ${style.path("/meta")} ${style.change("changed")}`);
    out.push(...operations(diff.meta, "    ", style, max, maxOps, maxLines));
  }
  const unchanged: string[] = [];
  for (const [name, slot] of Object.entries(diff.slots)) {
    const path = `/snapshots/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`;
    switch (slot.status) {
      case "unchanged":
        unchanged.push(path);
        break;
      case "added":
        out.push(`  ${style.path(path)} ${style.add("added")} ${style.dim(`(${short(slot.bRef!)})`)}`);
        out.push(...operations(slot, "    ", style, max, maxOps, maxLines));
        break;
      case "removed":
        out.push(`  ${style.path(path)} ${style.remove("removed")} ${style.dim(`(was ${short(slot.aRef!)})`)}`);
        break;
      case "changed": {
        const count = slot.patch.length;
        out.push(`  ${style.path(path)} ${style.change("changed")} ${style.dim(`(${short(slot.aRef!)} → ${short(slot.bRef!)}, ${count} operation${count === 1 ? "" : "s"})`)}`);
        if (count === 0) out.push(`    ${style.dim("(the same value, stored differently)")}`);
        out.push(...operations(slot, "    ", style, max, maxOps, maxLines));
        break;
      }
    }
  }
  if (unchanged.length > 0 && options.showUnchanged !== false) out.push(`  ${style.dim(`unchanged: ${unchanged.join(", ")}`)}`);
  return out.join("\n");
}

function operations(changes: ValueChanges, indent: string, style: Style, max: number, maxOps: number, maxLines: number): string[] {
  const lines: string[] = [];
  const byPath = new Map<string, LineDiff>(changes.lineDiffs.map((d) => [d.path, d]));
  const shown = changes.patch.slice(0, maxOps);
  for (const op of shown) {
    lines.push(indent + operation(op, style, max));
    const lineDiff = op.op === "replace" ? byPath.get(op.path) : undefined;
    if (lineDiff) lines.push(...renderLineDiff(lineDiff, indent + "    ", style, max * 2, maxLines));
  }
  const rest = changes.patch.length - shown.length;
  if (rest > 0) lines.push(indent + style.dim(`… ${number.format(rest)} more operation${rest === 1 ? "" : "s"}`));
  return lines;
}

function operation(op: DiffOperation, style: Style, max: number): string {
  const path = style.path(op.path || "(root)");
  switch (op.op) {
    case "add":
      return `${style.add("+")} ${path}: ${style.add(render(op.value, max))}`;
    case "remove":
      return `${style.remove("-")} ${path}${"old" in op ? `: ${style.remove(render(op.old, max))}` : ""}`;
    case "replace":
      return `${style.change("~")} ${path}: ${"old" in op ? `${style.remove(render(op.old, max))} → ` : ""}${style.add(render(op.value, max))}`;
  }
}

function renderLineDiff(diff: LineDiff, indent: string, style: Style, maxLine: number, maxLines: number): string[] {
  const refs = [diff.aRef ? `a ${short(diff.aRef)}` : "", diff.bRef ? `b ${short(diff.bRef)}` : ""].filter(Boolean).join(", ");
  const lines: string[] = [];
  if (refs) lines.push(indent + style.dim(`(moved out: ${refs})`));
  if (!diff.complete) {
    lines.push(indent + style.dim("(too many changed lines for a line diff)"));
    return lines;
  }
  let budget = maxLines;
  let hidden = 0;
  for (const hunk of diff.hunks) {
    const all = [`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines];
    for (const [i, line] of all.entries()) {
      if (budget <= 0) {
        hidden++;
        continue;
      }
      budget--;
      const text = elide(line, maxLine);
      if (i === 0) lines.push(indent + style.dim(text));
      else if (line.startsWith("+")) lines.push(indent + style.add(text));
      else if (line.startsWith("-")) lines.push(indent + style.remove(text));
      else lines.push(indent + style.dim(text));
    }
  }
  if (hidden > 0) lines.push(indent + style.dim(`… ${number.format(hidden)} more line${hidden === 1 ? "" : "s"}`));
  return lines;
}

/** The first 12 hex digits of a ref. */
function short(ref: string): string {
  return ref.slice(0, 12);
}

/** `text` elided in the middle when longer than `max`. */
function elide(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}

/**
 * A one-line rendering of any cairn value, JSON-like where it can be:
 * `-0`, `NaN`, `12n`, `undefined`, `Date(2024-05-01T10:00:00.000Z)`,
 * `Uint8Array(1,024 bytes 0a1b2c…)`, `Map(1) {"k" => 1}`, `Set(2) {1, 2}`.
 * Longer than `max`: the first and last `max/2` characters and the full length.
 */
export function render(value: unknown, max = 80): string {
  const half = Math.floor(max / 2);
  if (typeof value === "string") {
    const quoted = JSON.stringify(value);
    if (quoted.length <= max + 2) return quoted;
    return `"${escapedEnd(value, half, false)}…${escapedEnd(value, half, true)}" (${number.format(value.length)} chars)`;
  }
  const text = renderInner(value, max, 0);
  if (text.length <= max) return text;
  return `${text.slice(0, half)}…${text.slice(text.length - half)} (${number.format(text.length)} chars)`;
}

/**
 * The longest start (or end) of `text` whose JSON-escaped form fits in `budget`
 * characters, escaped; never splits an escape or a surrogate pair.
 */
function escapedEnd(text: string, budget: number, fromEnd: boolean): string {
  const chars = Array.from(fromEnd ? text.slice(-budget * 2) : text.slice(0, budget * 2));
  if (fromEnd) chars.reverse();
  const parts: string[] = [];
  let used = 0;
  for (const ch of chars) {
    const escaped = JSON.stringify(ch).slice(1, -1);
    if (used + escaped.length > budget) break;
    parts.push(escaped);
    used += escaped.length;
  }
  if (fromEnd) parts.reverse();
  return parts.join("");
}

function renderInner(value: unknown, max: number, depth: number): string {
  switch (typeof value) {
    case "string":
      return render(value, max);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "boolean":
      return String(value);
    case "object":
      break;
    default:
      return String(value);
  }
  if (value === null) return "null";
  if (depth > 64) return "…";
  if (Array.isArray(value)) return `[${value.map((v) => renderInner(v, max, depth + 1)).join(",")}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .map((k) => `${JSON.stringify(k)}:${renderInner(value[k], max, depth + 1)}`)
      .join(",")}}`;
  }
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? "Invalid" : value.toISOString()})`;
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value.subarray(0, 8)).toString("hex");
    return `Uint8Array(${number.format(value.byteLength)} bytes${value.byteLength ? ` ${hex}${value.byteLength > 8 ? "…" : ""}` : ""})`;
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => `${renderInner(k, max, depth + 1)} => ${renderInner(v, max, depth + 1)}`);
    return `Map(${value.size}) {${entries.join(", ")}}`;
  }
  if (value instanceof Set) return `Set(${value.size}) {${[...value].map((v) => renderInner(v, max, depth + 1)).join(", ")}}`;
  if (value instanceof BlobLink) return `‹link ${["string", "bytes", "value"][value.tag]} ${short(value.ref)}›`;
  return Object.prototype.toString.call(value);
}
