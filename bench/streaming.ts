/**
 * Streaming blobs: throughput and peak extra resident memory of
 * `blobs.putStream` and `blobs.getStream` for 64 MiB and 1 GiB, and of
 * `cairn put -` / `cairn cat` for the same sizes.
 *
 *   npx tsx bench/streaming.ts [sizes in MiB, default 64 1024]
 *
 * The data is generated as a stream (1 MiB random pieces, never held whole) and
 * read back through a SHA-256, which must equal the ref. Each measurement runs
 * in a fresh child process on a file store in a temp directory: the child opens
 * the store, warms up (a small put and get), records its RSS as the baseline,
 * resets the kernel's high-water mark (/proc/self/clear_refs), then streams; the
 * peak extra memory is VmHWM minus that baseline (Linux), else the highest RSS
 * sampled on every piece. The CLI rows report the whole `cairn` process's peak
 * RSS (VmHWM polled every 20 ms), next to the same command on 1 byte.
 */
import { spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore, type Store } from "../src/index.js";
import { freshDir, MiB, removeDir, ROOT } from "./util.js";

const SELF = fileURLToPath(import.meta.url);
const TSX = new URL("../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
const BIN = join(ROOT, "src/cli/bin.ts");
const PIECE = MiB;

/** `size` random bytes, a fresh 1 MiB piece at a time. */
async function* generate(size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < size; at += PIECE) {
    yield randomFillSync(Buffer.allocUnsafe(Math.min(PIECE, size - at)));
  }
}

function vmHwm(pid: number | "self" = "self"): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetHwm(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

interface ChildResult {
  readonly ms: number;
  readonly bytes: number;
  readonly peakExtra: number;
  readonly baseline: number;
  /** Peak extra of what JavaScript holds (heap used + array buffers), sampled on every piece. */
  readonly jsExtra: number;
  readonly ref: string;
}

/** In a child: one put or get, measured. */
async function child(op: "floor" | "put" | "get", url: string, size: number, ref: string): Promise<void> {
  const store: Store = await openStore({ url });
  // Warm up the code paths (and the engine) before the baseline.
  const warm = await store.blobs.putStream(generate(4 * MiB));
  for await (const _ of (await store.blobs.getStream(warm)) as unknown as AsyncIterable<Uint8Array>);
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 100));
  const baseline = process.memoryUsage.rss();
  const js = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const jsBaseline = js();
  const hwm = resetHwm();
  let sampled = baseline;
  let jsPeak = jsBaseline;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > sampled) sampled = m.rss;
    if (m.heapUsed + m.arrayBuffers > jsPeak) jsPeak = m.heapUsed + m.arrayBuffers;
  };
  const start = performance.now();
  let result: string;
  let bytes = 0;
  if (op === "floor") {
    // The same source read through a SHA-256 without cairn: the garbage of its own fresh pieces.
    const hash = createHash("sha256");
    for await (const piece of generate(size)) {
      sample();
      hash.update(piece);
      bytes += piece.byteLength;
    }
    result = hash.digest("hex");
  } else if (op === "put") {
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const piece of generate(size)) {
        sample();
        bytes += piece.byteLength;
        yield piece;
      }
    }
    result = await store.blobs.putStream(counted());
  } else {
    const hash = createHash("sha256");
    for await (const chunk of (await store.blobs.getStream(ref)) as unknown as AsyncIterable<Uint8Array>) {
      sample();
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
    result = hash.digest("hex");
    if (result !== ref) throw new Error(`read back ${result}, not ${ref}`);
  }
  const ms = performance.now() - start;
  sample();
  const peak = hwm ? (vmHwm() ?? sampled) : sampled;
  await store.close();
  const out: ChildResult = { ms, bytes, peakExtra: peak - baseline, baseline, jsExtra: jsPeak - jsBaseline, ref: result };
  process.stdout.write(JSON.stringify(out));
}

function run(args: string[], input?: (stdin: NodeJS.WritableStream) => Promise<void>, onStdout?: (chunk: Buffer) => void): Promise<{ code: number; stdout: string; stderr: string; peak?: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const proc = spawn(process.execPath, ["--expose-gc", "--import", TSX, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let peak: number | undefined;
    const poll = setInterval(() => {
      const hwm = vmHwm(proc.pid!);
      if (hwm !== undefined) peak = Math.max(peak ?? 0, hwm);
    }, 20);
    proc.stdout.on("data", (chunk: Buffer) => (onStdout ? onStdout(chunk) : (stdout += chunk.toString())));
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on("error", reject);
    proc.on("close", (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, stdout, stderr, peak, ms: performance.now() - start });
    });
    if (input) input(proc.stdin).then(() => proc.stdin.end(), reject);
    else proc.stdin.end();
  });
}

