/**
 * Crash safety, proven: a child process commits in a loop and is SIGKILLed at
 * random moments, 60 times over, every other child at durability "normal" (no
 * fsync per commit, which survives a process crash but not a power loss). After each kill the store is reopened: the head
 * hydrates whole (equal to what was committed at that sequence number), and every
 * commit the child acknowledged before it died is there with the same ref.
 *
 * The soak, outside CI: `npm run test:soak` (CAIRN_SOAK_KILLS=1000) runs the same
 * test with that many kills; every 100 kills the child moves on to a new session,
 * so a checkpoint (which grows with its sequence number) stays small.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { checkpointFor } from "./crash-workload.js";
import { prng } from "../support/seeded.js";

const committer = fileURLToPath(new URL("./committer.ts", import.meta.url));
const KILLS = Number(process.env.CAIRN_SOAK_KILLS ?? 60);
/** Kills per session: the workload's checkpoint n holds n messages, so a session stops growing after this many. */
const KILLS_PER_SESSION = 100;

interface Run {
  acks: Map<number, string>;
  ready: number | undefined;
}

/** Spawns the child, lets it run `runMs` after it is ready (or kills it `earlyMs` after spawn), then SIGKILLs it. */
function runAndKill(path: string, sessionId: string, durability: "full" | "normal", plan: { earlyMs?: number; runMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", committer, path, sessionId, durability], { stdio: ["ignore", "pipe", "pipe"] });
    const run: Run = { acks: new Map(), ready: undefined };
    let buffer = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    const kill = () => child.kill("SIGKILL");
    if (plan.earlyMs !== undefined) timer = setTimeout(kill, plan.earlyMs);
    child.stdout.on("data", (data: Buffer) => {
      buffer += data.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const [word, a, b] = buffer.slice(0, newline).split(" ");
        buffer = buffer.slice(newline + 1);
        if (word === "ready") {
          run.ready = Number(a);
          if (timer === undefined) timer = setTimeout(kill, plan.runMs);
        } else if (word === "ack") run.acks.set(Number(a), b!);
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
      else resolve(run);
    });
  });
}

describe("crash safety", () => {
  const dir = tempDir("cairn-crash-");
  afterAll(() => dir.remove());

  it(`keeps every acknowledged commit and a whole head across ${KILLS} SIGKILLs`, async () => {
    const seed = Number(process.env.CAIRN_CRASH_SEED ?? Date.now() % 2 ** 31);
    console.log(`crash test seed: ${seed} (replay with CAIRN_CRASH_SEED=${seed}), ${KILLS} kills`);
    const random = prng(seed);
    const path = join(dir.dir, "crash.db");
    const started = Date.now();
    let sessionId = "";
    let acked = new Map<number, string>();
    /** The newest seq known to be in the session: acknowledged, or the head a child resumed from (an unacknowledged commit the kill before left). */
    let known = 0;
    let killedWithAcks = 0;
    let totalAcked = 0;
    let lost = 0;
    let unacknowledgedPresent = 0;
    const acksAt = { full: 0, normal: 0 };
    for (let i = 0; i < KILLS; i++) {
      if (i % KILLS_PER_SESSION === 0) {
        totalAcked += acked.size;
        sessionId = `crashy-${i / KILLS_PER_SESSION}`;
        acked = new Map();
        known = 0;
      }
      // One kill in six lands while the child starts, opens and resumes; the rest mid-commit.
      const early = random() < 1 / 6;
      // Every other child commits at durability "normal" (no fsync per commit): a process crash must lose nothing there either.
      const durability = i % 2 === 0 ? "full" : "normal";
      const run = await runAndKill(path, sessionId, durability, early ? { earlyMs: Math.floor(random() * 700), runMs: 0 } : { runMs: Math.floor(random() * 150) });
      if (run.acks.size > 0) killedWithAcks++;
      acksAt[durability] += run.acks.size;
      for (const [seq, ref] of run.acks) acked.set(seq, ref);
      known = Math.max(known, run.ready ?? 0, ...run.acks.keys());

      const store = await openStore({ url: `file:${path}` });
      try {
        const session = store.session(sessionId);
        const head = await session.latest();
        if ((head?.seq ?? 0) > known) unacknowledgedPresent++;
        expect(head?.seq ?? 0).toBeGreaterThanOrEqual(known);
        // At most the one commit in flight when the child died can be there unacknowledged (counted from the
        // resume point too: a child killed before its first ack may leave one on top of one the kill before left).
        expect(head?.seq ?? 0).toBeLessThanOrEqual(known + 1);
        if (head) {
          const expected = checkpointFor(head.seq);
          expect(head.turn).toBe(expected.turn);
          expect(head.snapshots).toEqual(expected.snapshots);
        }
        const rows = new Map((await session.history()).map((h) => [h.seq, h.ref]));
        for (const [seq, ref] of acked) if (rows.get(seq) !== ref) lost++;
        for (const [seq, ref] of acked) expect(rows.get(seq), `acknowledged commit ${seq}`).toBe(ref);
        expect([...rows.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: rows.size }, (_, k) => k + 1));
      } finally {
        await store.close();
      }
      if ((i + 1) % KILLS_PER_SESSION === 0 && KILLS > KILLS_PER_SESSION) {
        console.log(`crash test: ${i + 1} kills, ${totalAcked + acked.size} acknowledged commits, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    }
    totalAcked += acked.size;
    console.log(
      `crash test: ${KILLS} SIGKILLs (${killedWithAcks} after at least one ack) in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
        `${totalAcked} acknowledged commits (${acksAt.full} at durability full, ${acksAt.normal} at normal), ${lost} lost, ` +
        `${unacknowledgedPresent} kills left the in-flight commit in the store`,
    );
    expect(acksAt.normal).toBeGreaterThan(0);
    expect(lost).toBe(0);
    expect(totalAcked).toBeGreaterThan(KILLS);
    expect(killedWithAcks).toBeGreaterThan(KILLS / 2);
  }, Math.max(300_000, KILLS * 5_000));
});
