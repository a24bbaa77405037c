/**
 * One outcome per commit when the server dies (issue 9): a libSQL server is
 * SIGKILLed at random moments while two writers commit through one store handle
 * (one appending, one compare-and-swap on its head), and restarted on the same
 * data path and port, 25 times over http and 25 over ws. Every commit carries a
 * commitId; a commit that raises an error is retried with the same commitId
 * (and the same expectedHead) until it returns. Afterwards:
 * - every acknowledged commit is in its session, at the seq it was acknowledged with;
 * - no commitId is in a history twice, and nothing is there that was not acknowledged;
 * - every commit that raised an error is there once, at the seq and ref its retry returned
 *   (the retry never conflicts with its own first attempt).
 * Half the kills are aimed (0-6 ms after a commit starts), half land anywhere
 * in the first 150 ms; the seed is logged (replay with CAIRN_FAULT_SEED). The
 * server comes back within 100 ms, which the library's own retry (under the
 * commit's id) absorbs, except once per transport: then it stays down until
 * both writers have seen their commit fail (the library gave up), so the
 * callers' retries under the same commitId are exercised too.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CairnError, openStore, type Checkpoint, type Store } from "../../src/index.js";
import { prng } from "../support/seeded.js";
import { sqldUnavailable, startSqld, type SqldServer } from "../support/sqld.js";

const KILLS = Number(process.env.CAIRN_FAULT_KILLS ?? 25);
/** How long one commit may keep failing before the test gives up on it. */
const COMMIT_DEADLINE_MS = 60_000;

interface Outcome {
  readonly commitId: string;
  readonly seq: number;
  readonly ref: string;
  /** The errors its attempts raised before one returned, by kind. */
  readonly errors: readonly string[];
  readonly replayed: boolean;
}

interface Shared {
  stop: boolean;
  /** Acknowledged commits per writer since the last restart. */
  acksSinceRestart: number[];
  /** Errors raised to each writer since the last kill. */
  errorsSinceKill: number[];
  /** Resolved at the start of the next commit attempt. */
  nextStart: (() => void)[];
}

/** Checkpoint i of a writer: unique, with enough bytes (about 24 KiB of new blobs) that a write takes a moment. */
function checkpointFor(writer: string, i: number): Checkpoint {
  return {
    turn: i,
    snapshots: {
      execution: { writer, i, messages: Array.from({ length: 8 }, (_, k) => `${writer} turn ${i} message ${k}: ${"abcdefgh".repeat(40 + k)}`) },
      tool: { output: Array.from({ length: 400 }, (_, k) => `${writer}/${i} line ${k} ${(k * 7919 + i) % 10007}`).join("\n") },
    },
  };
}

function kindOf(error: unknown): string {
  if (!(error instanceof CairnError)) return `untyped:${(error as Error)?.name}`;
  return `${error.code}:${String(error.details.libsqlCode ?? "-")}`;
}

async function writer(store: Store, sessionId: string, index: number, cas: boolean, shared: Shared): Promise<Outcome[]> {
  const session = store.session(sessionId);
  const outcomes: Outcome[] = [];
  let head = 0;
  for (let i = 0; !shared.stop; i++) {
    const commitId = `${sessionId}/${i}`;
    const checkpoint = checkpointFor(sessionId, i);
    const errors: string[] = [];
    const deadline = Date.now() + COMMIT_DEADLINE_MS;
    for (;;) {
      for (const resolve of shared.nextStart.splice(0)) resolve();
      try {
        const result = await session.commit(checkpoint, cas ? { commitId, expectedHead: head } : { commitId });
        outcomes.push({ commitId, seq: result.seq, ref: result.ref, errors, replayed: result.replayed });
        head = result.seq;
        shared.acksSinceRestart[index]!++;
        break;
      } catch (error) {
        errors.push(kindOf(error));
        shared.errorsSinceKill[index]!++;
        // A retry under the same commitId must never conflict with its own first attempt.
        if (error instanceof CairnError && error.code === "CONFLICT") throw new Error(`commit ${commitId} conflicted on retry: ${error.message}`, { cause: error });
        if (!(error instanceof CairnError)) throw error;
        if (Date.now() > deadline) throw new Error(`commit ${commitId} kept failing for ${COMMIT_DEADLINE_MS} ms: ${errors.join(", ")}`, { cause: error });
        await sleep(20);
      }
    }
  }
  return outcomes;
}

