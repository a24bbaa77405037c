/**
 * Part G: what importing each entry of the compiled package costs, in fresh
 * processes of plain `node`, and which modules each import loads.
 *
 * - every subpath of package.json "exports" (cairn-store, cairn-store/langgraph, ...),
 *   imported by name the way a user does, in its own fresh process: import ms
 *   (median) and whole process ms;
 * - the CLI, `node dist/cli/bin.js --help` (importing dist/cli/main.js runs the CLI):
 *   whole process ms;
 * - each runtime dependency of package.json imported alone, so the cost of the
 *   entries can be split by package;
 * - floors: `node -e 0`, the child script importing nothing, and the child
 *   importing an empty module (the ES module loader's own first-use cost);
 * - one more process per subpath (and the CLI) with bench/module-log.mjs preloaded:
 *   every module it loaded, grouped by package, and which of them an entry must
 *   not load (a diff library, the CLI, an adapter, or their peers).
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { alternate, CHILD, checkDistAfter, distState, summarize, timedProcess, type ColdStartRow, type DistState, type Variant } from "./cold-start.js";
import { freshDir, removeDir, ROOT } from "./util.js";

/** Packages the main entry must not load: diff libraries, the CLI's and the ui server's, the adapters' peers. */
export const UNWANTED_PACKAGES = ["diff", "rfc6902", "commander", "cli-progress", "picocolors", "vitest", "zod", "hono", "@hono/node-server", "open"];
export const UNWANTED_SCOPES = ["@langchain/", "@openai/", "@vitest/"];
/** cairn's own folders and files (under dist/; a name matches itself and name-*) the main entry must not load: they load when first used. */
export const UNWANTED_OWN = ["adapters", "cli", "vitest", "maintenance", "checkpoint/diff", "checkpoint/format-diff", "diff", "ui"];

export interface ModulesLoaded {
  /** Files loaded per package from node_modules, by package name. */
  readonly packages: Record<string, number>;
  /** cairn's own compiled files loaded, by folder under dist/ (top-level files by name). */
  readonly own: Record<string, number>;
  readonly ownFiles: number;
  /** node: built-in modules imported as ES modules or required (sorted). */
  readonly builtins: string[];
  /** Native addons (.node files) loaded, relative to node_modules. */
  readonly native: string[];
  /** What of the above this entry should not load (for the main entry). */
  readonly unwanted: string[];
}

export interface SubpathCost {
  /** "." , "./langgraph", ... as in package.json exports; "cli" for the command. */
  readonly subpath: string;
  /** What was imported (or run). */
  readonly specifier: string;
  /** The compiled file it resolves to. */
  readonly file: string;
  readonly row: ColdStartRow;
  readonly modules: ModulesLoaded;
}

export interface ImportCostResult {
  readonly dist: DistState;
  readonly nodeFloor: ColdStartRow;
  readonly childFloor: ColdStartRow;
  readonly emptyModule: ColdStartRow;
  readonly subpaths: SubpathCost[];
  /** Each runtime dependency imported alone. */
  readonly dependencies: ColdStartRow[];
}

const EMPTY_MODULE = "data:text/javascript,export default 0";
const CLI_BIN = join(ROOT, "dist/cli/bin.js");

interface PackageJson {
  exports: Record<string, string | { default?: string }>;
  dependencies?: Record<string, string>;
  name: string;
}

function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;
}

