/**
 * exportBundle(): writes sessions (or the whole store) to one portable file:
 * their history, pins when exporting everything, and exactly the blob rows
 * reachable from them, as stored.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";
import { once } from "node:events";
import type { BlobContext } from "../blob/context.js";
import { CairnError, describe } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import { parseSessionId } from "../session/session.js";
import { BUNDLE_MAGIC, BUNDLE_VERSION, frameRecord, RecordType, type BundleRecord, type HistoryRecord, type PinRecord, type SessionRecord } from "./bundle-format.js";
import { optionalCallback, optionsObject } from "./options.js";

/** Options for {@link exportBundle}. */
export interface ExportOptions {
  /** Sessions to export. Default: every session, and the pins. */
  readonly sessions?: readonly string[];
  /** A file path (written whole, then renamed into place) or a writable stream (written to, not ended). */
  readonly to: string | Writable;
  /** Called after each page of blobs: blobs written of the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link exportBundle} wrote. */
export interface ExportResult {
  readonly sessions: readonly string[];
  readonly historyRows: number;
  readonly pins: number;
  readonly blobs: number;
  /** Bytes of blob rows (as stored) in the bundle. */
  readonly storedBytes: number;
  /** Bytes of the bundle. */
  readonly bytes: number;
}

const BLOBS_PER_PAGE = 64;

/**
 * Writes a bundle of `options.sessions` (default: all sessions and all pins).
 *
 * 1. In one read transaction (the storage floor's export snapshot): the
 *    sessions, their history rows (with manifest refs), the pins when exporting
 *    everything, and the ids of every blob reachable from those roots along edges.
 * 2. Write the magic, header, session, history and pin records.
 * 3. Write the blob rows page by page (as stored: encoding and bytes untouched)
 *    with the refs each links to.
 * 4. Write the end record: the counts and the SHA-256 of everything before it.
 * A path is written to a temporary file beside it and renamed into place at the
 * end, so a failed export leaves no partial bundle.
 *
 * Guarantee: read-only for the store; the bundle holds exactly the reachable
 * blobs, each once, and memory stays at one page of rows.
 * Every failure of the file itself (a directory given as the path, no space, a
 * rename refused) is a CairnError INVALID_ARGUMENT with details.path.
 * @throws CairnError INVALID_ARGUMENT (bad options, unwritable path or a directory), NOT_FOUND (a
 *   session the store does not have; nothing written), CONFLICT (the store lost a
 *   reachable blob during the export: a concurrent session delete and gc), INTEGRITY
 *   (a history row names a missing manifest: run verify), CLOSED, DATABASE.
 */
export async function exportBundle(ctx: BlobContext, options: ExportOptions): Promise<ExportResult> {
  const opts = optionsObject<ExportOptions>(options, "exportBundle", ["sessions", "to", "onProgress"]);
  const onProgress = optionalCallback<(done: number, total: number) => void>("onProgress", opts.onProgress);
  const chosen = parseSessionList(opts.sessions);
  const to = opts.to;
  if (!(typeof to === "string" && to.length > 0) && !(typeof to === "object" && to !== null && typeof (to as Writable).write === "function")) {
    throw new CairnError("INVALID_ARGUMENT", `exportBundle needs options.to: a file path or a writable stream, got ${describe(to)}`, { argument: "to" });
  }

  // 1. One snapshot of the roots and what they reach.
  const snapshot = await ctx.maintenance.exportSnapshot(chosen);
  const sessions: SessionRecord[] = snapshot.sessions.map((r) => ({
    type: RecordType.SESSION,
    id: r.id,
    head: r.head,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }));
  if (chosen !== null) {
    const found = new Set(sessions.map((s) => s.id));
    const missing = chosen.filter((id) => !found.has(id));
    if (missing.length > 0) throw new CairnError("NOT_FOUND", `no session ${missing.map((id) => JSON.stringify(id)).join(", ")} in the store`, { sessions: missing });
  }
  const known = new Set(sessions.map((s) => s.id));
  const history: HistoryRecord[] = [];
  for (const r of snapshot.history) {
    if (!known.has(r.session)) continue; // history without a session row: verify reports it
    if (r.manifest === undefined) {
      throw new CairnError("INTEGRITY", `session ${r.session} checkpoint ${r.seq} names a manifest that is not stored; run verify`, { session: r.session, seq: r.seq });
    }
    history.push({
      type: RecordType.HISTORY,
      session: r.session,
      seq: r.seq,
      ref: r.manifest,
      turn: r.turn,
      label: r.label ?? null,
      meta: r.meta ?? null,
      createdAt: r.createdAt,
    });
  }
  const pins: PinRecord[] = snapshot.pins.map((r) => ({ type: RecordType.PIN, name: r.name, ref: r.ref, createdAt: r.createdAt }));
  const ids = snapshot.blobIds;
  const counts = { sessions: sessions.length, history: history.length, pins: pins.length, blobs: ids.length };

  // 2-4. Header and roots, blobs page by page, end record.
  const sink = await openSink(to);
  const hash = createHash("sha256");
  let bytes = 0;
  const put = async (chunk: Uint8Array) => {
    hash.update(chunk);
    bytes += chunk.byteLength;
    await sink.write(chunk);
  };
  const record = (r: BundleRecord) => put(frameRecord(r));
  let storedBytes = 0;
  try {
    await put(BUNDLE_MAGIC);
    await record({ type: RecordType.HEADER, version: BUNDLE_VERSION, createdAt: Date.now(), sessions: chosen, counts });
    for (const s of sessions) await record(s);
    for (const h of history) await record(h);
    for (const p of pins) await record(p);
    onProgress?.(0, ids.length);
    for (let i = 0; i < ids.length; i += BLOBS_PER_PAGE) {
      const page = ids.slice(i, i + BLOBS_PER_PAGE);
      const rows = await ctx.maintenance.linkedBlobRows(page);
      if (rows.length !== page.length) {
        throw new CairnError("CONFLICT", "blobs the exported sessions reach were removed during the export (a session was deleted and collected meanwhile); export again", {});
      }
      for (const r of rows) {
        storedBytes += r.data.byteLength;
        await record({ type: RecordType.BLOB, ref: r.ref, kind: r.kind, encoding: r.encoding, size: r.size, data: r.data, children: r.links });
      }
      onProgress?.(Math.min(i + BLOBS_PER_PAGE, ids.length), ids.length);
    }
    const digest = hash.copy().digest("hex") as Ref;
    await record({ type: RecordType.END, counts, sha256: digest });
    await sink.finish();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return { sessions: sessions.map((s) => s.id), historyRows: history.length, pins: pins.length, blobs: ids.length, storedBytes, bytes };
}

function parseSessionList(value: unknown): string[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0) {
    throw new CairnError("INVALID_ARGUMENT", `sessions must be a non-empty array of session ids, got ${describe(value)}`, { argument: "sessions" });
  }
  return [...new Set(value.map((id) => parseSessionId(id)))].sort();
}

interface Sink {
  write(bytes: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

const FILE_BUFFER = 1024 * 1024;

async function openSink(to: string | Writable): Promise<Sink> {
  if (typeof to !== "string") {
    return {
      write: async (bytes) => {
        if (!to.write(bytes)) await once(to, "drain");
      },
      finish: async () => {},
      abort: async () => {},
    };
  }
  const cannot = (error: unknown) =>
    error instanceof CairnError ? error : new CairnError("INVALID_ARGUMENT", `cannot write a bundle to ${to}: ${(error as Error).message}`, { argument: "to", path: to }, { cause: error });
  const existing = await stat(to).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    throw new CairnError("INVALID_ARGUMENT", `cannot write a bundle to ${to}: it is ${existing.isDirectory() ? "a directory" : "not a regular file"}; give a file path`, { argument: "to", path: to });
  }
  const temp = `${to}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  let handle: FileHandle;
  try {
    handle = await open(temp, "wx");
  } catch (error) {
    throw cannot(error);
  }
  let pending: Uint8Array[] = [];
  let buffered = 0;
  const flush = async () => {
    if (buffered === 0) return;
    const all = Buffer.concat(pending);
    pending = [];
    buffered = 0;
    await handle.write(all);
  };
  return {
    write: async (bytes) => {
      pending.push(bytes);
      buffered += bytes.byteLength;
      if (buffered >= FILE_BUFFER) await flush().catch((error: unknown) => Promise.reject(cannot(error)));
    },
    finish: async () => {
      try {
        await flush();
        await handle.sync();
        await handle.close();
        await rename(temp, to);
      } catch (error) {
        throw cannot(error);
      }
    },
    abort: async () => {
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
    },
  };
}
