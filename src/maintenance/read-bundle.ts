/**
 * Reading a bundle: the source (a file or bytes in memory), and the first pass
 * over it, which checks every record and every single-row blob and builds an
 * index of where each blob's record lies. Nothing is written while reading.
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { Encoding, materializeRow } from "../blob/encoding.js";
import { logicalContent, rootListLinks, type ContentLink, type ContentStructure } from "../blob/content-links.js";
import { CairnError } from "../errors.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import { reasonOf, type BlobRow } from "./blob-rows.js";
import {
  badBundle,
  BUNDLE_MAGIC,
  parseRecord,
  RecordType,
  type BlobRecord,
  type BundleCounts,
  type HeaderRecord,
  type HistoryRecord,
  type PinRecord,
  type SessionRecord,
} from "./bundle-format.js";

/** Random access to the bytes of a bundle. */
export interface BundleSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Opens a bundle file, or wraps bytes already in memory.
 * Guarantee: every failure to open or read the file is a CairnError.
 * @throws CairnError NOT_FOUND (no such file), INVALID_ARGUMENT (unreadable, a
 *   directory or anything but a regular file; details.path).
 */
export async function openSource(from: string | Uint8Array): Promise<BundleSource> {
  if (from instanceof Uint8Array) {
    return { size: from.byteLength, read: async (offset, length) => from.subarray(offset, offset + length), close: async () => {} };
  }
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(from, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === "ENOENT" ? "NOT_FOUND" : "INVALID_ARGUMENT";
    throw new CairnError(code, `cannot read the bundle ${from}: ${(error as Error).message}`, { argument: "from", path: from }, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new CairnError("INVALID_ARGUMENT", `cannot read the bundle ${from}: it is ${stat.isDirectory() ? "a directory" : "not a regular file"}, not a bundle file`, { argument: "from", path: from });
    }
    size = stat.size;
  } catch (error) {
    await handle.close().catch(() => {});
    if (error instanceof CairnError) throw error;
    throw new CairnError("INVALID_ARGUMENT", `cannot read the bundle ${from}: ${(error as Error).message}`, { argument: "from", path: from }, { cause: error });
  }
  return {
    size,
    read: async (offset, length) => {
      const out = Buffer.allocUnsafe(length);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(out, 0, length, offset));
      } catch (error) {
        throw new CairnError("INVALID_ARGUMENT", `cannot read the bundle ${from}: ${(error as Error).message}`, { argument: "from", path: from }, { cause: error });
      }
      if (bytesRead !== length) throw badBundle("the file ended early");
      return out;
    },
    close: () => handle.close(),
  };
}

/** Where a blob's record lies in the bundle, and what the first pass learnt of it. */
export interface IndexedBlob {
  readonly offset: number;
  readonly length: number;
  readonly kind: string;
  readonly encoding: number;
  readonly size: number;
  readonly storedSize: number;
  /**
   * The links this blob's content implies (src/blob/content-links.ts), never the
   * children the bundle declares: for a single row, all of them; for a chunked
   * row, its root list's until the second pass reassembles it and adds the
   * links of its logical bytes.
   */
  readonly links: readonly ContentLink[];
  /** What the logical bytes are; undefined for a chunked row until the second pass. */
  readonly structure: ContentStructure | undefined;
}

/** Everything in a bundle but the blob bytes. */
export interface BundleIndex {
  readonly header: HeaderRecord;
  readonly sessions: readonly SessionRecord[];
  readonly history: readonly HistoryRecord[];
  readonly pins: readonly PinRecord[];
  readonly blobs: Map<Ref, IndexedBlob>;
}

const WINDOW = 1024 * 1024;
/** Record overhead allowed above the largest blob. */
const RECORD_SLACK = 1024 * 1024;

/**
 * The first pass over a bundle.
 *
 * 1. Check the magic; read records in order, each length-checked before it is read.
 * 2. The header comes first; session, history and pin records are kept.
 * 3. Each blob record: fields checked; a raw or deflated row is inflated (within
 *    its recorded size, never above `maxBlobBytes`) and re-hashed against its ref;
 *    a chunked row's list is parsed (its whole is hashed later, in the second pass).
 * 4. The end record: counts match, the SHA-256 of everything before it matches,
 *    and nothing follows.
 * @throws CairnError INTEGRITY (any damage), LIMIT_EXCEEDED, SCHEMA_TOO_NEW.
 */
