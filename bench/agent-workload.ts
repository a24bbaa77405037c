/**
 * Parts A, B and C: the agent workload committed into one session (a child
 * process per compression profile), the database size on disk afterwards, and
 * latest() / history() warm (in that process) and cold (fresh processes).
 */
import type { CompressionProfile } from "../src/index.js";
import type { ColdReadResult } from "./cold-read.js";
import type { WorkloadPassResult } from "./workload-pass.js";
import { dbFiles, freshDir, median, removeDir, runChild, type DbFiles } from "./util.js";

export interface AgentWorkloadOptions {
  readonly turns: number;
  readonly toolEvery: number;
  readonly profiles: readonly CompressionProfile[];
  /** Warm latest() / history() calls timed after the first. */
  readonly repeats: number;
  /** Fresh processes for the cold read (each reports its own first read). */
  readonly coldProcesses: number;
  readonly keep: boolean;
}

export interface AgentWorkloadResult extends WorkloadPassResult {
  readonly dbPath: string;
  /** Files after PRAGMA wal_checkpoint(TRUNCATE) and close(). */
  readonly db: DbFiles;
  /** db.total / uniquePayloadBytes. */
  readonly dbOverUnique: number;
  /** logicalBytes / db.total: how much smaller than a store without dedup. */
  readonly logicalOverDb: number;
  readonly cold: readonly ColdReadResult[];
  /** Medians over the cold processes. */
  readonly coldFirstLatestMs: number;
  readonly coldNextLatestMs: number;
  readonly coldUncachedLatestMs: number;
  readonly coldFirstHistoryMs: number;
  readonly coldOpenMs: number;
}

export async function runAgentWorkload(options: AgentWorkloadOptions, log: (line: string) => void): Promise<AgentWorkloadResult[]> {
  const out: AgentWorkloadResult[] = [];
  for (const profile of options.profiles) {
    const dir = freshDir(`workload-${profile}`);
    const dbPath = `${dir}/cairn.db`;
    try {
      log(`A/B/C: ${options.turns} turns, tool call every ${options.toolEvery}, profile ${profile} -> ${dbPath}`);
      const pass = await runChild<WorkloadPassResult>("bench/workload-pass.ts", [
        dbPath,
        profile,
        String(options.turns),
        String(options.toolEvery),
        "bench",
        String(options.repeats),
      ]);
      // The child merged the WAL and closed the store before exiting.
      const db = dbFiles(dbPath);
      const cold: ColdReadResult[] = [];
      for (let i = 0; i < options.coldProcesses; i++) {
        const result = await runChild<ColdReadResult>("bench/cold-read.ts", [dbPath, pass.session, "10"]);
        if (result.seq !== options.turns) throw new Error(`cold latest() returned seq ${result.seq}, expected ${options.turns}`);
        cold.push(result);
      }
      out.push({
        ...pass,
        dbPath,
        db,
        dbOverUnique: db.total / pass.uniquePayloadBytes,
        logicalOverDb: pass.logicalBytes / db.total,
        cold,
        coldFirstLatestMs: median(cold.map((c) => c.firstLatestMs)),
        coldNextLatestMs: median(cold.map((c) => c.nextLatest.p50)),
        coldUncachedLatestMs: median(cold.map((c) => c.uncachedLatest.p50)),
        coldFirstHistoryMs: median(cold.map((c) => c.firstHistoryMs)),
        coldOpenMs: median(cold.map((c) => c.openMs)),
      });
    } finally {
      if (!options.keep) removeDir(dir);
    }
  }
  return out;
}
