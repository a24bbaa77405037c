/**
 * cairn-store/vitest: matchers for tests that assert what a turn changed.
 *
 * Importing this module registers the matchers with vitest's `expect` (once);
 * {@link installCairnMatchers} does the same explicitly, for setup files.
 *
 * @example
 * import "cairn-store/vitest";
 * const d = await store.diff(turn1, turn2);
 * expect(d).toChangeOnly(["/snapshots/execution/messages/2", "/snapshots/tool"]);
 * await expect(store).toHaveCheckpoint(turn2, { turn: 2, snapshots: { tool, execution } });
 */
import { expect } from "vitest";
import { CONTEXT, type Store } from "../store.js";
import type { BlobContext } from "../blob/context.js";
import type { Checkpoint } from "../checkpoint/checkpoint.js";
import { compareCheckpoint, type CheckpointDiff, type DiffOperation, type DiffOptions, type RefLike, type ValueComparison } from "../checkpoint/diff.js";
import { formatDiff, type FormatDiffOptions } from "../checkpoint/format-diff.js";

/** Options for `toChangeOnly`. */
export interface ChangeOnlyOptions {
  /**
   * Changes under these JSON Pointers are allowed without being listed (and are
   * not required). Default `["/turn"]`: a turn number that moved on is not news.
   * Pass `[]` to be strict. A path you list is required even if it is ignored here.
   */
  readonly ignore?: readonly string[];
}

/** The matchers cairn-store/vitest adds to `expect`. */
export interface CairnMatchers<R = unknown> {
  /**
   * Passes when every change of a checkpoint or value diff lies under one of
   * `paths` and every one of `paths` has at least one change under it.
   *
   * `paths` are JSON Pointers into the checkpoint view `{ turn, snapshots,
   * pluginRevision, meta }` (for a value diff, into the value) and match as
   * prefixes on whole tokens: `/snapshots/tool` covers any change inside the tool
   * slot (and the slot being added or removed), `/snapshots/execution/messages/3`
   * only changes at or inside message 3. A change above a listed path (the whole
   * messages array replaced) is outside it. `/turn` is ignored unless listed
   * (see {@link ChangeOnlyOptions.ignore}).
   * On failure the message lists the changes outside `paths`, the paths that did
   * not change, and the formatted diff.
   */
  toChangeOnly(paths: readonly string[], options?: ChangeOnlyOptions): R;
  /** Passes when a checkpoint or value diff found no difference at all (`diff.equal`). Prints the diff otherwise. */
  toBeUnchanged(): R;
  /**
   * On a store: passes when stored checkpoint `checkpoint` (a ref, a commit
   * result, a hydrated checkpoint) equals `expected` (turn, every slot,
   * pluginRevision, meta). Equal refs settle it without reading any slot;
   * otherwise only the slots whose refs differ are read. On failure it prints the
   * diff from expected to received. Await it.
   */
  toHaveCheckpoint(checkpoint: RefLike, expected: Checkpoint, options?: DiffOptions): Promise<R>;
}

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends CairnMatchers<void> {}
}

/** True when `path` is `prefix` or lies inside it (JSON Pointer tokens, not characters). */
export function isUnderPath(path: string, prefix: string): boolean {
  return prefix === "" || path === prefix || path.startsWith(prefix + "/");
}

/** The path of every change in a diff (one per operation, in order). */
export function changedPaths(diff: CheckpointDiff | ValueComparison): string[] {
  return diff.patch.map((op) => op.path);
}

function isDiff(value: unknown): value is CheckpointDiff | ValueComparison {
  return (
    typeof value === "object" &&
    value !== null &&
    ((value as { kind?: unknown }).kind === "checkpoint" || (value as { kind?: unknown }).kind === "value") &&
    Array.isArray((value as { patch?: unknown }).patch)
  );
}

function requireDiff(value: unknown, matcher: string): CheckpointDiff | ValueComparison {
  if (!isDiff(value)) {
    throw new TypeError(`${matcher} expects a cairn diff (from store.diff, store.diffValues or compareValues), got ${typeof value === "object" ? String(value && value.constructor?.name) : typeof value}`);
  }
  return value;
}

