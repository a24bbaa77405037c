/**
 * Shared test fixtures: a large tool output every process can rebuild, and a
 * helper that runs agent-process.ts in a child process.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * 100 KiB of pseudo-random base64 (SHA-256 in counter mode): the same in every
 * process, and compressing to no less than 3/4 of its size, so a second copy
 * would show in bytesWritten.
 */
export function bigOutput(): string {
  if (cached === undefined) {
    const parts: Buffer[] = [];
    for (let i = 0; i < (100 * 1024 * 3) / 4 / 32; i++) parts.push(createHash("sha256").update(`cairn-openai-agents-${i}`).digest());
    cached = Buffer.concat(parts).toString("base64").slice(0, 100 * 1024);
  }
  return cached;
}

/** The lowercase hex SHA-256 of a string's UTF-8 bytes: the ref cairn gives it. */
export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

const script = fileURLToPath(new URL("./agent-process.ts", import.meta.url));
const root = fileURLToPath(new URL("../../..", import.meta.url));

/** Runs agent-process.ts in a fresh Node process and returns its RESULT line, parsed. */
export function runProcess<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || line === undefined) {
        reject(new Error(`agent-process ${args.join(" ")} exited with ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve(JSON.parse(line.slice("RESULT ".length)) as T);
    });
  });
}
