/**
 * Part E: where the time of one 1 MiB put (and get) goes, stage by stage, each
 * timed alone on this machine:
 *   - SHA-256 of 1 MiB (node:crypto), whole and as ~4 KiB chunks;
 *   - content-defined chunking of 1 MiB (cairn's chunker, default parameters);
 *   - deflateRawSync level 1 of 1 MiB of text, whole and chunk by chunk as cairn
 *     stores it, and inflated back both ways;
 *   - the alternatives cairn measured and did not take (docs/design.md): fflate's
 *     deflate and inflate, node:zlib's async deflate per 4 KiB chunk, and
 *     @msgpack/msgpack encoding a 256 KiB string against Buffer.from;
 *   - raw @libsql/client statements on a WAL file (the settings cairn uses): an
 *     INSERT of a 1 MiB blob in a write transaction, the same 1 MiB as ~4 KiB rows
 *     in one transaction, SELECTs of both back, and a 1 KiB INSERT (the fixed cost
 *     of a write transaction), also at synchronous=NORMAL for comparison.
 * MB/s is bytes processed per second (10^6 B/s); each figure is the median of 5 rounds.
 */
import { createHash, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { deflateRaw, deflateRawSync, inflateRawSync } from "node:zlib";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { deflateSync as fflateDeflate, inflateSync as fflateInflate } from "fflate";
import { createClient, type InStatement } from "@libsql/client";
import { chunkBoundaries, DEFAULT_CHUNKING } from "../src/codec/chunker.js";
import { compress, decompress } from "../src/codec/compression.js";
import { freshDir, median, MiB, mbps, now, removeDir, textBytes } from "./util.js";

export interface Stage {
  readonly id: string;
  readonly what: string;
  /** Bytes processed per call (logical). */
  readonly bytes: number;
  readonly calls: number;
  /** Median over the rounds of ms per call. */
  readonly msPerCall: number;
  /** bytes / msPerCall, in MB/s. */
  readonly mbPerSecond: number;
  /** Slowest and fastest round, MB/s: how noisy the machine was. */
  readonly mbPerSecondRange: readonly [number, number];
  readonly note?: string;
}

/** Rounds per stage; each stage's figure is the median round. */
const ROUNDS = 5;

/**
 * Calls `fn` (after two warm-up calls) in {@link ROUNDS} rounds of `seconds / ROUNDS`
 * each (at least 2 calls a round), and summarises it as a stage.
 */
async function measure(id: string, what: string, seconds: number, fn: () => unknown, note?: () => string, bytes = MiB): Promise<Stage> {
  for (let i = 0; i < 2; i++) await fn();
  const perCall: number[] = [];
  let calls = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let n = 0;
    const t0 = now();
    let ms = 0;
    while (n < 2 || ms < (seconds * 1000) / ROUNDS) {
      await fn();
      n++;
      ms = now() - t0;
    }
    perCall.push(ms / n);
    calls += n;
  }
  const msPerCall = median(perCall);
  const rate = (ms: number) => mbps(bytes, ms);
  const n = note?.();
  return {
    id,
    what,
    bytes,
    calls,
    msPerCall,
    mbPerSecond: rate(msPerCall),
    mbPerSecondRange: [rate(Math.max(...perCall)), rate(Math.min(...perCall))],
    ...(n ? { note: n } : {}),
  };
}

function pieces(bytes: Uint8Array): Uint8Array[] {
  const cuts = chunkBoundaries(bytes, DEFAULT_CHUNKING);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const end of cuts) {
    out.push(bytes.subarray(start, end));
    start = end;
  }
  if (start < bytes.byteLength) out.push(bytes.subarray(start));
  return out;
}