async function waitUntil(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

const unavailable = sqldUnavailable();

describe.skipIf(unavailable !== undefined)(`sqld killed during commits${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let server: SqldServer;
  beforeAll(async () => {
    server = await startSqld();
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const transport of ["http", "ws"] as const) {
    it(`${transport}: ${KILLS} SIGKILLs of the server, every commit once, acknowledged or not`, async () => {
      const seed = Number(process.env.CAIRN_FAULT_SEED ?? Date.now() % 2 ** 31);
      console.log(`sqld kill test over ${transport}: seed ${seed} (replay with CAIRN_FAULT_SEED=${seed})`);
      const random = prng(seed);
      const store = await openStore({ url: transport === "http" ? server.httpUrl : server.wsUrl });
      const shared: Shared = { stop: false, acksSinceRestart: [0, 0], errorsSinceKill: [0, 0], nextStart: [] };
      const plainId = `kill-${transport}-plain-${seed}`;
      const casId = `kill-${transport}-cas-${seed}`;
      const started = Date.now();
      const writers = Promise.all([writer(store, plainId, 0, false, shared), writer(store, casId, 1, true, shared)]);
      // A writer that fails stops the killer too.
      let failed: unknown;
      writers.catch((error: unknown) => (failed = error));
      let aimed = 0;
      let downMs = 0;
      let longDownMs = 0;
      const longOutage = Math.floor(KILLS / 2);
      try {
        for (let k = 0; k < KILLS; k++) {
          await waitUntil(() => failed !== undefined || shared.acksSinceRestart.every((n) => n > 0), `both writers commit after restart ${k}`);
          if (failed) break;
          if (random() < 0.5) {
            aimed++;
            await new Promise<void>((resolve) => shared.nextStart.push(resolve));
            await sleep(random() * 6);
          } else {
            await sleep(random() * 150);
          }
          shared.errorsSinceKill = [0, 0];
          await server.kill();
          const down = Date.now();
          shared.acksSinceRestart = [0, 0];
          if (k === longOutage) {
            await waitUntil(() => failed !== undefined || shared.errorsSinceKill.every((n) => n > 0), "both writers see a commit fail", 60_000);
            longDownMs = Date.now() - down;
          } else {
            await sleep(random() * 100);
          }
          await server.restart();
          downMs += Date.now() - down;
        }
        await waitUntil(() => failed !== undefined || shared.acksSinceRestart.every((n) => n > 0), "both writers commit after the last restart");
      } finally {
        shared.stop = true;
      }
      const [plain, cas] = await writers;
      const seconds = (Date.now() - started) / 1000;

      const all = [...plain, ...cas];
      const errored = all.filter((o) => o.errors.length > 0);
      const byKind = new Map<string, number>();
      for (const kind of all.flatMap((o) => o.errors)) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      console.log(
        `sqld kill test over ${transport}: ${KILLS} kills (${aimed} aimed), server down ${((downMs - longDownMs) / (KILLS - 1)).toFixed(0)} ms on average ` +
          `and once for ${(longDownMs / 1000).toFixed(1)} s, ` +
          `${all.length} commits acknowledged (${plain.length} appended, ${cas.length} compare-and-swap), ` +
          `${errored.length} raised an error first (${JSON.stringify(Object.fromEntries(byKind))}), ` +
          `${all.filter((o) => o.replayed).length} returned as already committed (replayed), ` +
          `${errored.filter((o) => o.replayed).length} of those after an error, ${seconds.toFixed(1)} s`,
      );

      try {
        for (const [sessionId, outcomes] of [
          [plainId, plain],
          [casId, cas],
        ] as const) {
          const rows = await store.session(sessionId).history();
          // No gaps, and exactly the acknowledged commits: none twice, none unacknowledged.
          expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: rows.length }, (_, k) => k + 1));
          const ids = rows.map((r) => r.commitId);
          expect(ids.every((id) => id !== undefined)).toBe(true);
          expect(new Set(ids).size, `commit ids in ${sessionId}`).toBe(rows.length);
          expect(rows.length).toBe(outcomes.length);
          const byId = new Map(rows.map((r) => [r.commitId!, r]));
          for (const outcome of outcomes) {
            const row = byId.get(outcome.commitId);
            expect(row, `acknowledged commit ${outcome.commitId}`).toBeDefined();
            expect({ seq: row!.seq, ref: row!.ref }, `commit ${outcome.commitId} (errors before: ${outcome.errors.join(", ")})`).toEqual({
              seq: outcome.seq,
              ref: outcome.ref,
            });
          }
          // The compare-and-swap writer committed in order: commit i at seq i + 1.
          if (sessionId === casId) for (const [i, outcome] of outcomes.entries()) expect(outcome.seq).toBe(i + 1);
        }
        expect(all.every((o) => o.errors.every((kind) => kind.startsWith("DATABASE:")))).toBe(true);
        // The long outage made commits fail to their callers, who retried them under the same commitId.
        expect(errored.length).toBeGreaterThanOrEqual(2);
      } finally {
        await store.close();
      }
    }, 150_000);
  }
});
