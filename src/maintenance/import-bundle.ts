/**
 * importBundle(): checks a whole bundle, then writes what the store lacks:
 * blob rows (with their edges) before the history rows that name them, in
 * bounded transactions. Importing the same bundle twice changes nothing.
 */
import { isUtf8 } from "node:buffer";
import { readBlob } from "../blob/blob-reader.js";
import { checkChunkTree, collectChunkTree, describeProblem, LIST_KIND, type FetchRows } from "../blob/chunk-tree.js";
import { LinkHeaderScanner, linkRefs, MAX_LIST_NODE_BYTES, uniqueLinks, VALUE_KINDS, type LinkRole } from "../blob/content-links.js";
import type { BlobContext } from "../blob/context.js";
import { Encoding, materializeRow } from "../blob/encoding.js";
import { parseManifest } from "../checkpoint/manifest.js";
import { decodeValue } from "../codec/value-codec.js";
import type { ImportHistoryRow } from "../storage/maintenance-storage.js";
import type { NewBlobRow } from "../storage/storage.js";
import { CairnError, describe } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { parseSessionId } from "../session/session.js";
import { reasonOf, type BlobRow } from "./blob-rows.js";
import { badBundle, type HistoryRecord } from "./bundle-format.js";
import { optionalCallback, optionsObject } from "./options.js";
import { parsePinName } from "./pin.js";
import { topologicalOrder } from "./topological.js";
import { contentOrRefuse, openSource, readBlobRow, scanBundle, type BundleIndex, type BundleSource } from "./read-bundle.js";

/** Phases of an import, as reported to `onProgress`. */
export type ImportPhase = "scan" | "verify" | "write";

/** Options for {@link importBundle}. */
export interface ImportOptions {
  /** A bundle file path, or the bundle's bytes. */
  readonly from: string | Uint8Array;
  /** Called as work is done: `scan` counts blob records read, `verify` chunked blobs reassembled, `write` blobs written. */
  readonly onProgress?: (done: number, total: number, phase: ImportPhase) => void;
}

/** What {@link importBundle} wrote. */
export interface ImportResult {
  /** Sessions in the bundle. */
  readonly sessions: readonly string[];
  /** History rows added (0 on a re-import). */
  readonly historyRows: number;
  /** Blob rows added. */
  readonly blobs: number;
  /** Blob rows of the bundle the store already had. */
  readonly blobsPresent: number;
  /** Bytes of the added rows. */
  readonly storedBytes: number;
  /** Pins added. */
  readonly pins: number;
}

const MAX_LABEL = 1024;
const ROWS_PER_TRANSACTION = 256;
const BYTES_PER_TRANSACTION = 8 * 1024 * 1024;
/** Chunked blobs up to this size keep their bytes from the reassembly walk; larger ones are walked again when their content is needed. */
const COLLECT_BYTES = 64 * 1024 * 1024;

/**
 * Imports a bundle written by {@link exportBundle}.
 *
 * 1. Scan: every record checked, every raw or deflated blob inflated (bounded by
 *    its recorded size and the store's maxBlobBytes) and re-hashed, the checksum
 *    and counts of the end record matched.
 *    Links come from content: the links a blob record declares are ignored, and
 *    each blob's links are computed from its own bytes (src/blob/content-links.ts):
 *    its root list's entries, a list node's entries, the links inside a value.
 *    A blob of a kind that carries structure (manifest, chunk-list, a value kind)
 *    whose bytes do not parse as that kind is refused; so is a recorded size that
 *    is not the bytes' size.
 * 2. Verify: every chunked blob reassembled from its parts (in the bundle, or
 *    already in the store) a window at a time, every size checked by the one
 *    walker, and hashed whole; its logical bytes give the rest of its links.
 *    Every link of every blob, every manifest a history row names and every
 *    pinned ref present in the bundle or the store; every manifest a history row
 *    names parses as one; every blob linked as a value decodes as one and every
 *    blob linked as text is UTF-8 (as a read will need them); history rows and
 *    sessions consistent.
 * 3. Plan: blobs ordered children first (a cycle is refused); the store's
 *    sessions and pins compared with the bundle's: a session whose history
 *    differs at a seq both hold, or a pin naming another blob, is CONFLICT.
 * 4. Write the blobs the store lacks, children first, at most 256 rows or 8 MiB
 *    per transaction, each row with an edge per link its content implies (looked
 *    up by ref: a target that vanished aborts the transaction).
 * 5. Write each session's missing history rows in one transaction that re-checks
 *    the conflict inside it; then the missing pins.
 *
 * Guarantee: any damage or a conflict found in steps 1 to 3 writes nothing; no
 * bundle, however crafted, adds a blob without the edges its content implies, so
 * an import cannot make a checkpoint unreadable or let a later gc remove a blob
 * a checkpoint needs;
 * re-importing changes nothing; a session's history is written all or nothing,
 * after every blob it reaches. Memory holds the index (about 200 bytes per blob),
 * the history rows and one transaction's rows.
 * @throws CairnError INVALID_ARGUMENT (bad options, not a bundle), NOT_FOUND (no
 *   such file), INTEGRITY (damaged or incomplete bundle; nothing written),
 *   SCHEMA_TOO_NEW (newer bundle version), LIMIT_EXCEEDED, CONFLICT (differing
 *   session or pin; nothing written, or nothing for that session if the store
 *   changed during the import), CLOSED, DATABASE.
 */