function requirePaths(paths: unknown, what: string): readonly string[] {
  if (!Array.isArray(paths)) throw new TypeError(`${what} must be an array of JSON Pointers such as "/snapshots/tool"`);
  for (const path of paths) {
    if (typeof path !== "string" || (path !== "" && !path.startsWith("/"))) {
      const hint = typeof path === "string" ? ` (did you mean "/snapshots/${path}"?)` : "";
      throw new TypeError(`${what} must hold JSON Pointers starting with "/", got ${JSON.stringify(path)}${hint}`);
    }
  }
  return paths as readonly string[];
}

function storeContext(value: unknown): BlobContext {
  const context = typeof value === "object" && value !== null ? (value as Partial<Store>)[CONTEXT] : undefined;
  if (typeof context !== "function") throw new TypeError("toHaveCheckpoint is called on a cairn store: await expect(store).toHaveCheckpoint(ref, expected)");
  return context();
}

const FORMAT: FormatDiffOptions = { color: false };

function describeOp(op: DiffOperation): string {
  return `${op.op === "add" ? "+" : op.op === "remove" ? "-" : "~"} ${op.path || "(root)"}`;
}

const matchers = {
  toChangeOnly(this: { isNot: boolean }, received: unknown, paths: readonly string[], options: ChangeOnlyOptions = {}) {
    const diff = requireDiff(received, "toChangeOnly");
    const listed = requirePaths(paths, "toChangeOnly's paths");
    const ignore = requirePaths(options.ignore ?? ["/turn"], "options.ignore");
    const outside = diff.patch.filter((op) => !listed.some((p) => isUnderPath(op.path, p)) && !ignore.some((p) => isUnderPath(op.path, p)));
    const missing = listed.filter((p) => !diff.patch.some((op) => isUnderPath(op.path, p)));
    const pass = outside.length === 0 && missing.length === 0;
    const wanted = listed.length === 0 ? "nothing" : listed.join(", ");
    const ignoring = ignore.length > 0 ? ` (ignoring ${ignore.join(", ")})` : "";
    return {
      pass,
      message: () => {
        if (pass) return `expected the diff not to change only ${wanted}${ignoring}, but it does:\n\n${formatDiff(diff, FORMAT)}`;
        const lines = [`expected the diff to change only ${wanted}${ignoring}`];
        if (outside.length > 0) lines.push("changed outside them:", ...outside.slice(0, 20).map((op) => `  ${describeOp(op)}`));
        if (outside.length > 20) lines.push(`  … ${outside.length - 20} more`);
        if (missing.length > 0) lines.push("nothing changed under:", ...missing.map((p) => `  ${p}`));
        return `${lines.join("\n")}\n\n${formatDiff(diff, FORMAT)}`;
      },
    };
  },

  toBeUnchanged(this: { isNot: boolean }, received: unknown) {
    const diff = requireDiff(received, "toBeUnchanged");
    return {
      pass: diff.equal,
      message: () =>
        diff.equal
          ? `expected ${"a" in diff ? `${diff.kind} ${diff.a.slice(0, 12)} and ${diff.b.slice(0, 12)}` : "the two values"} to differ, but they are equal`
          : `expected no changes, but:\n\n${formatDiff(diff, FORMAT)}`,
    };
  },

  async toHaveCheckpoint(this: { isNot: boolean }, received: unknown, checkpoint: RefLike, expected: Checkpoint, options?: DiffOptions) {
    const ctx = storeContext(received);
    const diff = await compareCheckpoint(ctx, expected, checkpoint, options);
    return {
      pass: diff.equal,
      message: () =>
        diff.equal
          ? `expected checkpoint ${diff.b.slice(0, 12)} to differ from the expected checkpoint, but it is the same`
          : `checkpoint ${diff.b.slice(0, 12)} differs from the expected one:\n\n${formatDiff(diff, { ...FORMAT, labels: { a: "expected", b: "received" } })}`,
    };
  },
};

let installed = false;

/**
 * Registers cairn's matchers (`toChangeOnly`, `toBeUnchanged`,
 * `toHaveCheckpoint`) with vitest's `expect`. Importing cairn-store/vitest already
 * does this; calling it again does nothing.
 */
export function installCairnMatchers(): void {
  if (installed) return;
  expect.extend(matchers);
  installed = true;
}

installCairnMatchers();

export { formatDiff, type FormatDiffOptions } from "../checkpoint/format-diff.js";
export type { CheckpointDiff, ValueDiff, ValueComparison, DiffOperation, LineDiff, SlotDiff } from "../checkpoint/diff.js";
