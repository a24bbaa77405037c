/**
 * `cairn du` end to end: spawns the bin's source under tsx against a real store
 * file in a temp dir, prepared through the library, and checks the printed
 * table, the totals, the largest blobs and `--json` against `store.du()`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashBytes, openStore, type DuReport, type Store } from "../../src/index.js";
import { formatBytes } from "../../src/cli/format.js";
import { tempDir } from "../support/backends.js";

const BIN = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
/** tsx's loader by absolute path: the command runs in temp dirs, where "tsx" would not resolve. */
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

interface Run {
  readonly status: number | null;
  readonly out: string;
  readonly err: string;
}

/** Spawns `cairn args...` with a clean environment (no CAIRN_*, no colour). */
function cairn(args: readonly string[]): Promise<Run> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: "1" };
  delete env.CAIRN_URL;
  delete env.CAIRN_DEBUG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, BIN, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, out: Buffer.concat(out).toString("utf8"), err: Buffer.concat(err).toString("utf8") }));
  });
}

let dir: string;
let removeDir: () => void;
let url: string;
/** Base64 of random bytes: text whose stored size follows its length. */
const noise = (bytes: number) => randomBytes(bytes).toString("base64");
const T = noise(30_000); // five sessions share it
const U = noise(60_000); // c alone holds it
const utf8 = (text: string) => new TextEncoder().encode(text);
let loose: string;
let garbage: string;

async function withStore<T>(body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url, create: false });
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** The library's report, as the CLI must print it. */
const expected = (options?: Parameters<Store["du"]>[0]): Promise<DuReport> => withStore((store) => store.du(options));

/** A printed table row's cells (columns are two or more spaces apart; no cell here holds two spaces). */
const cells = (line: string) => line.split(/ {2,}/);

beforeAll(async () => {
  ({ dir, remove: removeDir } = tempDir("cairn-cli-du-"));
  url = `file:${join(dir, "store.db")}`;
  const store = await openStore({ url });
  for (const id of ["a", "b", "d", "e", "f"]) await store.session(id).commit({ turn: 1, snapshots: { tool: { output: T }, execution: { who: id } } });
  await store.session("c").commit({ turn: 1, snapshots: { tool: { output: U }, execution: { who: "c" } } });
  await store.session("c").commit({ turn: 2, snapshots: { tool: { output: U }, execution: { who: "c", turn: 2 } } });
  loose = await store.blobs.put(utf8(noise(20_000)), { kind: "raw" });
  await store.pin("keep", loose);
  garbage = await store.blobs.put(utf8(noise(10_000)), { kind: "raw" });
  await store.close();
});
afterAll(() => removeDir());

