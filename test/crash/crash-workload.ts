/**
 * The deterministic session the crash test's child commits: checkpoint n is a
 * function of n alone, so after a crash the parent can tell whether the head it
 * reads back is whole.
 */
import type { Checkpoint } from "../../src/index.js";

const FILES = ["alpha", "beta", "gamma"].map((name) =>
  Array.from({ length: 1500 }, (_, i) => `${name} line ${i}: ${"lorem ipsum dolor sit amet ".repeat(1 + (i % 3))}`).join("\n"),
);

/** The checkpoint committed as sequence number `n` (from 1). */
export function checkpointFor(n: number): Checkpoint {
  const messages = Array.from({ length: n }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i} ${"x".repeat(200 + (i % 7) * 50)}` }));
  const file = FILES[n % FILES.length]!;
  return {
    turn: n,
    snapshots: {
      execution: { messages, step: n },
      tool: { lastRead: n % 4 === 0 ? `${file}\nappended at ${n}` : file },
      plugin: { revision: Math.floor(n / 10) },
    },
  };
}