/** The package's entries, from its exports map (package.json excluded). */
export function subpaths(): Array<{ subpath: string; specifier: string; file: string }> {
  const pkg = packageJson();
  return Object.entries(pkg.exports)
    .filter(([key]) => key !== "./package.json")
    .map(([key, target]) => ({
      subpath: key,
      specifier: key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`,
      file: typeof target === "string" ? target : (target.default ?? "?"),
    }));
}

/** The package a path in node_modules belongs to (the innermost node_modules). */
function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf("/node_modules/");
  if (at < 0) return undefined;
  const parts = path.slice(at + "/node_modules/".length).split("/");
  return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Parses bench/module-log.mjs output into packages, own files, built-ins and native addons. */
export function parseModuleLog(text: string, checkUnwanted: boolean): ModulesLoaded {
  const paths = new Set<string>();
  const builtins = new Set<string>();
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space < 0) continue;
    const kind = line.slice(0, space);
    const target = line.slice(space + 1);
    if (target.startsWith("node:")) builtins.add(target.slice(5));
    else if (target.startsWith("file:")) paths.add(fileURLToPath(target));
    else if (target.startsWith("/")) paths.add(kind === "native" ? `native:${target}` : target);
  }
  const packages: Record<string, number> = {};
  const own: Record<string, number> = {};
  const native: string[] = [];
  const dist = join(ROOT, "dist") + "/";
  for (const path of paths) {
    if (path.startsWith("native:")) {
      const file = path.slice("native:".length);
      native.push(file.slice(file.lastIndexOf("/node_modules/") + "/node_modules/".length));
      continue;
    }
    const pkg = packageOf(path);
    if (pkg) packages[pkg] = (packages[pkg] ?? 0) + 1;
    else if (path.startsWith(dist)) {
      const rest = path.slice(dist.length);
      const group = rest.includes("/") ? rest.slice(0, rest.indexOf("/")) : rest.replace(/\.js$/, "");
      const key = group === "checkpoint" && /^checkpoint\/(diff|format-diff)/.test(rest) ? rest.replace(/\.js$/, "") : group;
      own[key] = (own[key] ?? 0) + 1;
    }
  }
  const unwanted: string[] = [];
  if (checkUnwanted) {
    for (const name of Object.keys(packages)) {
      if (UNWANTED_PACKAGES.includes(name) || UNWANTED_SCOPES.some((s) => name.startsWith(s))) unwanted.push(name);
    }
    const ownUnwanted = new Map<string, number>();
    for (const [group, n] of Object.entries(own)) {
      const match = UNWANTED_OWN.find((u) => group === u || group.startsWith(`${u}-`));
      if (match) ownUnwanted.set(match, (ownUnwanted.get(match) ?? 0) + n);
    }
    for (const [match, n] of ownUnwanted) unwanted.push(`dist/${match} (${n} files)`);
  }
  const sortedPackages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  return {
    packages: sortedPackages,
    own: Object.fromEntries(Object.entries(own).sort(([a], [b]) => a.localeCompare(b))),
    ownFiles: Object.values(own).reduce((a, b) => a + b, 0),
    builtins: [...builtins].sort(),
    native: native.sort(),
    unwanted: unwanted.sort(),
  };
}

/** Runs `node --import bench/module-log.mjs <args>` once and returns what it loaded. */
export async function modulesLoaded(args: readonly string[], checkUnwanted: boolean): Promise<ModulesLoaded> {
  const dir = freshDir("modules");
  const out = join(dir, "modules.txt");
  try {
    await timedProcess({ name: "modules", args: ["--import", join(ROOT, "bench/module-log.mjs"), ...args], env: { CAIRN_MODULE_LOG: out } });
    let text = "";
    try {
      text = readFileSync(out, "utf8");
    } catch {
      // nothing loaded
    }
    return parseModuleLog(text, checkUnwanted);
  } finally {
    rmSync(out, { force: true });
    removeDir(dir);
  }
}

export interface ImportCostOptions {
  /** Timed processes per variant. */
  readonly runs: number;
}

const NODE_FLOOR = "node -e 0";
const CHILD_FLOOR = "child, no import";
const EMPTY = "child, empty module";
const CLI = "cli";

export async function runImportCost(options: ImportCostOptions, log: (line: string) => void): Promise<ImportCostResult> {
  const dist = distState();
  const entries = subpaths();
  const pkg = packageJson();
  const deps = [...Object.keys(pkg.dependencies ?? {})];
  if (deps.includes("@libsql/client")) deps.splice(deps.indexOf("@libsql/client") + 1, 0, "@libsql/client/sqlite3");
  const variants: Variant[] = [
    { name: NODE_FLOOR, args: ["-e", "0"] },
    { name: CHILD_FLOOR, args: [CHILD, "import"] },
    { name: EMPTY, args: [CHILD, "import", EMPTY_MODULE] },
    ...entries.map((e) => ({ name: e.subpath, args: [CHILD, "import", e.specifier] })),
    { name: CLI, args: [CLI_BIN, "--help"] },
    ...deps.map((d) => ({ name: `dep:${d}`, args: [CHILD, "import", d] })),
  ];
  log(`G: import cost: ${variants.length} variants x ${options.runs} fresh processes, interleaved`);
  const runs = await alternate(variants, options.runs, log);
  const row = (name: string) => summarize(name, runs.get(name)!);
  log("G: modules loaded by each entry (one process each, with bench/module-log.mjs)");
  const subpathCosts: SubpathCost[] = [];
  for (const e of entries) {
    subpathCosts.push({ ...e, row: row(e.subpath), modules: await modulesLoaded([CHILD, "import", e.specifier], e.subpath === ".") });
  }
  subpathCosts.push({
    subpath: CLI,
    specifier: "node dist/cli/bin.js --help",
    file: "./dist/cli/bin.js",
    row: row(CLI),
    modules: await modulesLoaded([CLI_BIN, "--help"], false),
  });
  checkDistAfter(dist, log);
  return {
    dist,
    nodeFloor: row(NODE_FLOOR),
    childFloor: row(CHILD_FLOOR),
    emptyModule: row(EMPTY),
    subpaths: subpathCosts,
    dependencies: deps.map((d) => ({ ...row(`dep:${d}`), name: d })),
  };
}