export async function importBundle(ctx: BlobContext, options: ImportOptions): Promise<ImportResult> {
  const opts = optionsObject<ImportOptions>(options, "importBundle", ["from", "onProgress"]);
  const onProgress = optionalCallback<(done: number, total: number, phase: ImportPhase) => void>("onProgress", opts.onProgress);
  const from = opts.from;
  if (!(typeof from === "string" && from.length > 0) && !(from instanceof Uint8Array)) {
    throw new CairnError("INVALID_ARGUMENT", `importBundle needs options.from: a file path or the bundle's bytes, got ${describe(from)}`, { argument: "from" });
  }
  const source = await openSource(from);
  try {
    // 1. Scan.
    const index = await scanBundle(source, ctx.maxBlobBytes, (done, total) => onProgress?.(done, total, "scan"));
    // 2. Verify.
    await verifyBundle(ctx, source, index, onProgress);
    // 3. Plan.
    const order = childrenFirst(index);
    const sessions = await planSessions(ctx, index);
    const pins = await planPins(ctx, index);
    // 4. Blobs.
    const present = await ctx.storage.storedRefs(index.blobs.keys());
    const written = await writeBlobs(ctx, source, index, order.filter((ref) => !present.has(ref)), onProgress);
    // 5. History, then pins.
    let historyRows = 0;
    for (const plan of sessions) historyRows += await writeSession(ctx, plan);
    const pinsAdded = await writePins(ctx, pins);
    return {
      sessions: index.sessions.map((s) => s.id),
      historyRows,
      blobs: written.rows,
      blobsPresent: present.size,
      storedBytes: written.bytes,
      pins: pinsAdded,
    };
  } finally {
    await source.close();
  }
}

/** Fetches rows from the bundle, or from the store for refs the bundle does not hold. */
function bundleFetch(ctx: BlobContext, source: BundleSource, index: BundleIndex): FetchRows {
  return async (refs) => {
    const out = new Map<Ref, BlobRow>();
    const elsewhere: Ref[] = [];
    for (const ref of refs) {
      const entry = index.blobs.get(ref);
      if (entry) out.set(ref, await readBlobRow(source, entry));
      else elsewhere.push(ref);
    }
    if (elsewhere.length > 0) for (const [ref, row] of await ctx.storage.blobRows(elsewhere)) out.set(ref, row);
    return out;
  };
}

