/**
 * What every store command shares: the --url / --json / --debug options, opening
 * and closing the store, the JSON rendering of cairn values, ref and session@seq
 * targets, durations, and the progress bar.
 */
import { inspect } from "node:util";
import { Command, InvalidArgumentError, Option } from "commander";
import cliProgress from "cli-progress";
import { CairnError, DEFAULT_URL, isRef, openStore, type Ref, type Store } from "../../index.js";
import { colors } from "../format.js";

/** Options every store command takes. */
export interface StoreCommandOptions {
  readonly url: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** Adds --url (CAIRN_URL), --json and --debug to a command. */
export function storeCommand(command: Command): Command {
  return command
    .addOption(new Option("--url <url>", "the store (file:path.db, :memory:, http://, ws://, libsql://)").env("CAIRN_URL").default(DEFAULT_URL))
    .option("--json", "print one JSON document on stdout (for scripts)", false)
    .option("--debug", "print stack traces with errors (also CAIRN_DEBUG=1)", false);
}

/**
 * Opens the store named by --url, runs `body`, closes the store; returns the exit
 * status `body` returns. Only commands that add data (`put`, `import`) create a
 * missing store file; every other command refuses it with NOT_FOUND (a typo in
 * --url must not leave an empty store behind and report it clean).
 */
export async function withStore(
  options: StoreCommandOptions,
  body: (store: Store) => Promise<number | void>,
  { create = false }: { readonly create?: boolean } = {},
): Promise<void> {
  let store: Store;
  try {
    store = await openStore({ url: options.url, create });
  } catch (error) {
    if (error instanceof CairnError && error.code === "NOT_FOUND") {
      const what = error.details.reason === "not-a-store" ? "is not a cairn store" : "does not exist";
      throw new CairnError("NOT_FOUND", `${error.details.path as string} ${what}; nothing was written (check --url or CAIRN_URL; only put and import create a store)`, error.details, {
        cause: error,
      });
    }
    throw error;
  }
  let status: number | void;
  try {
    status = await body(store);
  } finally {
    await store.close();
  }
  process.exitCode = status ?? 0;
}

/** A usage problem found after commander parsed the arguments (exit status 2). */
export function usage(message: string): CairnError {
  return new CairnError("INVALID_ARGUMENT", message);
}

// ---------------------------------------------------------------------------
// Output

/**
 * A cairn value (or a report) as plain JSON. Non-JSON types are tagged objects:
 * bigint {"$bigint":"123"}, bytes {"$bytes":"<base64>"}, Map {"$map":[[k,v],...]},
 * Set {"$set":[...]}, Date {"$date":"<ISO 8601>"} (invalid: {"$date":null}),
 * NaN and ±Infinity {"$number":"NaN"}, a link {"$link":"<ref>"}. undefined is left
 * out of objects and is null in arrays and at the top, as JSON.stringify does.
 */
export function toJson(value: unknown, depth = 0): unknown {
  if (depth > 1024) throw new CairnError("LIMIT_EXCEEDED", "value nests too deeply to print");
  switch (typeof value) {
    case "bigint":
      return { $bigint: value.toString() };
    case "number":
      return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : { $number: String(value) };
    case "string":
    case "boolean":
      return value;
    case "undefined":
    case "function":
    case "symbol":
      return null;
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toJson(k, depth + 1), toJson(v, depth + 1)]) };
  if (value instanceof Set) return { $set: [...value].map((v) => toJson(v, depth + 1)) };
  if (Array.isArray(value)) return value.map((v) => toJson(v, depth + 1));
  const object = value as Record<string, unknown>;
  if (object.constructor?.name === "BlobLink" && typeof object.ref === "string") return { $link: object.ref };
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(object)) if (v !== undefined) out[key] = toJson(v, depth + 1);
  return out;
}

/** Prints one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(toJson(value), null, 2) + "\n");
}

/** Prints lines on stdout. */
export function print(...lines: string[]): void {
  process.stdout.write(lines.map((line) => line + "\n").join(""));
}

/** A value for people: util.inspect, whole, coloured on a TTY. */
export function pretty(value: unknown, indent = ""): string {
  const text = inspect(value, { depth: null, colors: colors.isColorSupported, maxArrayLength: null, maxStringLength: null, breakLength: 100, sorted: false });
  return indent ? text.replace(/^/gm, indent) : text;
}

/** Left-aligned columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [colors.bold(line(header)), ...rows.map(line)];
}

/** Dates as ISO strings in CLI-made records (values keep the tagged form). */
export function iso(date: Date | undefined): string | null {
  return date === undefined ? null : date.toISOString();
}

// ---------------------------------------------------------------------------
// Targets: a ref, or session[@seq]

export interface Target {
  readonly ref: Ref;
  readonly session?: string;
  readonly seq?: number;
}

/** Splits `session@seq` (the last @ followed by digits); a plain session has no seq. */
export function parseSessionSpec(spec: string): { session: string; seq: number | undefined } {
  const match = /^(.+)@(\d+)$/s.exec(spec);
  if (!match) return { session: spec, seq: undefined };
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(seq) || seq < 1) throw usage(`sequence number in ${JSON.stringify(spec)} must be a positive integer`);
  return { session: match[1]!, seq };
}

/**
 * The checkpoint or blob `spec` names: a ref (64 hex digits), `session@seq`, or
 * `session` (its latest checkpoint). Reads history rows only.
 */
export async function resolveTarget(store: Store, spec: string): Promise<Target> {
  if (isRef(spec)) return { ref: spec };
  const { session, seq } = parseSessionSpec(spec);
  const rows = await store.session(session).history(seq === undefined ? { limit: 1 } : { before: seq + 1, limit: 1 });
  const row = rows[0];
  if (!row || (seq !== undefined && row.seq !== seq)) {
    throw new CairnError(
      "NOT_FOUND",
      seq === undefined ? `${JSON.stringify(spec)} is neither a ref nor a session with checkpoints` : `session ${session} has no checkpoint ${seq}`,
      { session, seq },
    );
  }
  return { ref: row.ref, session, seq: row.seq };
}

// ---------------------------------------------------------------------------
// Argument parsers

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "12h", "30m", "45s", "500ms", "2w", or "0" -> milliseconds. */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration like 7d, 12h, 30m, 45s or 0, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** A duration before now, or an ISO 8601 date -> a Date. */
export function parseAge(text: string): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new InvalidArgumentError(`not a valid ISO 8601 date: ${JSON.stringify(text)}`);
    return new Date(ms);
  }
  try {
    return new Date(Date.now() - parseDuration(text));
  } catch {
    throw new InvalidArgumentError(`expected a duration like 7d, 12h, 30m or an ISO date like 2025-01-31, got ${JSON.stringify(text)}`);
  }
}

/** A positive integer option. */
export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

// ---------------------------------------------------------------------------
// Progress

/** A progress bar on stderr, only when stderr is a TTY; `update` starts it lazily. */
export function progressBar(label: string): { update: (done: number, total: number, phase?: string) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total, phase) {
      const payload = { phase: phase ?? label };
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: "{phase} [{bar}] {percentage}% {value}/{total} {eta_formatted}", hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), done, payload);
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(done, payload);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** "1 blob", "2 blobs". */
export function plural(count: number, word: string): string {
  return `${count} ${count === 1 ? word : `${word}s`}`;
}
