/**
 * The storage floor's maintenance operations: what verify, gc, stats, pins and
 * bundles read and write. Maintenance (src/maintenance/) calls this interface and
 * never writes SQL; the libSQL implementation (src/storage/libsql/libsql-maintenance.ts)
 * holds the statements.
 *
 * The floor knows rows, edges, history, sessions and pins, not what a kind or an
 * encoding means: callers pass the kinds and encodings a query is about.
 * Outcomes a caller acts on (a pin on a blob that is not stored, a session that
 * changed during an import, a manifest that vanished) come back as typed results,
 * never as database message text.
 */
import type { Ref } from "../hash/ref.js";
import type { BlobRow, SessionRow } from "./storage.js";

/** A blob row's id: rows are scanned, and gc plans, by id (ids only grow). */
export type BlobId = number;

/** A blob row as a scan pages it: with its id and the stored size it records. */
export interface ScannedBlobRow extends BlobRow {
  readonly id: BlobId;
  /** The stored size the row records (which a damaged row may not hold). */
  readonly storedSize: number;
}

/** A blob row of a page of refs: its id and ref only. */
export interface BlobRefRow {
  readonly id: BlobId;
  readonly ref: Ref;
}

/** A blob row with the refs of the stored blobs its edges lead to, as export copies it. */
export interface LinkedBlobRow extends BlobRow {
  readonly links: readonly Ref[];
}

/** An edge with an end that is not stored (ids as stored; refs of the ends that exist). */
export interface DanglingEdge {
  readonly srcId: BlobId;
  readonly dstId: BlobId;
  readonly src: Ref | undefined;
  readonly dst: Ref | undefined;
}

/** What verify reads about history rows and sessions, in one read transaction. */
export interface HistoryCheck {
  /** History rows whose manifest blob is not stored, by session and seq. */
  readonly missingManifests: ReadonlyArray<{ readonly session: string; readonly seq: number }>;
  readonly historyRows: number;
  /** Sessions with history rows. */
  readonly sessions: number;
  /** Sessions whose recorded head is not their newest history row (history with no session row: head 0), by id. */
  readonly inconsistentSessions: ReadonlyArray<{ readonly session: string; readonly head: number; readonly actualHead: number }>;
}

/** What verify reads about pins, in one read transaction. */
export interface PinCheck {
  /** Names of pins whose blob is not stored, by name. */
  readonly dangling: readonly string[];
  readonly pins: number;
}

/** What verify reads about edges. */
export interface EdgeCheck {
  readonly edges: number;
  /** Edges with an end that is not stored, by source and target id. */
  readonly dangling: readonly DanglingEdge[];
}

/** What stats counts, by kind, and which kinds and encodings its figures single out. */
export interface CountsQuery {
  /** Kinds the referenced-bytes walk does not enter (pieces of a chunked blob). */
  readonly pieceKinds: readonly string[];
  /** Encodings whose rows count towards the compression figures. */
  readonly compressedEncodings: readonly number[];
}

/** Rows and bytes of the blobs of one kind. */
export interface KindTotals {
  readonly kind: string;
  readonly count: number;
  /** Sum of the logical sizes. */
  readonly logicalBytes: number;
  /** Sum of the stored sizes. */
  readonly storedBytes: number;
}

/** What stats reads, in one read transaction. */
export interface StoreCounts {
  readonly sessions: number;
  readonly historyRows: number;
  readonly pins: number;
  readonly edges: number;
  /** By kind, sorted. */
  readonly byKind: readonly KindTotals[];
  /** Logical and stored bytes of the rows of the `compressedEncodings`. */
  readonly compressed: { readonly logicalBytes: number; readonly storedBytes: number };
  /**
   * For every history row, the logical sizes of the distinct blobs reachable
   * from its manifest along edges into blobs not of the `pieceKinds`, summed.
   */
  readonly referencedBytes: number;
}

/**
 * How the database gives freed pages back to the file system: "incremental" at
 * any time; "none" only by a rebuild; "unavailable" not at all from here (a
 * libSQL server refuses VACUUM over its protocol; a replica's file is the primary's copy).
 */
export type VacuumMode = "incremental" | "none" | "unavailable";

/** The database's pages as they stand. */
export interface SpaceUsage {
  readonly pageSize: number;
  /** Pages in the database (its logical size is pageCount x pageSize). */
  readonly pageCount: number;
  /** Pages free inside it: written space a delete gave back to SQLite but not to the file system. */
  readonly freePages: number;
  readonly vacuum: VacuumMode;
  /** Bytes on disk of the database file and its WAL, for a local file; undefined elsewhere. */
  readonly fileBytes: number | undefined;
}

/** How free pages are returned: "incremental" moves pages to truncate the free ones off the end; "rebuild" rewrites the database (VACUUM), switching it to incremental auto-vacuum. */
export type ReclaimMethod = "incremental" | "rebuild";

/**
 * Retention: which history rows a gc drops. A row is dropped when it is not its
 * session's head, some rule is given, and no given rule keeps it: keepLast keeps
 * the newest N rows, olderThan keeps rows created at or after it.
 */
