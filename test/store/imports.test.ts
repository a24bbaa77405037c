/**
 * What importing the main entry and opening a store load, in a fresh process,
 * recorded by bench/module-log.mjs: the store and the one engine its URL needs
 * (the native `libsql` package for a file or memory store, an @libsql/client
 * entry for a server), never an adapter, the CLI, maintenance, diff or their libraries.
 * (bench part G times the same for the compiled package.) A `libsql:` URL loads
 * the HTTP client, as @libsql/client's own root entry sends it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The node_modules packages and the src/ files a fresh process loads for `script`. */
async function loaded(script: string): Promise<{ packages: Set<string>; sources: string[]; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-imports-"));
  try {
    const log = join(dir, "modules.txt");
    await run(process.execPath, ["--import", "tsx", "--import", "./bench/module-log.mjs", "--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, CAIRN_MODULE_LOG: log },
    });
    const lines = readFileSync(log, "utf8").split("\n");
    const packages = new Set<string>();
    for (const line of lines) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(line);
      if (match) packages.add(match[1]!);
    }
    return { packages, sources: lines.filter((l) => l.includes(`${ROOT}src/`)).map((l) => l.slice(l.indexOf("src/"))), lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const NEVER = ["diff", "rfc6902", "picocolors", "commander", "cli-progress", "@langchain/core", "@openai/agents", "vitest"];

describe("the main entry", () => {
  it("imports the store and @msgpack/msgpack only; a memory store loads the embedded engine and no libSQL client", async () => {
    const { packages, sources } = await loaded(
      `const { openStore } = await import(${JSON.stringify(join(ROOT, "src/index.ts"))}); const s = await openStore({ url: ":memory:" }); await s.close();`,
    );
    expect(packages.has("@msgpack/msgpack")).toBe(true);
    expect(packages.has("libsql")).toBe(true);
    for (const name of [...NEVER, "@libsql/client", "@libsql/hrana-client", "ws"]) expect(packages.has(name), name).toBe(false);
    expect(sources.filter((s) => /^src\/(adapters|cli|maintenance|vitest)\/|^src\/checkpoint\/(diff|format-diff)/.test(s))).toEqual([]);
  });
});

const unavailable = inject("sqldUnavailable");

describe.skipIf(unavailable !== "")(`a libsql: URL${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("goes over HTTP to the server: a commit through it reads back", async () => {
    const url = inject("sqldHttpUrl").replace(/^http:/, "libsql:") + "?tls=0";
    const { packages, lines } = await loaded(
      `const { openStore } = await import(${JSON.stringify(join(ROOT, "src/index.ts"))});
       const s = await openStore({ url: ${JSON.stringify(url)} });
       const id = "libsql-url-" + process.pid;
       await s.session(id).commit({ turn: 1, snapshots: { tool: { ok: true } } });
       if ((await s.session(id).latest())?.snapshots.tool?.ok !== true) throw new Error("not read back");
       await s.session(id).delete();
       await s.close();`,
    );
    const client = (entry: string) => lines.some((l) => l.endsWith(`node_modules/@libsql/client/lib-esm/${entry}.js`));
    expect(client("http")).toBe(true);
    expect(client("ws")).toBe(false);
    expect(packages.has("libsql")).toBe(false); // no native engine for a server
  });
});
