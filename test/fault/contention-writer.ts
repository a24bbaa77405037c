/**
 * One writer process of the sqld contention test: two loops at once on one
 * store handle, both committing `count` checkpoints.
 * - the shared loop: compare-and-swap on the shared session (expectedHead = the
 *   head it just read), reading the head again and retrying on CONFLICT;
 * - the own loop: plain commits to a session of this writer's own.
 * Prints one line per event: "ack <shared|own> <seq> <ref> <i>", "conflict",
 * "error <loop> <i> <code> <libsqlCode> <message>" for anything else that
 * escaped a commit, and "done" at the end.
 */
import { CairnError, openStore, type Checkpoint } from "../../src/index.js";

const [url, writer, sharedId, countText] = process.argv.slice(2) as [string, string, string, string];

/*
 * @libsql/client 0.18's executeHranaBatch creates a promise per step of a batch
 * and awaits them only after the whole request succeeded: when the request
 * itself fails (sqld answering TRANSACTION_TIMEOUT under load), the request's
 * error reaches cairn (a commit then retries under its commit id), but the
 * step promises reject with no handler, which ends a Node process by default.
 * The writer records those (a "leak" line the test reports) instead of dying;
 * any other unhandled rejection still ends it.
 */
process.on("unhandledRejection", (reason: unknown) => {
  const code = (reason as { code?: unknown } | null)?.code;
  if (code === "TRANSACTION_TIMEOUT" || code === "STREAM_EXPIRED") {
    process.stdout.write(`leak ${String(code)}\n`);
    return;
  }
  throw reason;
});
const count = Number(countText);
const store = await openStore({ url });
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Checkpoint i of a loop: unique per (writer, loop, i), with one slot every writer shares (concurrent inserts of the same blob). */
function checkpointFor(loop: string, i: number): Checkpoint {
  return {
    turn: i,
    snapshots: {
      execution: { writer, loop, i, messages: Array.from({ length: 4 }, (_, k) => `${writer} ${loop} ${i} message ${k} ${"x".repeat(100 + k * 37)}`) },
      tool: { file: `shared file ${i % 5} ${"lorem ipsum ".repeat(200)}` },
    },
  };
}

function report(loop: string, i: number, error: unknown): void {
  const e = error as CairnError;
  const libsqlCode = error instanceof CairnError ? String(e.details.libsqlCode ?? "-") : "-";
  say(`error ${loop} ${i} ${error instanceof CairnError ? e.code : "untyped"} ${libsqlCode} ${String(e?.message).replace(/\s+/g, " ").slice(0, 300)}`);
}

async function sharedLoop(): Promise<void> {
  const session = store.session(sharedId);
  for (let i = 0; i < count; i++) {
    const checkpoint = checkpointFor("shared", i);
    for (;;) {
      try {
        const head = await session.head();
        const { seq, ref } = await session.commit(checkpoint, { expectedHead: head });
        say(`ack shared ${seq} ${ref} ${i}`);
        break;
      } catch (error) {
        if (error instanceof CairnError && error.code === "CONFLICT") {
          say("conflict");
          continue;
        }
        report("shared", i, error);
        break;
      }
    }
  }
}

async function ownLoop(): Promise<void> {
  const session = store.session(`${sharedId}-own-${writer}`);
  for (let i = 0; i < count; i++) {
    try {
      const { seq, ref } = await session.commit(checkpointFor("own", i));
      say(`ack own ${seq} ${ref} ${i}`);
    } catch (error) {
      report("own", i, error);
    }
  }
}

await Promise.all([sharedLoop(), ownLoop()]);
await store.close();
say("done");