/** Step 2: everything that needs more than one record to check. */
async function verifyBundle(ctx: BlobContext, source: BundleSource, index: BundleIndex, onProgress: ImportOptions["onProgress"]): Promise<void> {
  // Sessions and history rows are consistent.
  const heads = new Map<string, number>();
  const seen = new Set<string>();
  for (const s of index.sessions) {
    try {
      parseSessionId(s.id);
    } catch {
      throw badBundle(`session id ${describe(s.id)} is not valid`);
    }
    if (heads.has(s.id)) throw badBundle(`session ${s.id} appears twice`);
    heads.set(s.id, 0);
  }
  for (const h of index.history) {
    if (!heads.has(h.session)) throw badBundle(`a history row names session ${describe(h.session)}, which the bundle does not hold`);
    if (h.seq < 1) throw badBundle(`session ${h.session} has a history row with seq ${h.seq}`);
    const key = `${h.seq}\u0000${h.session}`;
    if (seen.has(key)) throw badBundle(`session ${h.session} has two history rows with seq ${h.seq}`);
    seen.add(key);
    if (h.label !== null && h.label.length > MAX_LABEL) throw badBundle(`session ${h.session} checkpoint ${h.seq} has a label over ${MAX_LABEL} characters`);
    if (h.meta !== null) {
      try {
        decodeValue(h.meta);
      } catch (error) {
        throw badBundle(`session ${h.session} checkpoint ${h.seq} has undecodable meta: ${reasonOf(error)}`);
      }
    }
    heads.set(h.session, Math.max(heads.get(h.session)!, h.seq));
  }
  for (const s of index.sessions) {
    if (heads.get(s.id) !== s.head || s.head === 0) throw badBundle(`session ${s.id} records head ${s.head}, its history rows end at ${heads.get(s.id)}`);
  }
  const pinNames = new Set<string>();
  for (const p of index.pins) {
    try {
      parsePinName(p.name);
    } catch {
      throw badBundle(`pin name ${describe(p.name)} is not valid`);
    }
    if (pinNames.has(p.name)) throw badBundle(`pin ${p.name} appears twice`);
    pinNames.add(p.name);
  }

  // Every chunked blob reassembles to its ref; its logical bytes give the rest of its links.
  const fetch = bundleFetch(ctx, source, index);
  const chunked = [...index.blobs].filter(([, e]) => e.encoding === Encoding.CHUNKED);
  onProgress?.(0, chunked.length, "verify");
  let done = 0;
  for (const [ref, entry] of chunked) {
    const row = await readBlobRow(source, entry);
    const keep = entry.size <= COLLECT_BYTES;
    const parts: Uint8Array[] = [];
    const scanner = new LinkHeaderScanner();
    // The one walker in report mode, every size checked as a read checks it; parts are not hashed
    // one by one (the scan re-hashed every single row), the whole is.
    const tree = await checkChunkTree(row, { fetch, maxBlobBytes: ctx.maxBlobBytes, verifyParts: false }, (bytes) => {
      scanner.push(bytes);
      if (keep) parts.push(bytes);
    });
    if (tree.found.length > 0) throw badBundle(`blob ${ref} does not reassemble: ${describeProblem(tree.found[0]!)}`, { ref });
    if (tree.actual !== ref) {
      throw new CairnError("INTEGRITY", `the bundle's blob ${ref} is corrupt: its chunks hash to ${tree.actual}`, { ref, expected: ref, actual: tree.actual });
    }
    const needsBytes = VALUE_KINDS.has(entry.kind) || entry.kind === LIST_KIND || scanner.found || entry.size <= MAX_LIST_NODE_BYTES;
    if (needsBytes) {
      const bytes = keep ? Buffer.concat(parts) : await collectChunkTree(row, { fetch, maxBlobBytes: ctx.maxBlobBytes, verifyParts: false });
      const inner = contentOrRefuse(ref, entry.kind, bytes);
      index.blobs.set(ref, { ...entry, links: uniqueLinks([...entry.links, ...inner.links]), structure: inner.structure });
    } else {
      index.blobs.set(ref, { ...entry, structure: "bytes" });
    }
    onProgress?.(++done, chunked.length, "verify");
  }

  // Every ref needed is in the bundle or the store.
  const needed = new Map<Ref, string>();
  for (const [ref, entry] of index.blobs) for (const link of entry.links) if (!index.blobs.has(link.ref)) needed.set(link.ref, `blob ${ref}`);
  for (const h of index.history) if (!index.blobs.has(h.ref)) needed.set(h.ref, `session ${h.session} checkpoint ${h.seq}`);
  for (const p of index.pins) if (!index.blobs.has(p.ref)) needed.set(p.ref, `pin ${p.name}`);
  const stored = await ctx.storage.storedRefs(needed.keys());
  for (const [ref, by] of needed) {
    if (!stored.has(ref)) throw badBundle(`it is incomplete: blob ${ref} (needed by ${by}) is neither in the bundle nor in the store`, { ref });
  }

  /** The logical bytes of `ref`, from the bundle (reassembled and hashed above) or the store (read and hashed). */
  const bytesOf = async (ref: Ref): Promise<Uint8Array> => {
    const entry = index.blobs.get(ref);
    if (!entry) return readBlob(ctx, ref);
    const row = await readBlobRow(source, entry);
    return row.encoding === Encoding.CHUNKED ? collectChunkTree(row, { fetch, maxBlobBytes: ctx.maxBlobBytes, verifyParts: false }) : materializeRow(row, ctx.maxBlobBytes);
  };

  // Every manifest a history row names parses as one (the one manifest parser).
  for (const ref of new Set(index.history.map((h) => h.ref))) manifestSlots(await bytesOf(ref), ref);

  // Every blob is linked as what it is: a value link's target decodes as a value, a text link's is UTF-8.
  const roles = new Map<string, { ref: Ref; role: LinkRole; by: Ref }>();
  for (const [ref, entry] of index.blobs) {
    for (const link of entry.links) if (link.role === "value" || link.role === "text") roles.set(`${link.role}:${link.ref}`, { ...link, by: ref });
  }
  for (const { ref, role, by } of roles.values()) {
    const entry = index.blobs.get(ref);
    if (role === "value" && (entry?.structure === "value" || entry?.structure === "manifest")) continue;
    const bytes = await bytesOf(ref);
    if (role === "text") {
      if (!isUtf8(bytes)) throw badBundle(`blob ${by} links blob ${ref} as text, but its bytes are not UTF-8`, { ref: by, link: ref });
      continue;
    }
    try {
      decodeValue(bytes);
    } catch (error) {
      throw badBundle(`blob ${by} links blob ${ref} as a value, but its bytes are not one: ${reasonOf(error)}`, { ref: by, link: ref });
    }
  }
}

