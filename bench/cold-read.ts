/**
 * A cold read: a fresh process opens the store and reads a session's newest
 * checkpoint, as an agent runtime does when it resumes after a crash.
 *
 *   node --import tsx bench/cold-read.ts <dbpath> <session> [repeats]
 *
 * "Cold" means no cache of cairn's is warm (they are per process) and no code of
 * the read path has run yet; the OS page cache may still hold the file. Prints one line of JSON (a {@link ColdReadResult}).
 */
import { openStore } from "../src/index.js";
import { now, stats, timeEach, type Stats } from "./util.js";

export interface ColdReadResult {
  /** openStore() in the fresh process, ms. */
  readonly openMs: number;
  /** The first latest() of the process, ms. */
  readonly firstLatestMs: number;
  /** The next `repeats` latest() calls of the same process. */
  readonly nextLatest: Stats;
  /**
   * latest() through a new store handle each time (code warm, nothing of the
   * state cached: the read cache of large strings belongs to a store handle):
   * the work of reading, inflating and verifying the state, without the
   * process's warm-up.
   */
  readonly uncachedLatest: Stats;
  /** The first history() of the process (after the reads above), ms. */
  readonly firstHistoryMs: number;
  readonly seq: number;
}

async function main(): Promise<void> {
  const [dbPath, session, repeatsArg = "10"] = process.argv.slice(2);
  if (!dbPath || !session) throw new Error("usage: cold-read.ts <dbpath> <session> [repeats]");
  let t0 = now();
  const store = await openStore({ url: `file:${dbPath}` });
  const openMs = now() - t0;
  const s = store.session(session);
  t0 = now();
  const latest = await s.latest();
  const firstLatestMs = now() - t0;
  if (!latest) throw new Error(`session ${session} is empty`);
  const nextLatest = stats(await timeEach(Number(repeatsArg), () => s.latest()));
  const fresh = await Promise.all(Array.from({ length: 5 }, () => openStore({ url: `file:${dbPath}` })));
  let next = 0;
  const uncachedLatest = stats(await timeEach(5, () => fresh[next++]!.session(session).latest()));
  for (const handle of fresh) await handle.close();
  t0 = now();
  await s.history();
  const firstHistoryMs = now() - t0;
  await store.close();
  const result: ColdReadResult = { openMs, firstLatestMs, nextLatest, uncachedLatest, firstHistoryMs, seq: latest.seq };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
