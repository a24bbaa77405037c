/** Taking bundles apart and putting them back together, with counts and checksum rewritten. */
import { createHash } from "node:crypto";
import { BUNDLE_MAGIC, frameRecord, parseRecord, RecordType, type BundleRecord } from "../../src/maintenance/bundle-format.js";
import type { Ref } from "../../src/hash/ref.js";

/** Every record of a bundle but the end record, in order. */
export function records(bundle: Uint8Array): BundleRecord[] {
  const out: BundleRecord[] = [];
  const view = new DataView(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  for (let pos = 8; pos < bundle.byteLength; ) {
    const length = view.getUint32(pos);
    const record = parseRecord(bundle.subarray(pos + 4, pos + 4 + length));
    if (record.type !== RecordType.END) out.push(record);
    pos += 4 + length;
  }
  return out;
}

/** A bundle of `recs`: header and end counts made to match, the checksum recomputed (so only content checks can refuse it). */
export function assemble(recs: readonly BundleRecord[]): Uint8Array {
  const counts = {
    sessions: recs.filter((r) => r.type === RecordType.SESSION).length,
    history: recs.filter((r) => r.type === RecordType.HISTORY).length,
    pins: recs.filter((r) => r.type === RecordType.PIN).length,
    blobs: recs.filter((r) => r.type === RecordType.BLOB).length,
  };
  const parts: Uint8Array[] = [BUNDLE_MAGIC];
  for (const r of recs) parts.push(frameRecord(r.type === RecordType.HEADER ? { ...r, counts } : r));
  const body = Buffer.concat(parts);
  const sha256 = createHash("sha256").update(body).digest("hex") as Ref;
  return new Uint8Array(Buffer.concat([body, frameRecord({ type: RecordType.END, counts, sha256 })]));
}
