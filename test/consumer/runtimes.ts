/**
 * The JavaScript runtimes the consumer smoke runs under: this machine's Node,
 * and Node 22, Node 24, Bun and Deno as shipped on npm (linux-x64 builds, pinned
 * in test/consumer/runtimes/package-lock.json, installed there on first use with
 * `npm ci --ignore-scripts`: the binaries are used as shipped).
 *
 * Each runtime says what the support table says about it: every check passes,
 * or a check fails with a known, clear error (asserted, never skipped).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ok, run } from "./support.js";

const RUNTIMES_DIR = fileURLToPath(new URL("./runtimes/", import.meta.url));
const BIN = join(RUNTIMES_DIR, "node_modules");

/** What runs under every runtime (see checks.ts), in this order. */
export type Check = "smoke" | "require" | "bin" | "langgraph" | "agents";
export const CHECKS: readonly Check[] = ["smoke", "require", "bin", "langgraph", "agents"];

export interface Runtime {
  /** node20 (this machine's), node22, node24, bun, deno. */
  readonly name: string;
  /** The executable. */
  readonly binary: string;
  /** Arguments before a script path (`deno run --allow-all`, ...). */
  readonly args: readonly string[];
  /** Extra environment (caches kept in the temp dir, no update checks). */
  readonly env: (tempDir: string) => Record<string, string>;
  /**
   * The checks known to fail on this runtime, with the error they fail with (a
   * pattern matched against the failure, the runtime's stderr included). Empty:
   * everything works. A check listed here must fail, and with that error.
   */
  readonly knownFailures: Partial<Record<Check, RegExp>>;
}

/** require(esm) without a flag: Node 20.19+, 22.12+, and every later major. */
export function requireEsmUnflagged(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
}

/** This machine's Node: "node20" here; "node22-system" where it would clash with an npm one. */
const thisMajor = process.versions.node.split(".")[0];
const thisNode = thisMajor === "22" || thisMajor === "24" ? `node${thisMajor}-system` : `node${thisMajor}`;

/** Every runtime, this machine's Node first. */
export const RUNTIMES: readonly Runtime[] = [
  {
    name: thisNode,
    binary: process.execPath,
    args: [],
    env: () => ({}),
    knownFailures: requireEsmUnflagged(process.versions.node) ? {} : { require: /ERR_REQUIRE_ESM/ },
  },
  { name: "node22", binary: join(BIN, "node22", "bin", "node"), args: [], env: () => ({}), knownFailures: {} },
  { name: "node24", binary: join(BIN, "node24", "bin", "node"), args: [], env: () => ({}), knownFailures: {} },
  {
    name: "bun",
    binary: join(BIN, "@oven", "bun-linux-x64", "bin", "bun"),
    // --no-install: a module missing from node_modules must fail, never be fetched.
    args: ["--no-install"],
    env: (tempDir) => ({ BUN_INSTALL_CACHE_DIR: join(tempDir, "bun-cache"), BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", DO_NOT_TRACK: "1" }),
    knownFailures: {},
  },
  {
    name: "deno",
    binary: join(BIN, "@deno", "linux-x64-glibc", "deno"),
    // A plain npm project: package.json and the node_modules npm installed, used as is.
    args: ["run", "--allow-all", "--node-modules-dir=manual"],
    env: (tempDir) => ({ DENO_DIR: join(tempDir, "deno-dir"), DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" }),
    knownFailures: {},
  },
];

/** Why the npm-shipped runtimes cannot run here, or undefined where they can (linux-x64, glibc). */
export function runtimesUnavailable(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return `the runtimes are installed as linux-x64 npm builds; this machine is ${process.platform}-${process.arch}`;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  if (!report?.header?.glibcVersionRuntime) return "the runtimes' npm builds need glibc";
  return undefined;
}

/** True when test/consumer/runtimes/node_modules holds exactly what the lock file pins. */
function installedAsLocked(): boolean {
  const lock = JSON.parse(readFileSync(join(RUNTIMES_DIR, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
  return Object.entries(lock.packages).every(([path, entry]) => {
    if (path === "") return true;
    const manifest = join(RUNTIMES_DIR, path, "package.json");
    return existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string }).version === entry.version;
  });
}

/** Installs the pinned runtimes into test/consumer/runtimes/node_modules unless already there. */
export async function installRuntimes(): Promise<"installed" | "already installed"> {
  if (installedAsLocked()) return "already installed";
  ok(await run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: RUNTIMES_DIR, timeoutMs: 300_000 }));
  for (const runtime of RUNTIMES) {
    if (!existsSync(runtime.binary)) throw new Error(`npm ci in ${RUNTIMES_DIR} did not install ${runtime.binary}`);
  }
  return "installed";
}

/** The runtime's version, e.g. "22.23.5". */
export async function runtimeVersion(runtime: Runtime): Promise<string> {
  const ran = ok(await run(runtime.binary, ["--version"], { cwd: RUNTIMES_DIR }));
  return /\d+\.\d+\.\d+\S*/.exec(ran.stdout)?.[0] ?? ran.stdout.trim();
}
