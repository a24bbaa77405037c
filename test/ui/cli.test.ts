/**
 * `cairn ui` as a child process (the bin's source under tsx) on a real store
 * file: it prints its address, serves the API there until SIGTERM, and then
 * exits 0; --write puts the token in the address; a missing store or a bad
 * port is refused with exit status 2 and nothing created. And the port choice
 * (in-process): 4317 or the next free one; a port given and taken fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { DEFAULT_PORT, startUiServer } from "../../src/ui/server/server.js";
import { tempDir } from "../support/backends.js";

const BIN = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
/** tsx's loader by absolute path: the command runs in a temp dir, where "tsx" would not resolve. */
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

let dir: { dir: string; remove: () => void };
let url: string;

beforeAll(async () => {
  dir = tempDir("cairn-ui-cli-");
  url = `file:${join(dir.dir, "store.db")}`;
  const store = await openStore({ url });
  await store.session("s").commit({ turn: 1, snapshots: { x: 1 } });
  await store.close();
});

afterAll(() => dir?.remove());

interface Started {
  readonly child: ChildProcess;
  /** The first line with an address. */
  readonly address: string;
  readonly exit: Promise<{ status: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

/** Spawns `cairn ui args...` and waits for it to print its address. */
function start(args: readonly string[]): Promise<Started> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: "1" };
  delete env.CAIRN_URL;
  const child = spawn(process.execPath, ["--import", TSX, BIN, "ui", ...args], { cwd: dir.dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, out, err })),
  );
  child.stderr!.on("data", (b: Buffer) => (err += b.toString("utf8")));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString("utf8");
      const address = /http:\/\/\S+/.exec(out)?.[0];
      if (address) resolve({ child, address, exit });
    });
    void exit.then((r) => reject(new Error(`cairn ui exited (${r.status}) before printing an address: ${r.out}${r.err}`)));
  });
}

describe("cairn ui", () => {
  it("prints http://127.0.0.1:<port>/, serves /api/meta there, and exits 0 on SIGTERM", async () => {
    const { child, address, exit } = await start(["--port", "0", "--url", url]);
    try {
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const meta = (await (await fetch(`${address}api/meta`)).json()) as { url: string; readOnly: boolean; backend: string };
      expect(meta).toMatchObject({ url, readOnly: true, backend: "file" });
      const sessions = (await (await fetch(`${address}api/sessions`)).json()) as { sessions: Array<{ id: string }> };
      expect(sessions.sessions.map((s) => s.id)).toEqual(["s"]);
    } finally {
      child.kill("SIGTERM");
    }
    const result = await exit;
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    expect(result.err).toBe("");
  });

  it("with --write prints the token in the address, and SIGINT ends it with 0 too", async () => {
    const { child, address, exit } = await start(["--port", "0", "--write", "--url", url]);
    try {
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
      const token = new URL(address).searchParams.get("token")!;
      const origin = new URL(address).origin;
      expect(((await (await fetch(`${origin}/api/meta`)).json()) as { readOnly: boolean }).readOnly).toBe(false);
      const pinned = await fetch(`${origin}/api/pins`, { method: "POST", headers: { "X-Cairn-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ name: "p", ref: "0".repeat(64) }) });
      expect(pinned.status).toBe(404); // the token is accepted; the blob is not in the store
    } finally {
      child.kill("SIGINT");
    }
    expect((await exit).status).toBe(0);
  });

  it("refuses a store that does not exist (exit 2, nothing created) and a bad port (exit 2)", async () => {
    const missing = join(dir.dir, "missing.db");
    await expect(start(["--port", "0", "--url", `file:${missing}`])).rejects.toThrow(/exited \(2\).*NOT_FOUND/s);
    expect(existsSync(missing)).toBe(false);
    await expect(start(["--port", "70000", "--url", url])).rejects.toThrow(/exited \(2\).*USAGE/s);
  });
});

/** Holds `port` on the loopback address; resolves to undefined when something else holds it already. */
function occupy(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("the port", () => {
  it("is 4317 or, while it is taken, the next free one; a port given and taken fails", async () => {
    const holder = await occupy(DEFAULT_PORT); // if something else holds 4317, it is taken all the same
    const store = await openStore({ url, create: false });
    try {
      const server = await startUiServer({ store });
      try {
        expect(server.port).toBeGreaterThan(DEFAULT_PORT);
        expect(server.port).toBeLessThan(DEFAULT_PORT + 20);
        expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
        expect(((await (await fetch(`${server.origin}/api/meta`)).json()) as { readOnly: boolean }).readOnly).toBe(true);
        await expect(startUiServer({ store, port: server.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
      } finally {
        await server.close();
      }
      await expect(startUiServer({ store, port: 65536 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    } finally {
      await store.close();
      await new Promise((resolve) => (holder ? holder.close(resolve) : resolve(undefined)));
    }
  });
});
