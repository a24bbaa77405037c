/** Random ids and payloads for tests that share a server database. */
import { randomBytes, randomUUID, createHash } from "node:crypto";

export const uid = (prefix = "s"): string => `${prefix}-${randomUUID()}`;
export const randomPayload = (size: number): Uint8Array => new Uint8Array(randomBytes(size));
export const sha256Hex = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** Text that looks like a file a tool read: lines with some repetition, unique per seed. */
export function textPayload(size: number, seed: string = randomUUID()): string {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const line = `${i} ${seed} const value${i % 17} = compute(${i * 7919 % 1000}); // note ${i % 13}`;
    lines.push(line);
    total += line.length + 1;
  }
  return lines.join("\n").slice(0, size);
}
