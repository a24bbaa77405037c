/**
 * The types of cairn's diffs: RFC 6902 operations (with the old value kept for
 * people), line diffs of long strings, and the results of diffing two values or
 * two checkpoints.
 */
import type { Ref } from "../hash/ref.js";

/**
 * RFC 6902 "add". Adding at an array index inserts there; the index may be the
 * array's length (append). cairn's diffs never emit the "-" index.
 */
export interface AddOperation {
  readonly op: "add";
  /** JSON Pointer (RFC 6901) of the place to add at. */
  readonly path: string;
  /** The value added: any cairn value (see docs/diff.md for the non-JSON ones). */
  readonly value: unknown;
}

/** RFC 6902 "remove". */
export interface RemoveOperation {
  readonly op: "remove";
  readonly path: string;
  /**
   * The value removed, for people and test output. Not part of RFC 6902; RFC 6902
   * §4 says appliers ignore members they do not know, so the patch stays valid.
   * Absent only on the removal of a whole snapshot slot (the slot is not read).
   */
  readonly old?: unknown;
}

/** RFC 6902 "replace". */
export interface ReplaceOperation {
  readonly op: "replace";
  readonly path: string;
  readonly value: unknown;
  /** The value replaced (not part of RFC 6902; ignored by appliers). */
  readonly old?: unknown;
}

/** RFC 6902 "move" (accepted by {@link applyPatch}; cairn's diffs never emit it). */
export interface MoveOperation {
  readonly op: "move";
  readonly from: string;
  readonly path: string;
}

/** RFC 6902 "copy" (accepted by {@link applyPatch}; cairn's diffs never emit it). */
export interface CopyOperation {
  readonly op: "copy";
  readonly from: string;
  readonly path: string;
}

/** RFC 6902 "test" (accepted by {@link applyPatch}; cairn's diffs never emit it). */
export interface TestOperation {
  readonly op: "test";
  readonly path: string;
  readonly value: unknown;
}

/** An operation a cairn diff emits: add, remove or replace. */
export type DiffOperation = AddOperation | RemoveOperation | ReplaceOperation;

/** Any RFC 6902 operation. */
export type PatchOperation = DiffOperation | MoveOperation | CopyOperation | TestOperation;

/** One hunk of a line diff, as the `diff` package's structuredPatch gives it. */
export interface LineHunk {
  /** First line of the hunk in the old text, from 1. */
  readonly oldStart: number;
  readonly oldLines: number;
  /** First line of the hunk in the new text, from 1. */
  readonly newStart: number;
  readonly newLines: number;
  /** The hunk's lines, each starting with " " (context), "-" (removed) or "+" (added); "\" marks a missing final newline. */
  readonly lines: readonly string[];
}

/**
 * A line diff of a changed string, trimmed to the changed hunks and a few lines
 * of context around them. The patch holds the full new string as well; this is
 * the compact form for people.
 */
export interface LineDiff {
  /** JSON Pointer of the string (the path of its "replace" operation). */
  readonly path: string;
  /** The blob of the old string when it was stored as a blob of its own (moved out). */
  readonly aRef?: Ref;
  /** The blob of the new string when it was moved out. */
  readonly bRef?: Ref;
  /** Length of the old string in UTF-16 code units. */
  readonly aLength: number;
  /** Length of the new string in UTF-16 code units. */
  readonly bLength: number;
  /** The changed hunks, in order. Empty when `complete` is false. */
  readonly hunks: readonly LineHunk[];
  /** False when the texts differ in too many lines for a line diff to be worth computing (over 2,000 line edits). */
  readonly complete: boolean;
}

/** The differences between two values: a patch and line diffs of long strings in it. */
export interface ValueChanges {
  /**
   * RFC 6902 operations; applying them in order to the first value (with
   * {@link applyPatch}) gives the second. Paths are JSON Pointers.
   */
  readonly patch: readonly DiffOperation[];
  /** One entry per replaced string that was moved out or long (see {@link DiffOptions.lineDiffMinLength}). */
  readonly lineDiffs: readonly LineDiff[];
}

/** The differences between two values in memory (`compareValues(a, b)`): no refs, nothing stored. */
export interface ValueComparison extends ValueChanges {
  readonly kind: "value";
  /** True when the two values are equal (then `patch` is empty). */
  readonly equal: boolean;
}

/** The differences between two stored values (`store.diffValues(a, b)`). */
export interface ValueDiff extends ValueComparison {
  readonly a: Ref;
  readonly b: Ref;
}

/** How a snapshot slot differs between two checkpoints. */
export type SlotStatus = "added" | "removed" | "changed" | "unchanged";

/** One snapshot slot in a {@link CheckpointDiff}. */
export interface SlotDiff {
  /**
   * `unchanged`: both checkpoints hold the same ref (the slot was not read).
   * `changed`: both hold the slot, with different refs. `added`: only `b` holds it.
   * `removed`: only `a` holds it.
   */
  readonly status: SlotStatus;
  /** The slot's ref in `a` (unchanged, changed, removed). */
  readonly aRef?: Ref;
  /** The slot's ref in `b` (unchanged, changed, added). */
  readonly bRef?: Ref;
  /**
   * The slot's operations, with absolute paths under `/snapshots/<slot>` (see
   * {@link CheckpointDiff.patch}). Empty for an unchanged slot; one `add` of the
   * whole value for an added slot; one `remove` (without `old`) for a removed one.
   */
  readonly patch: readonly DiffOperation[];
  /** Line diffs of the long strings the slot's patch replaces. */
  readonly lineDiffs: readonly LineDiff[];
}

/** The differences between two checkpoints (`store.diff(a, b)`). */
export interface CheckpointDiff {
  readonly kind: "checkpoint";
  /** The checkpoint diffed from. */
  readonly a: Ref;
  /** The checkpoint diffed to. */
  readonly b: Ref;
  /**
   * True when nothing differs: every slot unchanged (same ref), and turn,
   * pluginRevision and meta equal. Then `patch` is empty, and `a` and `b` hold the
   * same state (the same ref, unless the two were written with different
   * move-out thresholds and meta holds a string between them).
   */
  readonly equal: boolean;
  /** Every slot of `a` or `b`, by name, in code-unit order of the names. */
  readonly slots: Readonly<Record<string, SlotDiff>>;
  /** Present when the turn differs. */
  readonly turn?: { readonly from: number; readonly to: number };
  /** Present when the plugin revision differs (either side may lack one). */
  readonly pluginRevision?: { readonly from?: string | number; readonly to?: string | number };
  /** Present when meta differs: its operations (paths under `/meta`) and line diffs. */
  readonly meta?: ValueChanges;
  /**
   * Every operation of the diff, in order: `/turn`, `/pluginRevision`, `/meta...`,
   * then each slot's, `/snapshots/<slot>...`, by slot name.
   *
   * Guarantee: applied (with {@link applyPatch}) to the checkpoint view of `a`,
   * `{ turn, snapshots, pluginRevision?, meta? }` (see {@link checkpointView}),
   * it gives the checkpoint view of `b`.
   */
  readonly patch: readonly DiffOperation[];
}

/** Options for the diff functions. */
export interface DiffOptions {
  /** Lines of context around each hunk of a line diff. Default 3. */
  readonly context?: number;
  /**
   * Replaced strings of at least this many characters get a line diff; moved-out
   * strings always do. Default 1024.
   */
  readonly lineDiffMinLength?: number;
}