async function measure(op: "floor" | "put" | "get", url: string, size: number, ref = ""): Promise<ChildResult> {
  const result = await run([SELF, "--child", op, url, String(size), ref]);
  if (result.code !== 0) throw new Error(`${op} child failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ChildResult;
}

/** Writes `size` generated bytes to `stdin`, respecting backpressure. */
async function feed(stdin: NodeJS.WritableStream, size: number): Promise<void> {
  for await (const piece of generate(size)) {
    if (!stdin.write(piece)) await new Promise((r) => stdin.once("drain", r));
  }
}

const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const rate = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const list = (sizes.length > 0 ? sizes : [64, 1024]).map((n) => n * MiB);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}; peak extra = VmHWM - baseline RSS${existsSync("/proc/self/clear_refs") ? "" : " (sampled RSS: no /proc)"}`);
  console.log("");
  console.log("API (fresh child per row, file store, default options)");
  console.log(["op", "size", "time", "throughput", "peak extra RSS", "peak extra JS (heap + buffers)", "baseline RSS"].join("\t"));
  for (const size of list) {
    const dir = freshDir("stream");
    try {
      const url = `file:${join(dir, "cairn.db")}`;
      const floor = await measure("floor", url, size);
      console.log(["no cairn (source -> SHA-256)", fmtMiB(size), `${(floor.ms / 1000).toFixed(2)} s`, rate(floor.bytes, floor.ms), fmtMiB(floor.peakExtra), fmtMiB(floor.jsExtra), fmtMiB(floor.baseline)].join("\t"));
      const put = await measure("put", url, size);
      console.log(["putStream", fmtMiB(size), `${(put.ms / 1000).toFixed(2)} s`, rate(put.bytes, put.ms), fmtMiB(put.peakExtra), fmtMiB(put.jsExtra), fmtMiB(put.baseline)].join("\t"));
      const get = await measure("get", url, size, put.ref);
      console.log(["getStream", fmtMiB(size), `${(get.ms / 1000).toFixed(2)} s`, rate(get.bytes, get.ms), fmtMiB(get.peakExtra), fmtMiB(get.jsExtra), fmtMiB(get.baseline)].join("\t"));
    } finally {
      removeDir(dir);
    }
  }
  console.log("");
  console.log("CLI (cairn put - / cairn cat, under tsx; peak RSS of the whole process)");
  console.log(["command", "size", "time", "throughput", "peak RSS", "same on 1 byte"].join("\t"));
  for (const size of list) {
    const dir = freshDir("stream-cli");
    try {
      const url = `file:${join(dir, "cairn.db")}`;
      const tiny = await run([BIN, "put", "-", "--url", url], (stdin) => feed(stdin, 1));
      const put = await run([BIN, "put", "-", "--url", url], (stdin) => feed(stdin, size));
      if (put.code !== 0) throw new Error(`cairn put failed: ${put.stderr}`);
      const ref = put.stdout.trim();
      console.log(["cairn put -", fmtMiB(size), `${(put.ms / 1000).toFixed(2)} s`, rate(size, put.ms), fmtMiB(put.peak ?? NaN), fmtMiB(tiny.peak ?? NaN)].join("\t"));
      const tinyCat = await run([BIN, "cat", tiny.stdout.trim(), "--url", url]);
      const hash = createHash("sha256");
      let bytes = 0;
      const cat = await run([BIN, "cat", ref, "--url", url], undefined, (chunk) => {
        hash.update(chunk);
        bytes += chunk.byteLength;
      });
      if (cat.code !== 0 || hash.digest("hex") !== ref || bytes !== size) throw new Error(`cairn cat failed: ${cat.stderr}`);
      console.log(["cairn cat", fmtMiB(size), `${(cat.ms / 1000).toFixed(2)} s`, rate(size, cat.ms), fmtMiB(cat.peak ?? NaN), fmtMiB(tinyCat.peak ?? NaN)].join("\t"));
    } finally {
      removeDir(dir);
    }
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv[3] as "floor" | "put" | "get", process.argv[4]!, Number(process.argv[5]), process.argv[6] ?? "");
} else {
  await main();
}
