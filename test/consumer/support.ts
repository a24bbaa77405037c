/**
 * Helpers for the consumer test: child processes with a user's environment
 * (nothing of this repository's npm run or vitest leaks into them), their
 * `RESULT <json>` lines, and per-stage timings.
 */
import { spawn } from "node:child_process";
import { delimiter } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** How a child process ended, with its whole output. */
export interface Ran {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd: string;
  /** Added to the user environment (see {@link userEnv}). */
  readonly env?: Readonly<Record<string, string>>;
  /** Killed (SIGKILL) after this long; default 120 s. */
  readonly timeoutMs?: number;
  /** Called with all stdout so far as each chunk arrives, and a way to SIGKILL the child. */
  readonly onStdout?: (stdout: string, kill: () => void) => void;
}

/**
 * The environment a user's shell would give a command: this process's, minus
 * what `npm run` and vitest add (npm_* settings, INIT_CWD, VITEST*, NODE_ENV,
 * NODE_OPTIONS) and minus this repository's node_modules/.bin on PATH. The
 * user's ~/.npmrc is still read by npm, as for any user.
 */
export function userEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|INIT_CWD$|VITEST|NODE_ENV$|NODE_OPTIONS$|TEST$|FORCE_COLOR$)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !dir.startsWith(REPO))
    .join(delimiter);
  env.NO_COLOR = "1";
  return { ...env, ...extra };
}

/** Runs a command to its end (never rejects on a non-zero exit: see {@link ok}). */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<Ran> {
  const started = performance.now();
  const shown = [command, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: userEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout, () => child.kill("SIGKILL"));
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs ?? 120_000} ms]`;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 120_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${shown}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ command: shown, code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Describes a finished command for an assertion message. */
export function describeRan(ran: Ran): string {
  const tail = (text: string) => (text.length > 6000 ? `…${text.slice(-6000)}` : text);
  return `${ran.command}\n(exit ${ran.code}${ran.signal ? `, signal ${ran.signal}` : ""})\n--- stdout\n${tail(ran.stdout)}\n--- stderr\n${tail(ran.stderr)}`;
}

/** Throws with the whole output unless the command exited 0. */
export function ok(ran: Ran): Ran {
  if (ran.code !== 0) throw new Error(`command failed: ${describeRan(ran)}`);
  return ran;
}

/** The JSON of the `RESULT <json>` line a fixture prints. */
export function result<T>(ran: Ran): T {
  const line = ran.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) throw new Error(`no RESULT line from ${describeRan(ran)}`);
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

/** The first line of a failure that looks like the error (for the per-runtime line). */
export function errorLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|cannot|not supported|unsupported/i.test(l)) ?? lines[0] ?? "failed";
}

/** Wall-clock time of each stage, printed at the end. */
export class Stages {
  readonly #rows: Array<{ name: string; ms: number }> = [];
  readonly #started = performance.now();

  async time<T>(name: string, body: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await body();
    } finally {
      this.record(name, performance.now() - started);
    }
  }

  record(name: string, ms: number): void {
    this.#rows.push({ name, ms });
  }

  report(): string {
    const width = Math.max(...this.#rows.map((r) => r.name.length), 5);
    const rows = this.#rows.map((r) => `  ${r.name.padEnd(width)}  ${seconds(r.ms)}`);
    return [...rows, `  ${"wall clock".padEnd(width)}  ${seconds(performance.now() - this.#started)} (some stages overlap)`].join("\n");
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1).padStart(6)} s`;
}

export function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
