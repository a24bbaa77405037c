/**
 * Which blobs a store needs, worked out from the on-disk format alone (docs/design.md:
 * blob rows, chunk lists, value links), without cairn's code and without the
 * edges table: from every root (history rows, pins), follow chunk-list entries
 * and the links inside every value, decoding the rows on the way. generate.ts
 * records the result in expected.json, so the expectation says what a store
 * logically holds, not what its edges happen to record.
 */
import { inflateRawSync } from "node:zlib";
import { decode, ExtensionCodec } from "@msgpack/msgpack";
import type { Client } from "@libsql/client";

const RAW = 0;
const DEFLATE = 1;
const CHUNKED = 2;
const LINK_EXT = 0;
const MAP_EXT = 2;
const SET_EXT = 3;
const LINK_VALUE = 2;
/** Kinds whose blobs hold an encoded value (the others hold raw bytes). */
const VALUE_KINDS = new Set(["value", "manifest", "snapshot", "tool-state", "plugin-snapshot", "execution-state"]);

interface Row {
  readonly kind: string;
  readonly encoding: number;
  readonly size: number;
  readonly data: Uint8Array;
}

/** The refs (lowercase hex) of every blob some history row or pin needs. */
export async function logicallyReachable(client: Client): Promise<Set<string>> {
  const needed = new Set<string>();
  const row = async (ref: string): Promise<Row> => {
    const result = await client.execute({ sql: "SELECT kind, encoding, size, data FROM blobs WHERE ref = unhex(?)", args: [ref] });
    const r = result.rows[0];
    if (!r) throw new Error(`blob ${ref} is needed but not stored`);
    const data = r[3] instanceof Uint8Array ? r[3] : new Uint8Array(r[3] as ArrayBuffer);
    return { kind: String(r[0]), encoding: Number(r[1]), size: Number(r[2]), data };
  };

  // The logical bytes of a blob; marks every row it is made of.
  const bytesOf = async (ref: string): Promise<Uint8Array> => {
    needed.add(ref);
    const { encoding, data, size } = await row(ref);
    if (encoding === RAW) return data;
    if (encoding === DEFLATE) return new Uint8Array(inflateRawSync(data, { maxOutputLength: Math.max(size, 1) }));
    if (encoding !== CHUNKED) throw new Error(`blob ${ref}: unknown encoding ${encoding}`);
    const parts: Uint8Array[] = [];
    for (const entry of chunkList(data, ref)) {
      // A list node's bytes are a chunk list; a leaf's are data. Either row may itself be chunked.
      const bytes = await bytesOf(entry.ref);
      parts.push(entry.type === 1 ? await expandList(bytes, entry.ref) : bytes);
    }
    return Buffer.concat(parts);
  };
  const expandList = async (listBytes: Uint8Array, owner: string): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for (const entry of chunkList(listBytes, owner)) {
      const bytes = await bytesOf(entry.ref);
      parts.push(entry.type === 1 ? await expandList(bytes, entry.ref) : bytes);
    }
    return Buffer.concat(parts);
  };

  const visited = new Set<string>();
  const visit = async (ref: string, asValue: boolean): Promise<void> => {
    if (visited.has(ref)) return;
    visited.add(ref);
    const bytes = await bytesOf(ref);
    if (!asValue) return;
    for (const link of linksIn(bytes)) await visit(link.ref, link.tag === LINK_VALUE);
  };

  for (const r of (await client.execute("SELECT lower(hex(b.ref)) FROM history h JOIN blobs b ON b.id = h.manifest")).rows) await visit(String(r[0]), true);
  for (const r of (await client.execute("SELECT lower(hex(b.ref)), b.kind FROM pins p JOIN blobs b ON b.id = p.blob")).rows) await visit(String(r[0]), VALUE_KINDS.has(String(r[1])));
  return needed;
}

function chunkList(bytes: Uint8Array, owner: string): Array<{ type: number; ref: string }> {
  if (bytes[0] !== 1) throw new Error(`chunk list of ${owner}: format ${bytes[0]}`);
  let pos = 1;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  };
  const count = varint();
  const entries: Array<{ type: number; ref: string }> = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[pos++]!;
    const ref = Buffer.from(bytes.subarray(pos, pos + 32)).toString("hex");
    pos += 32;
    varint();
    entries.push({ type, ref });
  }
  if (pos !== bytes.length) throw new Error(`chunk list of ${owner}: trailing bytes`);
  return entries;
}

/** Every link (ext 0: tag byte + 32-byte ref) in an encoded value, inside Maps and Sets too. */
function linksIn(bytes: Uint8Array): Array<{ tag: number; ref: string }> {
  const links: Array<{ tag: number; ref: string }> = [];
  const codec = new ExtensionCodec();
  const nested = (data: Uint8Array) => decode(data, { extensionCodec: codec, useBigInt64: true });
  codec.register({
    type: LINK_EXT,
    encode: () => null,
    decode: (data) => {
      links.push({ tag: data[0]!, ref: Buffer.from(data.subarray(1, 33)).toString("hex") });
      return null;
    },
  });
  codec.register({ type: MAP_EXT, encode: () => null, decode: (data) => (nested(data), null) });
  codec.register({ type: SET_EXT, encode: () => null, decode: (data) => (nested(data), null) });
  for (const type of [1, 4, 5]) codec.register({ type, encode: () => null, decode: () => null });
  nested(bytes);
  return links;
}
