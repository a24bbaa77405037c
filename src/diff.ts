/**
 * cairn-store/diff: checkpoint and value diffs without a store. `store.diff()`
 * on an opened store needs none of this; import it to diff values in memory,
 * apply a patch, or render a diff as text. This file only re-exports.
 *
 * @example
 * import { formatDiff, compareValues } from "cairn-store/diff";
 * console.log(formatDiff(await store.diff(before, after)));
 * compareValues({ a: 1 }, { a: 2 }).patch; // [{ op: "replace", path: "/a", value: 2, old: 1 }]
 * console.log(formatDiff(compareValues({ a: 1 }, { a: 2 })));
 */
export {
  applyPatch,
  checkpointView,
  compareValues,
  type CheckpointDiff,
  type CheckpointView,
  type SlotDiff,
  type SlotStatus,
  type ValueDiff,
  type ValueComparison,
  type ValueChanges,
  type LineDiff,
  type LineHunk,
  type DiffOperation,
  type PatchOperation,
  type AddOperation,
  type RemoveOperation,
  type ReplaceOperation,
  type MoveOperation,
  type CopyOperation,
  type TestOperation,
  type DiffOptions,
  type RefLike,
} from "./checkpoint/diff.js";
export { formatDiff, type FormatDiffOptions } from "./checkpoint/format-diff.js";