export async function runStages(seconds: number, keep: boolean): Promise<Stage[]> {
  const out: Stage[] = [];
  const random = new Uint8Array(randomBytes(MiB));
  const text = textBytes(MiB, 7);
  const textChunks = pieces(text);
  const randomChunks = pieces(random);

  out.push(await measure("sha256", "SHA-256 of 1 MiB (node:crypto)", seconds, () => createHash("sha256").update(random).digest()));
  out.push(
    await measure("sha256-chunks", `SHA-256 of 1 MiB as ${textChunks.length} chunks`, seconds, () => {
      for (const c of textChunks) createHash("sha256").update(c).digest();
    }),
  );
  out.push(await measure("chunking", "content-defined chunk boundaries of 1 MiB", seconds, () => chunkBoundaries(text, DEFAULT_CHUNKING)));
  let deflated = 0;
  out.push(
    await measure(
      "deflate",
      "deflateRawSync level 1 of 1 MiB text, whole",
      seconds,
      () => (deflated = deflateRawSync(text, { level: 1 }).byteLength),
      () => `to ${((deflated / MiB) * 100).toFixed(0)}% of its size`,
    ),
  );
  let kept = 0;
  out.push(
    await measure(
      "deflate-chunks",
      `deflate level 1 of 1 MiB text as ${textChunks.length} chunks (cairn's compress)`,
      seconds,
      () => {
        kept = 0;
        for (const c of textChunks) kept += compress(c, "fast")?.byteLength ?? c.byteLength;
      },
      () => `to ${((kept / MiB) * 100).toFixed(0)}% of its size`,
    ),
  );
  out.push(
    await measure("deflate-chunks-random", `deflate level 1 of 1 MiB random as ${randomChunks.length} chunks (tried, not kept)`, seconds, () => {
      for (const c of randomChunks) compress(c, "fast");
    }),
  );
  const packed = deflateRawSync(text, { level: 1 });
  out.push(await measure("inflate", "inflateRawSync of 1 MiB text, whole", seconds, () => inflateRawSync(packed)));
  const packedChunks = textChunks.map((c) => ({ data: compress(c, "fast") ?? c, size: c.byteLength }));
  out.push(
    await measure("inflate-chunks", `inflate of 1 MiB text as ${textChunks.length} chunks (cairn's decompress)`, seconds, () => {
      for (const c of packedChunks) decompress(c.data, c.size, "bench");
    }),
  );

  // The alternatives (docs/design.md, "Choices made by measurement").
  out.push(await measure("fflate-deflate", "fflate deflateSync level 1 of 1 MiB text, whole", seconds, () => fflateDeflate(text, { level: 1 })));
  out.push(await measure("fflate-inflate", "fflate inflateSync of 1 MiB text, whole", seconds, () => fflateInflate(packed, { out: new Uint8Array(MiB) })));
  const deflateAsync = promisify(deflateRaw);
  const chunk = textChunks[0]!;
  out.push(
    await measure("zlib-async-chunk", `node:zlib async deflateRaw of one ${chunk.byteLength}-byte chunk, awaited`, seconds, () => deflateAsync(chunk, { level: 1 }), undefined, chunk.byteLength),
  );
  out.push(await measure("zlib-sync-chunk", `cairn's compress (sync) of the same chunk`, seconds, () => compress(chunk, "fast"), undefined, chunk.byteLength));
  const longString = new TextDecoder().decode(text.subarray(0, 256 * 1024));
  out.push(await measure("msgpack-string", "@msgpack/msgpack encode of a 256 KiB string", seconds, () => msgpackEncode(longString), undefined, 256 * 1024));
  out.push(await measure("buffer-from-string", "Buffer.from(string, 'utf8') of the same string", seconds, () => Buffer.from(longString, "utf8"), undefined, 256 * 1024));

  const dir = freshDir("stages");
  const client = createClient({ url: `file:${dir}/raw.db`, intMode: "number" });
  try {
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    await client.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, ref BLOB NOT NULL UNIQUE, data BLOB NOT NULL)");
    out.push(
      await measure("insert", "@libsql/client INSERT of a 1 MiB blob, one write transaction", seconds, () =>
        client.batch([{ sql: "INSERT INTO t (data) VALUES (?)", args: [random] }], "write"),
      ),
    );
    out.push(
      await measure(
        "insert-chunks",
        `@libsql/client INSERT of 1 MiB as ${textChunks.length} rows (32-byte unique key), one write transaction`,
        seconds,
        () => {
          const batch: InStatement[] = textChunks.map((c) => ({ sql: "INSERT INTO c (ref, data) VALUES (?, ?)", args: [randomBytes(32), c] }));
          return client.batch(batch, "write");
        },
      ),
    );
    out.push(
      await measure("select", "@libsql/client SELECT of a 1 MiB blob", seconds, () => client.execute({ sql: "SELECT data FROM t WHERE id = ?", args: [1] })),
    );
    // The same 1 MiB as chunk rows, read back by key the way cairn reads a chunked blob.
    const keys = textChunks.map(() => randomBytes(32));
    await client.batch(textChunks.map((c, i) => ({ sql: "INSERT INTO c (ref, data) VALUES (?, ?)", args: [keys[i]!, c] })), "write");
    const hexKeys = keys.map((k) => k.toString("hex"));
    out.push(
      await measure("select-chunks", `@libsql/client SELECT of 1 MiB as ${textChunks.length} rows by key (IN json_each, 128 a query)`, seconds, async () => {
        for (let i = 0; i < hexKeys.length; i += 128) {
          await client.execute({
            sql: "SELECT ref, data FROM c WHERE ref IN (SELECT unhex(value) FROM json_each(?))",
            args: [JSON.stringify(hexKeys.slice(i, i + 128))],
          });
        }
      }),
    );
    const small = randomBytes(1024);
    out.push(
      await measure(
        "insert-1k",
        "@libsql/client INSERT of a 1 KiB blob, one write transaction (the fixed cost of a write)",
        seconds,
        () => client.batch([{ sql: "INSERT INTO t (data) VALUES (?)", args: [small] }], "write"),
        undefined,
        1024,
      ),
    );
    // synchronous is per connection: a separate single-connection client holds it.
    const normal = createClient({ url: `file:${dir}/raw.db`, intMode: "number", concurrency: 1 });
    try {
      await normal.execute("PRAGMA synchronous = NORMAL");
      out.push(
        await measure(
          "insert-1k-normal",
          "the same 1 KiB INSERT at synchronous=NORMAL (cairn keeps FULL)",
          seconds,
          () => normal.batch([{ sql: "INSERT INTO t (data) VALUES (?)", args: [small] }], "write"),
          undefined,
          1024,
        ),
      );
    } finally {
      normal.close();
    }
  } finally {
    client.close();
    if (!keep) removeDir(dir);
  }
  return out;
}