/** The slot refs of an encoded manifest (checked by the one manifest parser). @throws CairnError INTEGRITY when it is not one. */
function manifestSlots(bytes: Uint8Array, ref: Ref): Ref[] {
  let decoded: ReturnType<typeof decodeValue>;
  try {
    decoded = decodeValue(bytes);
  } catch (error) {
    throw badBundle(`manifest ${ref} does not decode: ${reasonOf(error)}`, { ref });
  }
  try {
    return Object.values(parseManifest(decoded, ref).manifest.slots);
  } catch (error) {
    throw badBundle(reasonOf(error), { ref });
  }
}

/** Bundle blobs, each after every bundle blob it links to. @throws CairnError INTEGRITY on a cycle. */
function childrenFirst(index: BundleIndex): Ref[] {
  // Each link read as an edge from the linked blob to the one linking to it: children first.
  const edges: Array<readonly [Ref, Ref]> = [];
  for (const [ref, entry] of index.blobs) for (const link of linkRefs(entry.links)) edges.push([link, ref]);
  const { order, cyclic } = topologicalOrder(index.blobs.keys(), edges);
  if (cyclic.length > 0) throw badBundle("its blobs link to each other in a cycle, which content-addressed links cannot");
  return order;
}

/** A session's rows to add, found by comparing with the store. */
interface SessionPlan {
  readonly id: string;
  readonly head: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Every bundle row of the session (re-checked in the write transaction). */
  readonly rows: readonly HistoryRecord[];
  readonly missing: readonly HistoryRecord[];
}

/** Compares each bundle session with the store's; CONFLICT if they differ at a seq both hold. */
async function planSessions(ctx: BlobContext, index: BundleIndex): Promise<SessionPlan[]> {
  const plans: SessionPlan[] = [];
  const bySession = new Map<string, HistoryRecord[]>();
  for (const h of index.history) {
    let rows = bySession.get(h.session);
    if (!rows) bySession.set(h.session, (rows = []));
    rows.push(h);
  }
  for (const session of index.sessions) {
    const rows = bySession.get(session.id) ?? [];
    const existing = await ctx.maintenance.sessionHistory(session.id);
    const theirs = new Map(existing.map((r) => [r.seq, r]));
    const missing: HistoryRecord[] = [];
    for (const row of rows) {
      const other = theirs.get(row.seq);
      if (!other) {
        missing.push(row);
        continue;
      }
      const same =
        other.manifest === row.ref &&
        other.turn === row.turn &&
        (other.label ?? null) === row.label &&
        hexOrNull(other.meta ?? null) === hexOrNull(row.meta) &&
        other.createdAt === row.createdAt;
      if (!same) {
        throw new CairnError("CONFLICT", `session ${session.id} exists with a different checkpoint ${row.seq}; nothing was imported`, { session: session.id, seq: row.seq });
      }
    }
    if (missing.length > 0 || !(await ctx.maintenance.sessionExists(session.id))) plans.push({ ...session, rows, missing });
  }
  return plans;
}

