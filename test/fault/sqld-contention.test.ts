/**
 * Transient contention on a libSQL server is absorbed (issue 9): four writer
 * processes commit to one sqld at once, each a compare-and-swap loop on one
 * shared session (retrying on CONFLICT) and a loop on a session of its own,
 * 1,600 commits over http and 1,600 over ws. No error other than CONFLICT may
 * escape a commit (SQLITE_BUSY did: 3 and 11 of 12,800), the shared session has
 * no gaps, and every acknowledged commit is there exactly once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { sqldUnavailable, startSqld, type SqldServer } from "../support/sqld.js";

const writerScript = fileURLToPath(new URL("./contention-writer.ts", import.meta.url));
const WRITERS = 4;
/** Per writer and loop: 4 writers x 2 loops x 200 = 1,600 commits per transport. */
const PER_LOOP = Number(process.env.CAIRN_CONTENTION_PER_LOOP ?? 200);

interface Ack {
  seq: number;
  ref: string;
  writer: number;
  i: number;
}

interface WriterRun {
  shared: Ack[];
  own: Ack[];
  conflicts: number;
  errors: string[];
  /** Step promises @libsql/client left rejected without a handler after a failed batch request (see contention-writer.ts). */
  leaks: number;
}

/** Writer processes still running: killed by afterAll if a test ends early. */
const running = new Set<ChildProcess>();

function runWriter(url: string, writer: number, sharedId: string): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", writerScript, url, String(writer), sharedId, String(PER_LOOP)], { stdio: ["ignore", "pipe", "pipe"] });
    const run: WriterRun = { shared: [], own: [], conflicts: 0, errors: [], leaks: 0 };
    let buffer = "";
    let stderr = "";
    let done = false;
    child.stdout.on("data", (data: Buffer) => {
      buffer += data.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const [word, a, b, c, d] = line.split(" ");
        if (word === "ack") (a === "shared" ? run.shared : run.own).push({ seq: Number(b), ref: c!, writer, i: Number(d) });
        else if (word === "conflict") run.conflicts++;
        else if (word === "leak") run.leaks++;
        else if (word === "error") run.errors.push(line);
        else if (word === "done") done = true;
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    running.add(child);
    child.on("error", reject);
    child.on("exit", (code) => {
      running.delete(child);
      if (code !== 0 || !done) reject(new Error(`writer ${writer} exited with ${code} before it was done: ${stderr}`));
      else resolve(run);
    });
  });
}

const unavailable = sqldUnavailable();

describe.skipIf(unavailable !== undefined)(`sqld contention${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let server: SqldServer;
  beforeAll(async () => {
    server = await startSqld();
  });
  afterAll(async () => {
    for (const child of running) child.kill("SIGKILL");
    await server?.stop();
  });

  for (const transport of ["http", "ws"] as const) {
    it(`absorbs contention of ${WRITERS} writer processes over ${transport}: only CONFLICT escapes, nothing lost or doubled`, async () => {
      const url = transport === "http" ? server.httpUrl : server.wsUrl;
      const sharedId = `shared-${transport}`;
      const started = Date.now();
      const runs = await Promise.all(Array.from({ length: WRITERS }, (_, w) => runWriter(url, w, sharedId)));
      const seconds = (Date.now() - started) / 1000;

      const shared = runs.flatMap((r) => r.shared);
      const own = runs.flatMap((r) => r.own);
      const errors = runs.flatMap((r) => r.errors);
      const conflicts = runs.reduce((n, r) => n + r.conflicts, 0);
      const leaks = runs.reduce((n, r) => n + r.leaks, 0);
      const byKind = new Map<string, number>();
      for (const line of errors) {
        const [, , , code, libsqlCode] = line.split(" ");
        byKind.set(`${code} ${libsqlCode}`, (byKind.get(`${code} ${libsqlCode}`) ?? 0) + 1);
      }
      console.log(
        `sqld contention over ${transport}: ${shared.length + own.length} commits acknowledged (${shared.length} compare-and-swap on one session, ` +
          `${own.length} to own sessions), ${conflicts} CONFLICTs retried, ${errors.length} other errors ${JSON.stringify(Object.fromEntries(byKind))}, ` +
          `${leaks} batch step promises @libsql/client left rejected after a failed request, ${seconds.toFixed(1)} s`,
      );
      expect(errors, "errors other than CONFLICT that escaped a commit").toEqual([]);
      expect(shared.length + own.length).toBe(WRITERS * 2 * PER_LOOP);

      const store = await openStore({ url });
      try {
        // The shared session: seq 1..n without gaps, n the number of acknowledged commits, each at the seq it was acknowledged with, each once.
        const rows = await store.session(sharedId).history();
        const seqs = rows.map((r) => r.seq).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
        expect(rows.length).toBe(shared.length);
        const bySeq = new Map(rows.map((r) => [r.seq, r.ref as string]));
        for (const ack of shared) expect(bySeq.get(ack.seq), `shared commit ${ack.writer}/${ack.i}`).toBe(ack.ref);
        expect(new Set(rows.map((r) => r.ref)).size).toBe(rows.length);
        // Own sessions: every acknowledged commit at its seq, nothing else.
        for (let w = 0; w < WRITERS; w++) {
          const ownRows = await store.session(`${sharedId}-own-${w}`).history();
          const ownBySeq = new Map(ownRows.map((r) => [r.seq, r.ref as string]));
          const acks = runs[w]!.own;
          expect(ownRows.length).toBe(acks.length);
          for (const ack of acks) expect(ownBySeq.get(ack.seq), `own commit ${w}/${ack.i}`).toBe(ack.ref);
          expect(new Set(ownRows.map((r) => r.ref)).size).toBe(ownRows.length);
        }
      } finally {
        await store.close();
      }
    }, 120_000);
  }
});
