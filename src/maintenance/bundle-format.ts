/**
 * The bundle format (version 1): one file holding sessions, their history, pins
 * and exactly the blob rows they reach, as stored.
 *
 *   "CAIRNBDL"                       8 bytes of magic
 *   record*                          [u32 big-endian length][MessagePack array]
 *
 * Records, each an array whose first item is its type:
 *   [1, "cairn-bundle", version, createdAt, sessions | null, nSessions, nHistory, nPins, nBlobs]   header, first
 *   [2, id, head, createdAt, updatedAt]                                                           session
 *   [3, session, seq, manifestRef(bin 32), turn, label | null, meta(bin) | null, createdAt]        history row
 *   [4, name, ref(bin 32), createdAt]                                                             pin
 *   [5, ref(bin 32), kind, encoding, size, data(bin), children(bin, 32 bytes per ref)]            blob row
 *   [6, nSessions, nHistory, nPins, nBlobs, sha256(bin 32)]                                        end, last
 *
 * The end record's SHA-256 covers every byte before the end record (magic
 * included), so truncation and damage anywhere are caught; each blob is also
 * re-hashed against its ref, which no rewritten checksum can hide.
 */
import { Decoder, encode } from "@msgpack/msgpack";
import { CairnError } from "../errors.js";
import { refFromBytes, refToBytes, type Ref } from "../hash/ref.js";

export const BUNDLE_MAGIC: Uint8Array = new TextEncoder().encode("CAIRNBDL");
export const BUNDLE_FORMAT = "cairn-bundle";
export const BUNDLE_VERSION = 1;

export const RecordType = { HEADER: 1, SESSION: 2, HISTORY: 3, PIN: 4, BLOB: 5, END: 6 } as const;

export interface BundleCounts {
  readonly sessions: number;
  readonly history: number;
  readonly pins: number;
  readonly blobs: number;
}

export interface HeaderRecord {
  readonly type: typeof RecordType.HEADER;
  readonly version: number;
  readonly createdAt: number;
  /** The sessions exported, or null for the whole store (pins included). */
  readonly sessions: readonly string[] | null;
  readonly counts: BundleCounts;
}

