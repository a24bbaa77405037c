/**
 * exportBundle(): writes sessions (or the whole store) to one portable file:
 * their history, pins when exporting everything, and exactly the blob rows
 * reachable from them, as stored.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";
import { once } from "node:events";
import { toBytes } from "../storage/libsql/libsql-storage.js";
import { CairnError, describe } from "../errors.js";
import { refFromBytes, type Ref } from "../hash/ref.js";
import { parseSessionId } from "../session/session.js";
import { CONTEXT, type Store } from "../store.js";
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
 * 1. In one read transaction: the sessions, their history rows (with manifest
 *    refs), the pins when exporting everything, and the ids of every blob
 *    reachable from those roots (a recursive CTE over edges).
 * 2. Write the magic, header, session, history and pin records.
 * 3. Write the blob rows page by page (as stored: encoding and bytes untouched)
 *    with the refs each links to.
 * 4. Write the end record: the counts and the SHA-256 of everything before it.
 * A path is written to a temporary file beside it and renamed into place at the
 * end, so a failed export leaves no partial bundle.
 *
 * Guarantee: read-only for the store; the bundle holds exactly the reachable
 * blobs, each once, and memory stays at one page of rows.
 * @throws CairnError INVALID_ARGUMENT (bad options, unwritable path), NOT_FOUND (a
 *   session the store does not have; nothing written), CONFLICT (the store lost a
 *   reachable blob during the export: a concurrent session delete and gc), INTEGRITY
 *   (a history row names a missing manifest: run verify), CLOSED, DATABASE.
 */
export async function exportBundle(store: Store, options: ExportOptions): Promise<ExportResult> {
  const opts = optionsObject<ExportOptions>(options, "exportBundle", ["sessions", "to", "onProgress"]);
  const onProgress = optionalCallback<(done: number, total: number) => void>("onProgress", opts.onProgress);
  const chosen = parseSessionList(opts.sessions);
  const to = opts.to;
  if (!(typeof to === "string" && to.length > 0) && !(typeof to === "object" && to !== null && typeof (to as Writable).write === "function")) {
    throw new CairnError("INVALID_ARGUMENT", `exportBundle needs options.to: a file path or a writable stream, got ${describe(to)}`, { argument: "to" });
  }
  const db = store[CONTEXT]().db;

  // 1. One snapshot of the roots and what they reach.
  const filter = chosen === null ? null : JSON.stringify(chosen);
  const [sessionRows, historyRows, pinRows, reachable] = await db.readBatch([
    { sql: "SELECT id, head, created_at, updated_at FROM sessions WHERE ?1 IS NULL OR id IN (SELECT value FROM json_each(?1)) ORDER BY id", args: [filter] },
    {
      sql: `SELECT h.session, h.seq, b.ref, h.turn, h.label, h.meta, h.created_at FROM history h LEFT JOIN blobs b ON b.id = h.manifest
            WHERE ?1 IS NULL OR h.session IN (SELECT value FROM json_each(?1)) ORDER BY h.session, h.seq`,
      args: [filter],
    },
    { sql: "SELECT p.name, b.ref, p.created_at FROM pins p JOIN blobs b ON b.id = p.blob WHERE ?1 IS NULL ORDER BY p.name", args: [filter] },
    {
      sql: `WITH RECURSIVE live(id) AS (
              SELECT h.manifest FROM history h WHERE ?1 IS NULL OR h.session IN (SELECT value FROM json_each(?1))
              UNION SELECT p.blob FROM pins p WHERE ?1 IS NULL
              UNION SELECT e.dst FROM edges e JOIN live l ON e.src = l.id)
            SELECT l.id FROM live l JOIN blobs b ON b.id = l.id ORDER BY l.id`,
      args: [filter],
    },
  ]);
  const sessions: SessionRecord[] = sessionRows!.rows.map((r) => ({
    type: RecordType.SESSION,
    id: String(r[0]),
    head: Number(r[1]),
    createdAt: Number(r[2]),
    updatedAt: Number(r[3]),
  }));
  if (chosen !== null) {
    const found = new Set(sessions.map((s) => s.id));
    const missing = chosen.filter((id) => !found.has(id));
    if (missing.length > 0) throw new CairnError("NOT_FOUND", `no session ${missing.map((id) => JSON.stringify(id)).join(", ")} in the store`, { sessions: missing });
  }
  const known = new Set(sessions.map((s) => s.id));
  const history: HistoryRecord[] = [];
  for (const r of historyRows!.rows) {
    if (!known.has(String(r[0]))) continue; // history without a session row: verify reports it
    if (r[2] === null) {
      throw new CairnError("INTEGRITY", `session ${String(r[0])} checkpoint ${Number(r[1])} names a manifest that is not stored; run verify`, { session: String(r[0]), seq: Number(r[1]) });
    }
    history.push({
      type: RecordType.HISTORY,
      session: String(r[0]),
      seq: Number(r[1]),
      ref: refFromBytes(toBytes(r[2])),
      turn: Number(r[3]),
      label: r[4] === null ? null : String(r[4]),
      meta: r[5] === null ? null : toBytes(r[5]),
      createdAt: Number(r[6]),
    });
  }
  const pins: PinRecord[] = pinRows!.rows.map((r) => ({ type: RecordType.PIN, name: String(r[0]), ref: refFromBytes(toBytes(r[1])), createdAt: Number(r[2]) }));
  const ids = reachable!.rows.map((r) => Number(r[0]));
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
      const result = await db.execute(
        `SELECT b.ref, b.kind, b.encoding, b.size, b.data,
                (SELECT group_concat(lower(hex(c.ref)), '') FROM edges e JOIN blobs c ON c.id = e.dst WHERE e.src = b.id)
         FROM blobs b WHERE b.id IN (SELECT value FROM json_each(?)) ORDER BY b.id`,
        [JSON.stringify(page)],
      );
      if (result.rows.length !== page.length) {
        throw new CairnError("CONFLICT", "blobs the exported sessions reach were removed during the export (a session was deleted and collected meanwhile); export again", {});
      }
      for (const r of result.rows) {
        const data = toBytes(r[4]);
        const children = r[5] === null ? "" : String(r[5]);
        storedBytes += data.byteLength;
        await record({
          type: RecordType.BLOB,
          ref: refFromBytes(toBytes(r[0])),
          kind: String(r[1]),
          encoding: Number(r[2]),
          size: Number(r[3]),
          data,
          children: children.match(/.{64}/g)?.map((hex) => hex as Ref) ?? [],
        });
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
  const temp = `${to}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  let handle: FileHandle;
  try {
    handle = await open(temp, "wx");
  } catch (error) {
    throw new CairnError("INVALID_ARGUMENT", `cannot write a bundle to ${to}: ${(error as Error).message}`, { argument: "to", path: to }, { cause: error });
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
      if (buffered >= FILE_BUFFER) await flush();
    },
    finish: async () => {
      await flush();
      await handle.sync();
      await handle.close();
      await rename(temp, to);
    },
    abort: async () => {
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
    },
  };
}