export interface RetentionRule {
  readonly keepLast: number | undefined;
  /** Epoch milliseconds. */
  readonly olderThan: number | undefined;
  /**
   * Where the call gives neither rule: apply each session's stored policy (the
   * most specific of its session's, the longest matching prefix's, the store
   * default). A policy may also expire a whole session: every row dropped when
   * its newest is older than `now - expireAfter`.
   */
  readonly policies: boolean;
  /** The instant policies measure ages from, epoch ms. */
  readonly now: number;
}

/**
 * A stored retention policy. `scope`: "" for the store's default, "s:<id>" for
 * one session, "p:<prefix>" for the sessions whose id starts with the prefix.
 * A policy with no rule keeps everything (an exemption from a broader one).
 */
export interface StoredPolicy {
  readonly scope: string;
  readonly keepLast: number | undefined;
  /** Keep checkpoints younger than this, ms. */
  readonly keepFor: number | undefined;
  /** Drop the whole session after this long without a commit, ms. */
  readonly expireAfter: number | undefined;
  /** Epoch ms of the last change. */
  readonly updatedAt: number;
}

/** A blob row gc plans to delete, or deleted. */
export interface GarbageRow {
  readonly id: BlobId;
  readonly kind: string;
  readonly size: number;
  readonly storedSize: number;
}

/** The mark of a gc, read in one snapshot. */
export interface MarkResult {
  /** History rows retention drops, [session, seq], by session and seq. */
  readonly dropRows: ReadonlyArray<readonly [string, number]>;
  /** Per row of `dropRows`, the scope of the stored policy that drops it; null for the call's own rules. */
  readonly dropScopes: ReadonlyArray<string | null>;
  /** Sessions a policy expires: every row dropped, and the session with them. */
  readonly expired: readonly string[];
  /** Blobs no root reaches, by id. */
  readonly garbage: readonly GarbageRow[];
  /** Every blob row. */
  readonly blobs: number;
}

/** What one sweep transaction deleted. */
export interface SweepBatch {
  readonly deleted: readonly GarbageRow[];
  /** Edges removed with them. */
  readonly edges: number;
}

/** A stored pin. */
export interface PinRow {
  readonly name: string;
  readonly ref: Ref;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** What became of pinning. Nothing was written unless `ok`. */
export type PinOutcome =
  | { readonly ok: true; /** The pin's time: kept when it already named this blob. */ readonly createdAt: number }
  /** The store has no blob with that ref (looked up inside the write). */
  | { readonly ok: false; readonly reason: "missing-blob" };

/** A history row of some session, its manifest looked up by id (undefined: the manifest is not stored). */
export interface SessionHistoryRow {
  readonly session: string;
  readonly seq: number;
  readonly manifest: Ref | undefined;
  readonly turn: number;
  readonly label: string | undefined;
  readonly meta: Uint8Array | undefined;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** The roots of an export and the blobs they reach, read in one snapshot. */
export interface ExportSnapshot {
  /** The sessions asked for that exist, by id. */
  readonly sessions: readonly SessionRow[];
  /** Their history rows, by session and seq (rows of a session with no session row included). */
  readonly history: readonly SessionHistoryRow[];
  /** Every pin whose blob is stored, when exporting the whole store; none otherwise. */
  readonly pins: readonly PinRow[];
  /** Ids of the stored blobs those roots reach, ascending. */
  readonly blobIds: readonly BlobId[];
}

/** A history row an import writes. */
export interface ImportHistoryRow {
  readonly seq: number;
  readonly manifest: Ref;
  readonly turn: number;
  readonly label: string | undefined;
  readonly meta: Uint8Array | undefined;
  readonly createdAt: number;
}

/** One session's import: written in one transaction. */
export interface SessionImport {
  readonly session: string;
  readonly head: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Every row of the session in the bundle: any the store holds must equal it, re-checked inside the transaction. */
  readonly rows: readonly ImportHistoryRow[];
  /** The rows to add. */
  readonly missing: readonly ImportHistoryRow[];
}

/** What became of a {@link SessionImport}. Nothing was written unless `ok`. */
export type SessionImportOutcome =
  | { readonly ok: true; /** History rows added. */ readonly rows: number }
  /** A row the store holds now differs from the bundle's. */
  | { readonly ok: false; readonly reason: "session-changed" }
  /** A manifest a new row names is not stored (a concurrent gc removed it). */
  | { readonly ok: false; readonly reason: "missing-manifest" };

/** The storage floor's maintenance operations. */
export interface MaintenanceStorage {
  // Repairs a migration left to run with the blob layer's help (schema 3: `content-edges`).
  /** The names of the repairs still to run; empty on most opens. */
  pendingRepairs(): Promise<string[]>;
  /**
   * In one transaction: adds the edges `[src, dst]` whose two blobs are both
   * stored (the others are skipped) and marks repair `name` done. Returns how
   * many edges were new.
   */
  finishRepair(name: string, edges: ReadonlyArray<readonly [Ref, Ref]>): Promise<number>;
  // Verify.
  /** Every blob row, and those with `encoding`. */
  countBlobRows(encoding: number): Promise<{ readonly rows: number; readonly withEncoding: number }>;
  /** Up to `limit` blob rows with an id above `after` (only those with `encoding`, if given), by id. */
  blobRowPage(after: BlobId, limit: number, encoding?: number): Promise<ScannedBlobRow[]>;
  /** Up to `limit` ids and refs of blobs of `kind` with an id above `after`, by id. */
  blobRefPage(kind: string, after: BlobId, limit: number): Promise<BlobRefRow[]>;
  /** The distinct manifests history rows name that are stored as another kind than `kind`. */
  historyManifestsNotOfKind(kind: string): Promise<Ref[]>;
  /** Every edge from the blobs `srcs` to a stored blob, as [src, dst]. */
  edgesFrom(srcs: readonly Ref[]): Promise<Array<readonly [Ref, Ref]>>;
  /** Missing manifests, counts and inconsistent sessions, in one read transaction. */
  checkHistory(): Promise<HistoryCheck>;
  /** Dangling pins and the count of pins, in one read transaction. */
  checkPins(): Promise<PinCheck>;
  /** Every edge with an end that is not stored, read a bounded range of sources at a time. */
  checkEdges(): Promise<EdgeCheck>;

