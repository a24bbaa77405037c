/**
 * cairn: a content-addressed checkpoint and blob store for AI agent runtimes.
 * This file only re-exports the public API.
 */
export { openStore, DEFAULT_URL, type Durability, type Store, type StoreOptions } from "./store.js";
export { CairnError, isCairnError, type CairnErrorCode, type CairnErrorDetails } from "./errors.js";
export { isRef, parseRef, hashBytes, type Ref } from "./hash/ref.js";
export { MAX_DEPTH, type BlobLink } from "./codec/value-codec.js";
export type { CompressionProfile } from "./codec/compression.js";
export type { ChunkingParams } from "./codec/chunker.js";
export type { BackendKind } from "./storage/libsql/database.js";
export { BlobStore, ValueStore, type PutOptions } from "./blob/blob-store.js";
export type { BlobInfo } from "./blob/blob-reader.js";
export type { BlobSource } from "./blob/blob-stream.js";
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
  type SessionSummary,
  type SessionPage,
  type SessionPageOptions,
} from "./session/session.js";
// Types only: diff and maintenance load when first used (store.diff, store.verify, ...).
// The pure diff helpers (compareValues, applyPatch, formatDiff) are cairn-store/diff.
export type {
  CheckpointDiff,
  CheckpointView,
  SlotDiff,
  SlotStatus,
  ValueDiff,
  ValueComparison,
  ValueChanges,
  LineDiff,
  LineHunk,
  DiffOperation,
  PatchOperation,
  AddOperation,
  RemoveOperation,
  ReplaceOperation,
  MoveOperation,
  CopyOperation,
  TestOperation,
  DiffOptions,
  RefLike,
} from "./checkpoint/diff.js";
export type { FormatDiffOptions } from "./checkpoint/format-diff.js";
export type {
  VerifyOptions,
  VerifyReport,
  VerifyFinding,
  GcOptions,
  GcReport,
  GcResult,
  SpaceReport,
  GcPlan,
  GcTotals,
  PinInfo,
  Retention,
  RetentionScope,
  RetentionPolicy,
  RetentionEntry,
  StoreStats,
  BlobTotals,
  DuOptions,
  DuReport,
  SessionUsage,
  UsageTotals,
  LargeBlob,
  TimelineOptions,
  Timeline,
  TimelineEntry,
  ForkPoint,
  ExportOptions,
  ExportResult,
  ImportOptions,
  ImportResult,
  ImportPhase,
} from "./maintenance/index.js";
