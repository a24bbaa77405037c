/**
 * The consumer test: the package as a user gets it. Packs this repository (the
 * prepack runs the build), installs the tarball with the peers a user adds into
 * a fresh project outside the repository, and there, with nothing of the
 * repository but the installed package:
 *
 * 1. runs the cairn bin (demo, verify, diff, a usage error) through its shebang;
 * 2. runs the vitest matchers in the project's own vitest;
 * 3. type-checks a TypeScript user against the installed declarations (node16,
 *    nodenext, bundler), checks cairn's own .d.ts, and runs attw on the tarball;
 * 4. under this Node, Node 22, Node 24, Bun and Deno (checks.ts): imports every
 *    subpath and round-trips a file store, require()s the package, runs the bin
 *    (demo, verify), SIGKILLs a real LangGraph StateGraph on CairnSaver midway and
 *    resumes it in a fresh process, and runs the real OpenAI Agents SDK runner
 *    with a CairnSession (offline, a scripted model) across two processes.
 *
 *   npm run test:consumer            (CAIRN_KEEP_CONSUMER=1 keeps the temp dir)
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECK_RUNNERS } from "./checks.js";
import { CHECKS, RUNTIMES, installRuntimes, runtimeVersion, runtimesUnavailable } from "./runtimes.js";
import { REPO, Stages, describeRan, errorLine, kib, ok, run, type Ran } from "./support.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
/** attw, pinned; installed in the consumer project, not in this repository. */
const ATTW_VERSION = "0.18.5";
const KEEP = process.env.CAIRN_KEEP_CONSUMER === "1";

const rootPackage = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  types?: string;
  devDependencies: Record<string, string>;
};

const stages = new Stages();
const unavailable = runtimesUnavailable();
let temp = "";
let project = "";
let tarball: string | undefined;
let installed = false;
let runtimesReady: Promise<string> | undefined;

/** Fails a stage whose prerequisite failed, saying which. */
function need(condition: unknown, what: string): void {
  if (!condition) throw new Error(`not run: ${what} failed earlier`);
}

/** A bin of the consumer project, run by this machine's Node. */
function projectBin(name: string, args: readonly string[], timeoutMs = 120_000): Promise<Ran> {
  return run(process.execPath, [join("node_modules", ".bin", name), ...args], { cwd: project, timeoutMs });
}

beforeAll(() => {
  temp = mkdtempSync(join(realpathSync(tmpdir()), "cairn-consumer-"));
  project = join(temp, "project");
  // The runtimes download while the package builds.
  if (unavailable === undefined) {
    runtimesReady = stages.time("install runtimes (npm ci, on first use)", installRuntimes);
    runtimesReady.catch(() => undefined); // awaited, and reported, by the runtime tests
  } else {
    console.warn(`Skipping Node 22/24, Bun and Deno: ${unavailable}.`);
  }
});

afterAll(async () => {
  const runtimes = await runtimesReady?.catch((error: unknown) => `failed: ${String(error)}`);
  console.log(`stage timings${runtimes ? ` (runtimes ${runtimes})` : ""}:\n${stages.report()}`);
  if (KEEP) console.log(`kept ${temp}`);
  else if (temp) rmSync(temp, { recursive: true, force: true });
});