export interface SessionRecord {
  readonly type: typeof RecordType.SESSION;
  readonly id: string;
  readonly head: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface HistoryRecord {
  readonly type: typeof RecordType.HISTORY;
  readonly session: string;
  readonly seq: number;
  readonly ref: Ref;
  readonly turn: number;
  readonly label: string | null;
  readonly meta: Uint8Array | null;
  readonly createdAt: number;
}

export interface PinRecord {
  readonly type: typeof RecordType.PIN;
  readonly name: string;
  readonly ref: Ref;
  readonly createdAt: number;
}

export interface BlobRecord {
  readonly type: typeof RecordType.BLOB;
  readonly ref: Ref;
  readonly kind: string;
  readonly encoding: number;
  readonly size: number;
  readonly data: Uint8Array;
  readonly children: readonly Ref[];
}

export interface EndRecord {
  readonly type: typeof RecordType.END;
  readonly counts: BundleCounts;
  readonly sha256: Ref;
}

export type BundleRecord = HeaderRecord | SessionRecord | HistoryRecord | PinRecord | BlobRecord | EndRecord;

/** A record framed for the file: its length, then its MessagePack array. */
export function frameRecord(record: BundleRecord): Uint8Array {
  const body = encode(fieldsOf(record));
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

function fieldsOf(record: BundleRecord): unknown[] {
  switch (record.type) {
    case RecordType.HEADER: {
      const c = record.counts;
      return [record.type, BUNDLE_FORMAT, record.version, record.createdAt, record.sessions, c.sessions, c.history, c.pins, c.blobs];
    }
    case RecordType.SESSION:
      return [record.type, record.id, record.head, record.createdAt, record.updatedAt];
    case RecordType.HISTORY:
      return [record.type, record.session, record.seq, refToBytes(record.ref), record.turn, record.label, record.meta, record.createdAt];
    case RecordType.PIN:
      return [record.type, record.name, refToBytes(record.ref), record.createdAt];
    case RecordType.BLOB: {
      const children = new Uint8Array(32 * record.children.length);
      record.children.forEach((ref, i) => children.set(refToBytes(ref), 32 * i));
      return [record.type, refToBytes(record.ref), record.kind, record.encoding, record.size, record.data, children];
    }
    case RecordType.END: {
      const c = record.counts;
      return [record.type, c.sessions, c.history, c.pins, c.blobs, refToBytes(record.sha256)];
    }
  }
}

/** An INTEGRITY error about the bundle. */
export function badBundle(why: string, details: Record<string, unknown> = {}): CairnError {
  return new CairnError("INTEGRITY", `the bundle is damaged or not a cairn bundle: ${why}`, details);
}

/**
 * Parses one record's payload.
 * Guarantee: allocates no more items than the payload has bytes; every field is
 * checked for type and range.
 * @throws CairnError INTEGRITY (malformed), SCHEMA_TOO_NEW (a header of a newer bundle version).
 */
export function parseRecord(payload: Uint8Array): BundleRecord {
  let fields: unknown;
  try {
    fields = new Decoder({
      maxStrLength: payload.byteLength,
      maxBinLength: payload.byteLength,
      maxArrayLength: payload.byteLength,
      maxMapLength: 0,
      maxExtLength: 0,
    }).decode(payload);
  } catch (error) {
    throw new CairnError("INTEGRITY", `the bundle is damaged: a record is not valid MessagePack`, {}, { cause: error });
  }
  if (!Array.isArray(fields)) throw badBundle("a record is not an array");
  const f = new Fields(fields);
  const type = f.int(0);
  switch (type) {
    case RecordType.HEADER: {
      if (f.raw(1) !== BUNDLE_FORMAT) throw badBundle(`the header names format ${JSON.stringify(f.raw(1))}`);
      const version = f.int(2);
      if (version > BUNDLE_VERSION) {
        throw new CairnError("SCHEMA_TOO_NEW", `the bundle has format version ${version}; this cairn reads up to ${BUNDLE_VERSION}`, { found: version, supported: BUNDLE_VERSION });
      }
      const sessions = f.raw(4);
      if (sessions !== null && (!Array.isArray(sessions) || sessions.some((s) => typeof s !== "string"))) throw badBundle("the header's session list is malformed");
      f.length(9);
      return { type, version, createdAt: f.int(3), sessions: sessions as string[] | null, counts: { sessions: f.int(5), history: f.int(6), pins: f.int(7), blobs: f.int(8) } };
    }
    case RecordType.SESSION:
      f.length(5);
      return { type, id: f.str(1), head: f.int(2), createdAt: f.int(3), updatedAt: f.int(4) };
    case RecordType.HISTORY:
      f.length(8);
      return { type, session: f.str(1), seq: f.int(2), ref: f.ref(3), turn: f.int(4), label: f.strOrNull(5), meta: f.binOrNull(6), createdAt: f.int(7) };
    case RecordType.PIN:
      f.length(4);
      return { type, name: f.str(1), ref: f.ref(2), createdAt: f.int(3) };
    case RecordType.BLOB: {
      f.length(7);
      const children = f.bin(6);
      if (children.byteLength % 32 !== 0) throw badBundle("a blob's children are not whole refs");
      const refs: Ref[] = [];
      for (let i = 0; i < children.byteLength; i += 32) refs.push(refFromBytes(children.subarray(i, i + 32)));
      return { type, ref: f.ref(1), kind: f.str(2), encoding: f.int(3), size: f.int(4), data: f.bin(5), children: refs };
    }
    case RecordType.END:
      f.length(6);
      return { type, counts: { sessions: f.int(1), history: f.int(2), pins: f.int(3), blobs: f.int(4) }, sha256: f.ref(5) };
    default:
      throw badBundle(`unknown record type ${type}`);
  }
}

/** Typed access to a record's fields; anything unexpected is INTEGRITY. */
class Fields {
  constructor(private readonly items: unknown[]) {}
  raw(i: number): unknown {
    return this.items[i];
  }
  length(n: number): void {
    if (this.items.length !== n) throw badBundle(`a record of type ${String(this.items[0])} has ${this.items.length} fields, not ${n}`);
  }
  int(i: number): number {
    const v = this.items[i];
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw badBundle(`field ${i} of a record is not a non-negative integer`);
    return v as number;
  }
  str(i: number): string {
    const v = this.items[i];
    if (typeof v !== "string") throw badBundle(`field ${i} of a record is not a string`);
    return v;
  }
  strOrNull(i: number): string | null {
    return this.items[i] === null ? null : this.str(i);
  }
  bin(i: number): Uint8Array {
    const v = this.items[i];
    if (!(v instanceof Uint8Array)) throw badBundle(`field ${i} of a record is not bytes`);
    return v;
  }
  binOrNull(i: number): Uint8Array | null {
    return this.items[i] === null ? null : this.bin(i);
  }
  ref(i: number): Ref {
    const v = this.bin(i);
    if (v.byteLength !== 32) throw badBundle(`field ${i} of a record is not a 32-byte ref`);
    return refFromBytes(v);
  }
}
