/**
 * Part D: store.blobs.put and store.blobs.get throughput for single blobs of a
 * few sizes, random (incompressible) and text-like, per compression profile.
 *
 * Every put gets a payload of its own, made before the clock starts, so dedup
 * never skips work. Gets read back those blobs in order (every get re-hashes the
 * whole blob), cycling until the cell has run its time. Throughput is logical
 * bytes (the payload size) per second, in MB/s (10^6 bytes).
 */
import { randomBytes } from "node:crypto";
import { openStore, type CompressionProfile, type Ref } from "../src/index.js";
import { freshDir, KiB, MiB, mbps, now, removeDir, textBytes } from "./util.js";

export type PayloadKind = "random" | "text";

export interface BlobCell {
  readonly profile: CompressionProfile;
  readonly kind: PayloadKind;
  readonly size: number;
  readonly op: "put" | "get";
  readonly ops: number;
  readonly ms: number;
  readonly opsPerSecond: number;
  readonly mbPerSecond: number;
  /** Mean ms per operation. */
  readonly msPerOp: number;
}

export interface SingleBlobOptions {
  readonly profiles: readonly CompressionProfile[];
  readonly sizes: readonly number[];
  readonly kinds: readonly PayloadKind[];
  /** Target seconds per cell. */
  readonly seconds: number;
  readonly keep: boolean;
}

/** At most this many payload bytes are generated for one put cell. */
const MAX_CELL_BYTES = 384 * MiB;

let seed = 1;
function payload(kind: PayloadKind, size: number): Uint8Array {
  return kind === "random" ? new Uint8Array(randomBytes(size)) : textBytes(size, seed++);
}

export function sizeLabel(size: number): string {
  return size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`;
}

export async function runSingleBlobs(options: SingleBlobOptions, log: (line: string) => void): Promise<BlobCell[]> {
  const cells: BlobCell[] = [];
  for (const profile of options.profiles) {
    const dir = freshDir(`blobs-${profile}`);
    const store = await openStore({ url: `file:${dir}/cairn.db`, profile });
    try {
      for (const size of options.sizes) {
        for (const kind of options.kinds) {
          // Calibrate on a few untimed puts (also warms the code paths), then size the cell.
          const probe = Array.from({ length: Math.max(3, Math.ceil((256 * KiB) / size)) }, () => payload(kind, size));
          const t0 = now();
          for (const bytes of probe) await store.blobs.put(bytes);
          const perOp = (now() - t0) / probe.length;
          const count = Math.max(10, Math.min(Math.floor(MAX_CELL_BYTES / size), Math.ceil((options.seconds * 1000) / perOp)));
          const payloads = Array.from({ length: count }, () => payload(kind, size));

          const refs: Ref[] = [];
          const putStart = now();
          for (const bytes of payloads) refs.push(await store.blobs.put(bytes));
          const putMs = now() - putStart;
          cells.push(cell(profile, kind, size, "put", count, putMs));

          // Check one blob round-trips, outside the clock.
          const back = await store.blobs.get(refs[0]!);
          if (!Buffer.from(back).equals(payloads[0]!)) throw new Error(`blob of ${size} bytes did not round-trip`);
          payloads.length = 0;

          let gets = 0;
          const getStart = now();
          let getMs = 0;
          do {
            for (const ref of refs) {
              await store.blobs.get(ref);
              gets++;
            }
            getMs = now() - getStart;
          } while (getMs < options.seconds * 1000);
          cells.push(cell(profile, kind, size, "get", gets, getMs));
          const [p, g] = cells.slice(-2);
          log(`D: ${profile.padEnd(4)} ${kind.padEnd(6)} ${sizeLabel(size).padStart(7)}  put ${p!.mbPerSecond.toFixed(1)} MB/s (${p!.ops} ops)  get ${g!.mbPerSecond.toFixed(1)} MB/s (${g!.ops} ops)`);
        }
      }
    } finally {
      await store.close();
      if (!options.keep) removeDir(dir);
    }
  }
  return cells;
}

function cell(profile: CompressionProfile, kind: PayloadKind, size: number, op: "put" | "get", ops: number, ms: number): BlobCell {
  return { profile, kind, size, op, ops, ms, opsPerSecond: ops / (ms / 1000), mbPerSecond: mbps(ops * size, ms), msPerOp: ms / ops };
}