describe("cairn-store as a user installs it", () => {
  it("packs: the build, every export target and the bin, no tests or benchmarks", async () => {
    const ran = ok(await stages.time("npm pack (runs the build)", () => run("npm", ["pack", "--json", "--pack-destination", temp], { cwd: REPO, timeoutMs: 300_000 })));
    const [packed] = JSON.parse(ran.stdout.slice(ran.stdout.indexOf("["))) as Array<{
      filename: string;
      entryCount: number;
      size: number;
      unpackedSize: number;
      files: Array<{ path: string }>;
    }>;
    expect(packed).toBeDefined();
    const files = packed!.files.map((f) => f.path);
    const top = new Map<string, number>();
    for (const file of files) top.set(file.split("/")[0]!, (top.get(file.split("/")[0]!) ?? 0) + 1);
    console.log(
      `packed ${packed!.filename}: ${packed!.entryCount} files, ${kib(packed!.size)} packed, ${kib(packed!.unpackedSize)} unpacked ` +
        `(${[...top].map(([name, n]) => `${name} ${n}`).join(", ")})`,
    );

    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "LICENSE", "docs/CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/cli/bin.js"]));
    expect(existsSync(join(REPO, "LICENSE")), "postpack removes the LICENSE that prepack copied from docs/").toBe(false);
    expect(files.filter((f) => /^(test|bench)\//.test(f))).toEqual([]);
    const targets = [...exportTargets(rootPackage.exports), ...Object.values(rootPackage.bin), ...(rootPackage.types ? [rootPackage.types] : [])];
    const missing = targets.map((t) => t.replace(/^\.\//, "")).filter((t) => !files.includes(t));
    expect(missing, "export, bin and types targets missing from the tarball").toEqual([]);
    expect(readFileSync(join(REPO, "dist", "cli", "bin.js"), "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
    tarball = join(temp, packed!.filename);
  });

  it("installs the tarball and the peers into a fresh project outside the repository", async () => {
    need(tarball, "npm pack");
    mkdirSync(project);
    const pin = (name: string) => {
      const version = rootPackage.devDependencies[name];
      if (!version) throw new Error(`${name} is not a devDependency of ${rootPackage.name}`);
      return version;
    };
    const spec = `file:${tarball}`;
    const manifest = {
      name: "cairn-consumer",
      version: "0.0.0",
      private: true,
      type: "module",
      dependencies: {
        [rootPackage.name]: spec,
        ...Object.fromEntries(["@langchain/core", "@langchain/langgraph", "@langchain/langgraph-checkpoint", "@openai/agents", "zod"].map((n) => [n, pin(n)])),
      },
      devDependencies: {
        ...Object.fromEntries(["typescript", "vitest", "@types/node"].map((n) => [n, pin(n)])),
        "@arethetypeswrong/cli": ATTW_VERSION,
      },
      // npm lists a tarball dependency's `prepare` as an install script to review,
      // but never runs it for a tarball (and it could not: dist/ is shipped built).
      allowScripts: { [spec]: false },
    };
    writeFileSync(join(project, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const file of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, file), join(project, file));
    mkdirSync(join(project, "data"));

    const ran = ok(await stages.time("npm install (consumer project)", () => run("npm", ["install", "--no-audit", "--no-fund"], { cwd: project, timeoutMs: 300_000 })));
    const warnings = [...new Set(ran.stderr.split("\n").filter((l) => l.startsWith("npm warn")))];
    console.log(`${ran.stdout.trim()}${warnings.length ? `\n${warnings.join("\n")}` : ""}`);

    const installedPackage = JSON.parse(readFileSync(join(project, "node_modules", rootPackage.name, "package.json"), "utf8")) as { version: string };
    expect(installedPackage.version).toBe(rootPackage.version);
    for (const [name, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
      if (name === rootPackage.name) continue;
      const got = JSON.parse(readFileSync(join(project, "node_modules", name, "package.json"), "utf8")) as { version: string };
      expect(got.version, name).toBe(version);
    }
    // Nothing of the repository is reachable from the project: it resolves its own copy.
    expect(realpathSync(join(project, "node_modules", rootPackage.name)).startsWith(REPO)).toBe(false);
    installed = true;
  });

  it("without the native engine (npm install --omit=optional), a file store fails with a clear DATABASE error", async () => {
    need(tarball, "npm pack");
    // A real install where @libsql/client's platform package was left out, as with
    // optional dependencies omitted or a lockfile made on another platform.
    const bare = join(temp, "no-native");
    mkdirSync(bare);
    const spec = `file:${tarball}`;
    writeFileSync(join(bare, "package.json"), JSON.stringify({ name: "cairn-no-native", version: "0.0.0", private: true, type: "module", dependencies: { [rootPackage.name]: spec }, allowScripts: { [spec]: false } }));
    await stages.time("npm install --omit=optional (no native engine)", async () => {
      ok(await run("npm", ["install", "--omit=optional", "--no-audit", "--no-fund"], { cwd: bare, timeoutMs: 300_000 }));
    });
    expect(readdirSync(join(bare, "node_modules", "@libsql")).filter((name) => /^(linux|darwin|win32)-/.test(name))).toEqual([]);
    writeFileSync(
      join(bare, "open.mjs"),
      `import { openStore, CairnError } from "${rootPackage.name}";
try { await openStore({ url: "file:" + process.argv[2] }); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify({ cairn: e instanceof CairnError, code: e.code, message: e.message, details: e.details })); }
`,
    );
    // Under every runtime that can run here: a typed error that names the runtime, the
    // missing module and the alternative; the process goes on (Node 20 would otherwise
    // also report the failed load as uncaught and exit 1); nothing is created.
    if (unavailable === undefined) await runtimesReady;
    const runtimes = RUNTIMES.filter((r) => r.binary === process.execPath || unavailable === undefined);
    for (const runtime of runtimes) {
      const path = join(bare, "data", `${runtime.name}.db`);
      const ran = ok(await run(runtime.binary, [...runtime.args, "open.mjs", path], { cwd: bare, timeoutMs: 60_000, env: runtime.env(temp) }));
      const out = JSON.parse(ran.stdout) as { message: string; details: { runtime: string } };
      expect(out, runtime.name).toMatchObject({ cairn: true, code: "DATABASE", details: { platform: process.platform, arch: process.arch } });
      expect(out.details.runtime, runtime.name).toMatch(/^(Node v|Bun |Deno )\d/);
      expect(out.message, runtime.name).toContain(`the embedded libSQL engine (the native module of the libsql package) did not load on ${out.details.runtime}, ${process.platform}-${process.arch}: `);
      expect(out.message, runtime.name).toContain("@libsql/linux-x64-gnu");
      expect(out.message, runtime.name).toMatch(/or use a libSQL server instead \(url http:\/\/, ws:\/\/ or libsql:\/\//);
      expect(existsSync(path), runtime.name).toBe(false);
    }
    console.log(`no native engine: a clear DATABASE error on ${runtimes.map((r) => r.name).join(", ")}`);
  });

  it("runs the installed cairn bin through its shebang: demo, verify, diff, a usage error", async () => {
    need(installed, "the install");
    const cairn = (args: readonly string[]) => run(join(project, "node_modules", ".bin", "cairn"), args, { cwd: project, timeoutMs: 120_000 });
    await stages.time("bin: cairn demo, verify, diff", async () => {
      const demo = ok(await cairn(["demo"]));
      expect(demo.stdout).toMatch(/SIGKILL sent to worker \d+ after turn \d+/);
      expect(demo.stdout).toMatch(/state identical to what was committed/);
      expect(demo.stdout).toMatch(/turns committed\s+200/);
      expect(existsSync(join(project, ".cairn", "demo.db"))).toBe(true);
      console.log(demo.stdout.split("\n").filter((l) => /resumed at|turns committed|dedup ratio/.test(l)).map((l) => l.trim()).join("\n"));

      const verify = ok(await cairn(["verify", "--url", "file:.cairn/demo.db"]));
      expect(verify.stdout).toMatch(/^ok: checked \d+ blobs .*, 200 manifests, 200 history rows, 1 sessions/m);
      const report = JSON.parse(ok(await cairn(["verify", "--url", "file:.cairn/demo.db", "--json"])).stdout) as { ok: boolean; findings: unknown[]; counts: { manifests: number } };
      expect(report).toMatchObject({ ok: true, findings: [], counts: { manifests: 200 } });

      const changed = await cairn(["diff", "demo@1", "demo@2", "--url", "file:.cairn/demo.db"]);
      expect(changed.code, describeRan(changed)).toBe(1); // exit 1: the checkpoints differ
      expect(changed.stdout).toMatch(/\/snapshots\/execution changed/);
      const same = ok(await cairn(["diff", "demo@2", "demo@2", "--url", "file:.cairn/demo.db"]));
      expect(same.stdout).toMatch(/no changes/);

      const usage = await cairn(["verify", "--no-such-option"]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^cairn: USAGE: unknown option '--no-such-option'/);
    });
  });

  it("runs the cairn-store/vitest matchers in the project's own vitest", async () => {
    need(installed, "the install");
    const ran = ok(await stages.time("vitest matchers (consumer's vitest)", () => projectBin("vitest", ["run", "matchers.test.mjs"])));
    expect(ran.stdout).toMatch(/Tests\s+1 passed \(1\)/);
  });

  it("type-checks a TypeScript user against the installed declarations (node16, nodenext, bundler), and cairn's own .d.ts", async () => {
    need(installed, "the install");
    // Every subpath the installed package exports, imported once.
    const installedExports = (JSON.parse(readFileSync(join(project, "node_modules", rootPackage.name, "package.json"), "utf8")) as { exports: Record<string, unknown> }).exports;
    const subpaths = Object.keys(installedExports)
      .filter((key) => key !== "./package.json")
      .map((key) => `${rootPackage.name}${key.slice(1)}`);
    writeFileSync(
      join(project, "subpaths.ts"),
      `// Generated by the consumer test: every subpath of the installed ${rootPackage.name}.\n` +
        subpaths.map((s, i) => `import * as m${i} from ${JSON.stringify(s)};`).join("\n") +
        `\nexport const subpaths = [${subpaths.map((_, i) => `m${i}`).join(", ")}];\n`,
    );
    // Two lanes (the CI machine has 2 cores): cairn's declarations themselves with
    // skipLibCheck off, beside the three resolution modes one after the other.
    const checks = await stages.time("tsc: node16, nodenext, bundler | declarations", async () => {
      const [declarations, modes] = await Promise.all([
        projectBin("tsc", ["-p", "tsconfig.declarations.json"]),
        (async () => {
          const ran: Array<[string, Ran]> = [];
          for (const mode of ["node16", "nodenext", "bundler"]) ran.push([mode, await projectBin("tsc", ["-p", `tsconfig.${mode}.json`])]);
          return ran;
        })(),
      ]);
      return [...modes, ["declarations", declarations] as [string, Ran]];
    });
    for (const [name, ran] of checks) {
      if (name !== "declarations") {
        expect(ran.code, `tsc ${name}: ${describeRan(ran)}`).toBe(0);
        continue;
      }
      // Errors inside other packages' declarations (@openai/agents ships some) are not ours;
      // anything else (in cairn-store, in subpaths.ts, in the config) is.
      const errors = ran.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
      const theirs = errors.filter((l) => l.startsWith("node_modules/") && !l.startsWith(`node_modules/${rootPackage.name}/`));
      const ours = errors.filter((l) => !theirs.includes(l));
      expect(ours, `errors in ${rootPackage.name}'s declarations: ${describeRan(ran)}`).toEqual([]);
      const others = [...new Set(theirs.map((l) => l.split("(")[0]))];
      console.log(`tsc: node16, nodenext, bundler clean; ${rootPackage.name}'s .d.ts clean` + (others.length ? `; errors outside it (not ours): ${others.join(", ")}` : ""));
    }
  });

  it("attw: the types resolve under node10, node16 (ESM) and bundler for every subpath", async () => {
    need(tarball && installed, "the pack or the install");
    const [strict, full] = await stages.time("attw", () =>
      Promise.all([
        projectBin("attw", [tarball!, "--ignore-rules", "cjs-resolves-to-esm", "--no-color"]),
        projectBin("attw", [tarball!, "--no-color"]),
      ]),
    );
    // An ESM-only package is expected to show CJSResolvesToESM ("node16 from CJS": TypeScript
    // models require() of ESM as dynamic import only; Node 20.19+/22.12+ and Bun do require it,
    // as the require check below shows). Every other rule must pass, node10 included
    // (typesVersions maps the subpaths there).
    const problems = [...new Set([...full!.stdout.matchAll(/problems\/(\w+)\.md/g)].map((m) => m[1]))];
    console.log(`attw: exit ${full!.code} (${problems.length ? problems.join(", ") : "no problems"}); without cjs-resolves-to-esm: exit ${strict!.code}`);
    expect(strict!.code, describeRan(strict!)).toBe(0);
    expect(problems).toEqual(["CJSResolvesToESM"]);
  });

  for (const runtime of RUNTIMES) {
    describe(`runtime ${runtime.name}`, () => {
      const skip = runtime.binary !== process.execPath && unavailable !== undefined;
      const outcomes: string[] = [];
      let version = "";
      let started = 0;
      beforeAll(async () => {
        started = performance.now();
        if (skip || !installed) return;
        if (runtime.binary !== process.execPath) await runtimesReady;
        version = await runtimeVersion(runtime);
      });
      afterAll(() => {
        if (outcomes.length > 0) console.log(`${runtime.name} ${version}: ${outcomes.join(", ")}`);
        stages.record(`runtime ${runtime.name}`, performance.now() - started);
      });
      for (const check of CHECKS) {
        const known = runtime.knownFailures[check];
        it.skipIf(skip)(known ? `${check}: fails with the known error ${known}` : check, async () => {
          need(installed, "the install");
          let summary: string;
          try {
            summary = await CHECK_RUNNERS[check](runtime, { project, temp });
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (!known) {
              outcomes.push(`${check} FAILED (${errorLine(message)})`);
              throw error;
            }
            expect(message, `${check} under ${runtime.name} fails with the known error`).toMatch(known);
            outcomes.push(`${check} fails as known (${errorLine(message)})`);
            return;
          }
          outcomes.push(`${check} ok (${summary})`);
          if (known) throw new Error(`${check} passed under ${runtime.name}: remove it from knownFailures in runtimes.ts`);
        });
      }
    });
  }
});

/** Every string target of an `exports` map (conditions and subpaths alike). */
function exportTargets(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(exportTargets);
  return [];
}