/** Pins to add; CONFLICT if the store has one of the names on another blob. */
async function planPins(ctx: BlobContext, index: BundleIndex): Promise<BundleIndex["pins"]> {
  if (index.pins.length === 0) return [];
  const theirs = await ctx.maintenance.pinsNamed(index.pins.map((p) => p.name));
  for (const p of index.pins) {
    if (theirs.has(p.name) && theirs.get(p.name) !== p.ref) {
      throw new CairnError("CONFLICT", `pin ${p.name} exists on another blob; nothing was imported`, { pin: p.name, ref: p.ref, existing: theirs.get(p.name) ?? null });
    }
  }
  return index.pins.filter((p) => !theirs.has(p.name));
}

/** Step 4: the missing blob rows, children first, in bounded transactions. */
async function writeBlobs(
  ctx: BlobContext,
  source: BundleSource,
  index: BundleIndex,
  refs: readonly Ref[],
  onProgress: ImportOptions["onProgress"],
): Promise<{ rows: number; bytes: number }> {
  let rows = 0;
  let bytes = 0;
  onProgress?.(0, refs.length, "write");
  for (let i = 0; i < refs.length; ) {
    const batch: NewBlobRow[] = [];
    let batchBytes = 0;
    for (; i < refs.length && batch.length < ROWS_PER_TRANSACTION && batchBytes < BYTES_PER_TRANSACTION; i++) {
      const ref = refs[i]!;
      const entry = index.blobs.get(ref)!;
      const row = await readBlobRow(source, entry);
      batch.push({ ref, kind: row.kind, encoding: row.encoding, size: row.size, data: row.data, links: linkRefs(entry.links) });
      batchBytes += row.data.byteLength;
    }
    const outcome = await ctx.storage.write({ blobs: batch, touch: [], now: Date.now() });
    if (!outcome.ok) {
      throw new CairnError("CONFLICT", "a blob the bundle's rows link to was removed during the import (a concurrent gc); import again", {});
    }
    rows += batch.length;
    bytes += batchBytes;
    onProgress?.(rows, refs.length, "write");
  }
  return { rows, bytes };
}

/** Bytes as lowercase hex, or null. */
function hexOrNull(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString("hex");
}

/** A bundle history row as the storage floor writes it. */
function importRow(h: HistoryRecord): ImportHistoryRow {
  return { seq: h.seq, manifest: h.ref, turn: h.turn, label: h.label ?? undefined, meta: h.meta ?? undefined, createdAt: h.createdAt };
}

/**
 * Step 5: one session's missing history rows, in one transaction of the storage
 * floor, which re-checks inside it that every row the store holds equals the
 * bundle's and finds each new row's manifest by ref.
 */
async function writeSession(ctx: BlobContext, plan: SessionPlan): Promise<number> {
  const outcome = await ctx.maintenance.importSession({
    session: plan.id,
    head: plan.head,
    createdAt: plan.createdAt,
    updatedAt: plan.updatedAt,
    rows: plan.rows.map(importRow),
    missing: plan.missing.map(importRow),
  });
  if (outcome.ok) return outcome.rows;
  if (outcome.reason === "session-changed") {
    throw new CairnError("CONFLICT", `session ${plan.id} changed during the import and now differs from the bundle; its history was not imported`, { session: plan.id });
  }
  throw new CairnError("CONFLICT", `a manifest of session ${plan.id} was removed during the import (a concurrent gc); import again`, { session: plan.id });
}

/** The missing pins, in one transaction; each finds its blob by ref. */
async function writePins(ctx: BlobContext, pins: BundleIndex["pins"]): Promise<number> {
  return ctx.maintenance.addPins(pins);
}