describe("cairn du", () => {
  it("prints the sessions by exclusive bytes, the totals, and the largest blobs with who reaches them", async () => {
    const run = await cairn(["du", "--url", url]);
    expect(run.err).toBe("");
    expect(run.status).toBe(0);
    const report = await expected();
    const lines = run.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^EXCLUSIVE {2,}SHARED {2,}CHECKPOINTS {2,}LAST COMMIT {2,}SESSION$/);
    // c holds U alone; the five others hold the same shared tool output and exclusive bytes of equal size, so by id.
    const rows = lines.slice(1, 7).map(cells);
    expect(rows.map((r) => r.at(-1))).toEqual(["c", "a", "b", "d", "e", "f"]);
    for (const row of rows) {
      const s = report.sessions.find((x) => x.id === row.at(-1))!;
      expect(row).toEqual([formatBytes(s.exclusiveBytes), formatBytes(s.sharedBytes), String(s.checkpoints), s.lastCommitAt!.toISOString(), s.id]);
    }
    expect(rows[0]![2]).toBe("2");
    const c = report.sessions.find((s) => s.id === "c")!;
    expect(c.sharedBytes).toBe(0);
    expect(c.exclusiveBytes).toBeGreaterThan(60_000);

    const t = report.totals;
    expect(lines[7]).toBe("");
    expect(lines[8]).toBe(`6 sessions, 7 checkpoints, 1 pin; ${formatBytes(t.storedBytes)} stored in ${t.blobs} blobs (${formatBytes(t.logicalBytes)} logical)`);
    expect(lines[9]).toBe(`  reached by history  ${formatBytes(t.historyBytes)}`);
    expect(lines[10]).toBe(`  by pins only        ${formatBytes(t.pinnedOnlyBytes)}`);
    expect(lines[11]).toMatch(new RegExp(`^  garbage {13}${formatBytes(t.garbageBytes)} in ${t.garbageBlobs} blobs? \\(`));
    expect(t.pinnedOnlyBytes).toBeGreaterThan(20_000);
    expect(t.garbageBytes).toBeGreaterThan(10_000);

    expect(lines[12]).toBe("");
    expect(lines[13]).toMatch(/^STORED {2,}LOGICAL {2,}KIND {2,}REF {2,}REACHED BY$/);
    const largest = lines.slice(14).map(cells);
    expect(largest).toHaveLength(report.largest.length);
    expect(largest.slice(0, 4)).toEqual([
      [formatBytes(report.largest[0]!.storedBytes), formatBytes(utf8(U).byteLength), "large-value", hashBytes(utf8(U)), "c"],
      [formatBytes(report.largest[1]!.storedBytes), formatBytes(utf8(T).byteLength), "large-value", hashBytes(utf8(T)), "a, b, d and 2 more (5 sessions)"],
      [formatBytes(report.largest[2]!.storedBytes), formatBytes(report.largest[2]!.logicalBytes), "raw", loose, "pin:keep"],
      [formatBytes(report.largest[3]!.storedBytes), formatBytes(report.largest[3]!.logicalBytes), "raw", garbage, "nothing (garbage)"],
    ]);
  });

  it("narrows to one session or a prefix, and --top sets how many blobs are listed", async () => {
    const [one, prefixed, top1, top0] = await Promise.all([
      cairn(["du", "c", "--url", url, "--top", "1"]),
      cairn(["du", "--prefix", "d", "--url", url]),
      cairn(["du", "--top", "1", "--url", url]),
      cairn(["du", "--top", "0", "--url", url]),
    ]);
    for (const run of [one, prefixed, top1, top0]) expect(run.status).toBe(0);
    const c = (await expected({ session: "c" })).sessions[0]!;
    const oneLines = one.out.trimEnd().split("\n");
    expect(cells(oneLines[1]!)).toEqual([formatBytes(c.exclusiveBytes), formatBytes(c.sharedBytes), "2", c.lastCommitAt!.toISOString(), "c"]);
    expect(oneLines[2]).toBe("");
    expect(oneLines[3]).toMatch(/^1 of 6 sessions, 7 checkpoints/);
    expect(oneLines.slice(-2).map((l) => cells(l).at(-1))).toEqual(["REACHED BY", "c"]);

    const prefixLines = prefixed.out.trimEnd().split("\n");
    expect(cells(prefixLines[1]!).at(-1)).toBe("d");
    expect(prefixLines[2]).toBe("");
    expect(prefixLines[3]).toMatch(/^1 of 6 sessions/);
    // The largest among what d reaches: T first.
    expect(prefixLines.find((l) => l.includes(hashBytes(utf8(T))))).toBeDefined();
    expect(prefixed.out).not.toContain(hashBytes(utf8(U)));

    const topLines = top1.out.trimEnd().split("\n");
    expect(topLines.at(-2)).toMatch(/^STORED/);
    expect(topLines.at(-1)).toContain(hashBytes(utf8(U)));
    expect(top0.out).not.toContain("REACHED BY");
    expect(top0.out.trimEnd().split("\n").at(-1)).toMatch(/^ {2}garbage/);
  });

  it("--json prints the library's report, times as ISO strings", async () => {
    const run = await cairn(["du", "--json", "--url", url]);
    expect(run.status).toBe(0);
    const printed = JSON.parse(run.out) as Record<string, unknown>;
    const report = await expected();
    const { timings, ...rest } = report;
    expect(printed.timings).toEqual({ total: expect.any(Number) });
    delete printed.timings;
    expect(timings.total).toBeGreaterThanOrEqual(0);
    expect(printed).toEqual(JSON.parse(JSON.stringify({ ...rest, sessions: rest.sessions.map((s) => ({ ...s, lastCommitAt: s.lastCommitAt!.toISOString() })) })));
    expect((printed.sessions as Array<{ id: string }>).map((s) => s.id)).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  it("fails with exit status 2 on a session the store lacks, conflicting arguments, a bad --top, or a missing store", async () => {
    const missingFile = join(dir, "nope.db");
    const [nosuch, both, badTop, negative, missing] = await Promise.all([
      cairn(["du", "nosuch", "--url", url]),
      cairn(["du", "a", "--prefix", "a", "--url", url]),
      cairn(["du", "--top", "x", "--url", url]),
      cairn(["du", "--top", "1001", "--url", url]),
      cairn(["du", "--url", `file:${missingFile}`]),
    ]);
    expect(nosuch).toMatchObject({ status: 2, out: "" });
    expect(nosuch.err).toMatch(/^cairn: NOT_FOUND: no session "nosuch"/);
    expect(both).toMatchObject({ status: 2, out: "" });
    expect(both.err).toMatch(/^cairn: INVALID_ARGUMENT: cairn du takes a session or --prefix, not both/);
    for (const run of [badTop, negative]) {
      expect(run).toMatchObject({ status: 2, out: "" });
      expect(run.err).toMatch(/^cairn: USAGE: .*--top.*expected an integer from 0 to 1000/);
    }
    expect(missing.status).toBe(2);
    expect(missing.err).toMatch(/^cairn: NOT_FOUND: /);
    expect(existsSync(missingFile)).toBe(false);
  });
});
