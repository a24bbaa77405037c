/**
 * A canonical text rendering of any value cairn stores, written without any of
 * cairn's code: the golden fixtures record the SHA-256 of the rendering of every
 * value the writing version read back, and golden.test.ts compares it with the
 * rendering of what the current version reads. Used by generate.ts (under the
 * old tree) and golden.test.ts (under the current one), so it imports nothing
 * from src/.
 *
 * The rendering tells apart everything the value encoding keeps: -0 from 0, NaN,
 * integers from BigInts, undefined from null and from a missing key, Uint8Array
 * from other byte views, valid and invalid Dates, Map and Set from objects and
 * arrays. Object keys are sorted (their order carries no meaning); Map entries and
 * Set members are rendered in iteration order, because cairn promises to read
 * them back in canonical order.
 */
import { createHash } from "node:crypto";

/** The canonical rendering of `value`. @throws Error for a value cairn cannot store (a class instance, a function, ...). */
export function render(value: unknown): string {
  const parts: string[] = [];
  renderInto(value, parts, 0);
  return parts.join("");
}

/** The lowercase hex SHA-256 of {@link render}(value) as UTF-8. */
export function renderHash(value: unknown): string {
  return createHash("sha256").update(render(value), "utf8").digest("hex");
}

/** The lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const MAX_DEPTH = 1000;

function renderInto(value: unknown, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new Error("render: nesting too deep");
  switch (typeof value) {
    case "undefined":
      out.push("undefined");
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      out.push(Object.is(value, -0) ? "-0" : String(value));
      return;
    case "bigint":
      out.push(`${value}n`);
      return;
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "object":
      break;
    default:
      throw new Error(`render: unsupported ${typeof value}`);
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (value instanceof Uint8Array) {
    // cairn reads byte arrays back as plain Uint8Array (never a Buffer).
    const tag = Object.getPrototypeOf(value) === Uint8Array.prototype ? "bytes" : `bytes:${value.constructor.name}`;
    out.push(`${tag}(${value.byteLength}:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")})`);
    return;
  }
  if (value instanceof Date) {
    out.push(`date(${value.getTime()})`);
    return;
  }
  if (value instanceof Map) {
    out.push("map{");
    let first = true;
    for (const [k, v] of value) {
      if (!first) out.push(",");
      first = false;
      renderInto(k, out, depth + 1);
      out.push("=>");
      renderInto(v, out, depth + 1);
    }
    out.push("}");
    return;
  }
  if (value instanceof Set) {
    out.push("set{");
    let first = true;
    for (const v of value) {
      if (!first) out.push(",");
      first = false;
      renderInto(v, out, depth + 1);
    }
    out.push("}");
    return;
  }
  if (Array.isArray(value)) {
    out.push("[");
    // Holes render as undefined: cairn reads them back as undefined.
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      renderInto(value[i], out, depth + 1);
    }
    out.push("]");
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new Error(`render: unsupported object ${String((value as object).constructor?.name)}`);
  out.push("{");
  const keys = Object.keys(value).sort();
  keys.forEach((key, i) => {
    if (i > 0) out.push(",");
    out.push(JSON.stringify(key), ":");
    renderInto((value as Record<string, unknown>)[key], out, depth + 1);
  });
  out.push("}");
}
