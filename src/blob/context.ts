/**
 * The store's internal context: the storage floor (the only way to rows) and
 * the settings every blob operation reads, parsed and validated once by openStore.
 * Every layer below the public API (blob/, checkpoint/, session/, maintenance/,
 * adapters/) works from it; none of them sees the database.
 */
import type { Storage } from "../storage/storage.js";
import type { AdapterStorage } from "../storage/adapter-storage.js";
import type { MaintenanceStorage } from "../storage/maintenance-storage.js";
import type { UsageStorage } from "../storage/usage-storage.js";
import type { ChunkingParams } from "../codec/chunker.js";
import type { CompressionProfile } from "../codec/compression.js";
import type { StringCache } from "./large-string-cache.js";
import type { PartCache } from "./part-cache.js";

export interface BlobContext {
  /** The storage floor: every row read and write of blob/, checkpoint/ and session/. */
  readonly storage: Storage;
  /** The storage floor's maintenance operations: every row read and write of maintenance/. */
  readonly maintenance: MaintenanceStorage;
  /** The storage floor's usage figures (`store.du`): read-only, one read transaction each. */
  readonly usage: UsageStorage;
  /** The storage floor's extension points for adapters (src/adapters/): their rows, as typed operations. */
  readonly adapters: AdapterStorage;
  readonly profile: CompressionProfile;
  /** Strings and byte arrays inside values at least this large are moved out. */
  readonly moveOutThreshold: number;
  /** Blobs larger than this are stored as content-defined chunks. */
  readonly chunkAbove: number;
  readonly chunking: ChunkingParams;
  /** The largest logical blob cairn writes or reads back. */
  readonly maxBlobBytes: number;
  /**
   * Refs this store confirmed stored recently. Never trusted for a write's roots,
   * only for refs a new row links to (or a new history row names), so a stale
   * entry aborts the transaction (and the set is cleared) instead of leaving a
   * dangling link.
   */
  readonly knownStored: Set<string>;
  /** Large strings this store handle wrote or verified, served again from memory. */
  readonly strings: StringCache;
  /** Chunk-tree parts (leaves, list nodes) this store handle read and verified, shared by every read (src/blob/part-cache.ts). */
  readonly parts: PartCache;
  /**
   * Refs this store handle knows to be stored values (written as values, or
   * decoded): an `unchanged(ref)` naming one is not read again to check it
   * (src/blob/known-values.ts). Being a value is a property of the bytes, so an
   * entry never goes stale.
   */
  readonly knownValues: Set<string>;
  /**
   * How long a commit whose outcome was lost (the connection died after the
   * request went out) keeps retrying under its commit id, in ms: 0 where every
   * write's outcome is known to this process (the embedded engine).
   */
  readonly commitRetryMs: number;
}
