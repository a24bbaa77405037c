/**
 * cairn: a content-addressed checkpoint and blob store for AI agent runtimes.
 * This file only re-exports the public API.
 */
export { openStore, DEFAULT_URL, type Store, type StoreOptions } from "./store.js";
export { CairnError, isCairnError, type CairnErrorCode, type CairnErrorDetails } from "./errors.js";
export { isRef, parseRef, hashBytes, type Ref } from "./hash/ref.js";
export { MAX_DEPTH, type BlobLink } from "./codec/value-codec.js";
export type { CompressionProfile } from "./codec/compression.js";
export type { ChunkingParams } from "./codec/chunker.js";
export type { BackendKind } from "./db/database.js";
export { BlobStore, ValueStore, type PutOptions } from "./blob/blob-store.js";
export type { BlobInfo } from "./blob/blob-reader.js";
export { unchanged, type Checkpoint, type Snapshots, type Manifest, type StoredCheckpoint, type SessionCheckpoint } from "./checkpoint/checkpoint.js";
export { CheckpointStore, type GetCheckpointOptions } from "./checkpoint/checkpoint-store.js";
export {
  Session,
  SessionList,
  type CommitOptions,
  type CommitResult,
  type HistoryEntry,
  type HistoryOptions,
  type ForkOptions,
  type ReadOptions,
  type SessionInfo,
} from "./session/session.js";
export {
  applyPatch,
  checkpointView,
  compareValues,
  type CheckpointDiff,
  type CheckpointView,
  type SlotDiff,
  type SlotStatus,
  type ValueDiff,
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
export {
  verify,
  gc,
  pin,
  unpin,
  listPins,
  stats,
  exportBundle,
  importBundle,
  DEFAULT_GRACE_MS,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type VerifyOptions,
  type VerifyReport,
  type VerifyFinding,
  type GcOptions,
  type GcReport,
  type GcResult,
  type GcPlan,
  type GcTotals,
  type PinInfo,
  type StoreStats,
  type BlobTotals,
  type ExportOptions,
  type ExportResult,
  type ImportOptions,
  type ImportResult,
  type ImportPhase,
} from "./maintenance/index.js";