export async function scanBundle(source: BundleSource, maxBlobBytes: number, onBlob: (done: number, total: number) => void): Promise<BundleIndex> {
  const reader = new SequentialReader(source);
  const hash = createHash("sha256");
  // 1. Magic.
  const magic = await reader.take(BUNDLE_MAGIC.byteLength);
  if (!Buffer.from(magic).equals(Buffer.from(BUNDLE_MAGIC))) {
    throw new CairnError("INVALID_ARGUMENT", "not a cairn bundle (no CAIRNBDL magic)", { argument: "from" });
  }
  hash.update(magic);
  let header: HeaderRecord | undefined;
  const sessions: SessionRecord[] = [];
  const history: HistoryRecord[] = [];
  const pins: PinRecord[] = [];
  const blobs = new Map<Ref, IndexedBlob>();
  for (;;) {
    if (reader.pos === source.size) throw badBundle("it ends without an end record (truncated?)");
    const prefix = Uint8Array.from(await reader.take(4));
    const length = new DataView(prefix.buffer).getUint32(0);
    if (length > maxBlobBytes + RECORD_SLACK) throw badBundle(`a record claims ${length} bytes, more than any blob may have`, { length });
    const offset = reader.pos;
    const payload = await reader.take(length);
    const record = parseRecord(payload);
    if (header === undefined && record.type !== RecordType.HEADER) throw badBundle("it does not start with a header");
    if (record.type === RecordType.END) {
      // 4. End: counts, checksum, nothing after.
      const counts: BundleCounts = { sessions: sessions.length, history: history.length, pins: pins.length, blobs: blobs.size };
      for (const key of ["sessions", "history", "pins", "blobs"] as const) {
        if (record.counts[key] !== counts[key] || header!.counts[key] !== counts[key]) {
          throw badBundle(`it holds ${counts[key]} ${key} records, its header and end record say ${header!.counts[key]} and ${record.counts[key]}`);
        }
      }
      const actual = hash.digest("hex");
      if (actual !== record.sha256) throw badBundle("its checksum does not match its contents", { expected: record.sha256, actual });
      if (reader.pos !== source.size) throw badBundle("bytes follow the end record");
      break;
    }
    hash.update(prefix);
    hash.update(payload);
    switch (record.type) {
      case RecordType.HEADER:
        if (header !== undefined) throw badBundle("it has two headers");
        header = record;
        onBlob(0, header.counts.blobs);
        break;
      case RecordType.SESSION:
        sessions.push(record);
        break;
      case RecordType.HISTORY:
        // meta is a view of the read window: copy it so the window can go.
        history.push({ ...record, meta: record.meta === null ? null : Uint8Array.from(record.meta) });
        break;
      case RecordType.PIN:
        pins.push(record);
        break;
      case RecordType.BLOB:
        // 3. A blob row.
        if (blobs.has(record.ref)) throw badBundle(`blob ${record.ref} appears twice`, { ref: record.ref });
        blobs.set(record.ref, { offset, length, kind: record.kind, encoding: record.encoding, size: record.size, storedSize: record.data.byteLength, ...checkBlob(record, maxBlobBytes) });
        onBlob(blobs.size, header!.counts.blobs);
        break;
    }
  }
  return { header: header!, sessions, history, pins, blobs };
}

/**
 * Checks one blob record and returns the links its content implies. The links
 * the record declares (its children) are ignored: links come from content. A raw
 * or deflated row is inflated within its recorded size and re-hashed here, and
 * its kind checked against its bytes (a manifest, list node or value kind must
 * parse as one); a chunked row's root list is parsed.
 */
function checkBlob(record: BlobRecord, maxBlobBytes: number): Pick<IndexedBlob, "links" | "structure"> {
  if (record.kind.length === 0 || record.kind.length > 64) throw badBundle(`blob ${record.ref} has a kind of ${record.kind.length} characters`, { ref: record.ref });
  if (record.encoding === Encoding.CHUNKED) {
    if (record.size > maxBlobBytes) {
      throw new CairnError("LIMIT_EXCEEDED", `blob ${record.ref} records ${record.size} bytes, over the ${maxBlobBytes}-byte limit`, { ref: record.ref, limit: maxBlobBytes, actual: record.size });
    }
    try {
      return { links: rootListLinks(record), structure: undefined };
    } catch (error) {
      throw badBundle(`blob ${record.ref}'s chunk list is malformed: ${reasonOf(error)}`, { ref: record.ref });
    }
  }
  if (record.encoding !== Encoding.RAW && record.encoding !== Encoding.DEFLATE) throw badBundle(`blob ${record.ref} has unknown encoding ${record.encoding}`, { ref: record.ref });
  const bytes = materializeRow(record, maxBlobBytes);
  const actual = hashBytes(bytes);
  if (actual !== record.ref) {
    throw new CairnError("INTEGRITY", `the bundle's blob ${record.ref} is corrupt: its bytes hash to ${actual}`, { ref: record.ref, expected: record.ref, actual });
  }
  return contentOrRefuse(record.ref, record.kind, bytes);
}

/**
 * The content of a bundle blob's logical bytes (src/blob/content-links.ts).
 * @throws CairnError INTEGRITY naming the blob, its kind and what did not parse.
 */
export function contentOrRefuse(ref: Ref, kind: string, bytes: Uint8Array): Pick<IndexedBlob, "links" | "structure"> {
  try {
    const content = logicalContent(ref, kind, bytes);
    return { links: content.links, structure: content.structure };
  } catch (error) {
    throw badBundle(`blob ${ref} is recorded as kind ${kind} but its bytes are not one: ${reasonOf(error)}`, { ref, kind });
  }
}

/** Reads one blob's row back from the bundle by its index entry. */
export async function readBlobRow(source: BundleSource, entry: IndexedBlob): Promise<BlobRow> {
  const record = parseRecord(await source.read(entry.offset, entry.length));
  if (record.type !== RecordType.BLOB) throw badBundle("an indexed blob record moved");
  return record;
}

/** Sequential reads through a window, so small records cost no system call each. */
class SequentialReader {
  pos = 0;
  #window: Uint8Array = new Uint8Array(0);
  #windowStart = 0;

  constructor(private readonly source: BundleSource) {}

  /** The next `n` bytes (valid until the next call). */
  async take(n: number): Promise<Uint8Array> {
    if (this.pos + n > this.source.size) throw badBundle("it ends in the middle of a record (truncated?)");
    const at = this.pos - this.#windowStart;
    if (at >= 0 && at + n <= this.#window.byteLength) {
      this.pos += n;
      return this.#window.subarray(at, at + n);
    }
    if (n >= WINDOW) {
      const out = await this.source.read(this.pos, n);
      this.pos += n;
      return out;
    }
    this.#windowStart = this.pos;
    this.#window = await this.source.read(this.pos, Math.min(WINDOW, this.source.size - this.pos));
    this.pos += n;
    return this.#window.subarray(0, n);
  }
}
