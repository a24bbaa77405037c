/**
 * Small helpers shared by the benchmark files: timing statistics, temp
 * directories, database file sizes, child processes and the machine description.
 */
import { prng } from "../src/cli/workload.js";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/..), the working directory of every child process. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const now = (): number => performance.now();

/** Summary of a list of durations in milliseconds. */
export interface Stats {
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: median(sorted),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Runs `fn` `count` times and returns each call's duration in ms. */
export async function timeEach(count: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = now();
    await fn();
    out.push(now() - t0);
  }
  return out;
}

/** MB/s (10^6 bytes per second) for `bytes` in `ms`. */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** A fresh empty directory under the OS temp dir. */
export function freshDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cairn-bench-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Bytes on disk of a SQLite database: the main file, its -wal and -shm files if present. */
export interface DbFiles {
  readonly main: number;
  readonly wal: number;
  readonly shm: number;
  /** main + wal: what the database occupies (the -shm file is an index rebuilt on open). */
  readonly total: number;
}

export function dbFiles(path: string): DbFiles {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  const main = size(path);
  const wal = size(`${path}-wal`);
  const shm = size(`${path}-shm`);
  return { main, wal, shm, total: main + wal };
}

/**
 * Runs `node --import tsx <script> ...args` from the repository root and parses
 * the last line of its stdout as JSON. A fresh process: no cache of cairn's is warm.
 */
export function runChild<T>(script: string, args: readonly string[]): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code}:\n${stderr}`));
        return;
      }
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolvePromise(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** The machine and runtime the figures come from. */
export interface Machine {
  readonly cpuModel: string;
  readonly nproc: number;
  /** Whether the CPU advertises the SHA extensions (x86 `sha_ni`, Arm `sha2`). */
  readonly shaExtensions: boolean;
  readonly memGiB: number;
  readonly os: string;
  readonly node: string;
  readonly libsqlClient: string;
  readonly tmpdir: string;
}

export function machine(): Machine {
  let cpuModel = "unknown";
  let flags: string[] = [];
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpuModel;
    flags = (/^(?:flags|Features)\s*:\s*(.+)$/m.exec(info)?.[1] ?? "").split(/\s+/);
  } catch {
    // not Linux
  }
  let libsqlClient = "unknown";
  try {
    libsqlClient = (JSON.parse(readFileSync(join(ROOT, "node_modules/@libsql/client/package.json"), "utf8")) as { version: string }).version;
  } catch {
    // not installed where expected
  }
  return {
    cpuModel,
    nproc: availableParallelism(),
    shaExtensions: flags.includes("sha_ni") || flags.includes("sha2"),
    memGiB: Math.round(totalmem() / 1024 ** 3),
    os: `${process.platform} ${release()}`,
    node: process.version,
    libsqlClient,
    tmpdir: tmpdir(),
  };
}


const WORDS = (
  "agent tool call result file read write search query answer context memory plan step check test build run " +
  "function value return error retry timeout cache session state token model prompt reply user assistant system " +
  "const let import export async await interface string number boolean undefined null class extends implements " +
  "the a of to in and for with on is are was be this that it from by as at or not but if then else when"
)
  .split(" ")
  .map((w) => Buffer.from(w));

/**
 * `size` bytes of text-like content (numbered lines of random words, as source
 * files and logs look), distinct for each seed: it compresses about as well as
 * real text and shares no chunk with another seed's payload.
 */
export function textBytes(size: number, seed: number): Uint8Array {
  const rand = prng(seed);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let line = 1;
  while (at < size) {
    const head = `${String(line++).padStart(5, " ")}  `;
    at += out.write(head, at, "latin1");
    const words = 4 + Math.floor(rand() * 10);
    for (let i = 0; i < words && at < size; i++) {
      const word = WORDS[Math.floor(rand() * WORDS.length)]!;
      at += word.copy(out, at);
      if (at < size) out[at++] = i === words - 1 ? 0x0a : 0x20;
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, size);
}

/** A seedable PRNG (mulberry32), for payloads that are reproducible run to run: the workload's own. */
export { prng };