  // Stats.
  /** Counts, sizes by kind, compression and referenced bytes, in one read transaction; reads no blob bytes. */
  counts(query: CountsQuery): Promise<StoreCounts>;

  // Gc.
  /**
   * In one read transaction: the history rows `rule` drops, and the blobs no
   * root reaches along edges. Roots are the history rows `rule` keeps, pins,
   * and blobs created after `cutoff`.
   */
  mark(rule: RetentionRule, cutoff: number): Promise<MarkResult>;
  /** Every edge from the blobs `ids`, as [src, dst] ids. */
  edgesFromIds(ids: readonly BlobId[]): Promise<Array<readonly [BlobId, BlobId]>>;
  /**
   * Deletes the history rows `rows` ([session, seq]) in one write transaction,
   * each only if `rule` still drops it against the history, the policies and
   * the forks as they are then; a session left with no row goes too. Returns
   * rows and sessions deleted.
   */
  dropHistory(rows: ReadonlyArray<readonly [string, number]>, rule: RetentionRule): Promise<{ rows: number; sessions: number }>;

  // Retention policies.
  /** Sets the policy of `policy.scope`, replacing the one it had. */
  putPolicy(policy: StoredPolicy): Promise<void>;
  /** Removes the policy of `scope`; true if there was one. */
  removePolicy(scope: string): Promise<boolean>;
  /** Every stored policy, by scope. */
  policies(): Promise<StoredPolicy[]>;
  /**
   * Deletes the blobs `ids` in one write transaction, with their outgoing edges.
   * A blob is deleted only if, at this instant, no history row or pin names it,
   * it was created at or before `cutoff`, and every edge into it comes from a
   * blob deleted with it (or one kept for failing a check: those it reaches stay too).
   */
  sweepBatch(ids: readonly BlobId[], cutoff: number): Promise<SweepBatch>;

  // Space.
  /** Pages, free pages and the vacuum mode of the database, and its files' size on disk. */
  spaceUsage(): Promise<SpaceUsage>;
  /**
   * Returns free pages to the file system by `method`, then merges a local
   * file's WAL (so the file itself shrinks) when no reader holds it. Each step
   * is one SQLite operation, atomic: an interrupted rebuild leaves the database
   * as it was. @throws CairnError DATABASE (also when the backend does not allow it).
   */
  reclaimSpace(method: ReclaimMethod): Promise<void>;

  // Pins.
  /** Points the pin `name` at the stored blob `ref`, looked up inside the write; re-pinning the same blob keeps its time. */
  putPin(name: string, ref: Ref, now: number): Promise<PinOutcome>;
  /** Removes the pin `name`; true if it existed. */
  removePin(name: string): Promise<boolean>;
  /** Every pin whose blob is stored, by name. */
  pins(): Promise<PinRow[]>;
  /** The pins of those `names` that exist, with their blob's ref (undefined when it is not stored). */
  pinsNamed(names: readonly string[]): Promise<Map<string, Ref | undefined>>;
  /** Adds the pins in one write transaction: a name that exists, or a blob that is not stored, is skipped. Returns pins added. */
  addPins(pins: readonly PinRow[]): Promise<number>;

  // Bundles.
  /** The sessions (null: every session, and the pins), their history and what they reach, in one read transaction. */
  exportSnapshot(sessions: readonly string[] | null): Promise<ExportSnapshot>;
  /** The stored rows of those of `ids` that exist, by id, with their links. */
  linkedBlobRows(ids: readonly BlobId[]): Promise<LinkedBlobRow[]>;
  /** Every history row of `session`, in no particular order. */
  sessionHistory(session: string): Promise<SessionHistoryRow[]>;
  /** Whether the session has a session row. */
  sessionExists(session: string): Promise<boolean>;
  /**
   * One write transaction: upserts the session row (its head the newest of the
   * store's and the import's), inserts the missing rows (each finds its manifest
   * by ref), and sets the head to the newest row.
   */
  importSession(plan: SessionImport): Promise<SessionImportOutcome>;
}
