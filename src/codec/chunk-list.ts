/**
 * The chunk list: how a chunked blob names its parts. Part of the on-disk format.
 *
 *   [u8 format = 1][varint count] then per entry: [u8 type][32-byte ref][varint size]
 *
 * type 0 is a leaf chunk (bytes), type 1 is a list node (a blob that is itself a
 * chunk list). `size` is the number of logical bytes the entry stands for.
 */
import { CairnError } from "../errors.js";
import { refFromBytes, refToBytes, type Ref } from "../hash/ref.js";

export const ChunkEntryType = { CHUNK: 0, LIST: 1 } as const;

/** One part of a chunked blob. */
export interface ChunkEntry {
  readonly type: 0 | 1;
  readonly ref: Ref;
  readonly size: number;
}

const FORMAT = 1;

/** Serializes entries into a chunk list. */
export function encodeChunkList(entries: readonly ChunkEntry[]): Uint8Array {
  const out = new Uint8Array(1 + 5 + entries.length * (1 + 32 + 8));
  let pos = 0;
  out[pos++] = FORMAT;
  pos = writeVarint(out, pos, entries.length);
  for (const entry of entries) {
    out[pos++] = entry.type;
    out.set(refToBytes(entry.ref), pos);
    pos += 32;
    pos = writeVarint(out, pos, entry.size);
  }
  return out.slice(0, pos);
}

/**
 * Parses a chunk list.
 * @throws CairnError INTEGRITY when the bytes are not a well-formed chunk list.
 */
export function decodeChunkList(bytes: Uint8Array, owner: string): ChunkEntry[] {
  const fail = (why: string): never => {
    throw new CairnError("INTEGRITY", `chunk list of blob ${owner} is malformed: ${why}`, { ref: owner });
  };
  if (bytes[0] !== FORMAT) fail(`unknown format ${bytes[0]}`);
  let pos = 1;
  const [count, afterCount] = readVarint(bytes, pos, fail);
  pos = afterCount;
  if (count > (bytes.length - pos) / 34) fail(`claims ${count} entries in ${bytes.length} bytes`);
  const entries: ChunkEntry[] = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[pos++];
    if (type !== 0 && type !== 1) fail(`entry ${i} has type ${type}`);
    if (pos + 32 > bytes.length) fail("truncated");
    const ref = refFromBytes(bytes.subarray(pos, pos + 32));
    pos += 32;
    const [size, next] = readVarint(bytes, pos, fail);
    pos = next;
    entries.push({ type: type as 0 | 1, ref, size });
  }
  if (pos !== bytes.length) fail("trailing bytes");
  return entries;
}

function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}

function readVarint(bytes: Uint8Array, pos: number, fail: (why: string) => never): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= bytes.length) fail("truncated varint");
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 0x80;
  }
  return fail("varint too long");
}
