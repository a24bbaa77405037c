// Builds the cairn ui web app: type checks src/ui/web (its own tsconfig), then
// bundles src/ui/web/main.tsx with Preact and uPlot (and their CSS) into
// dist/ui/web/app.js and dist/ui/web/app.css, minified, for ES2020. The
// installed package serves these prebuilt files; nothing is fetched at run time.
//
//   node src/ui/web/build.mjs            type check + build
//   node src/ui/web/build.mjs --no-check build only
//   node src/ui/web/build.mjs --watch    rebuild on change (no type check)
import { execFileSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const outdir = join(root, "dist", "ui", "web");
const args = new Set(process.argv.slice(2));
const watch = args.has("--watch");

if (!watch && !args.has("--no-check")) {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(here, "tsconfig.json"), "--noEmit"], { stdio: "inherit", cwd: root });
  } catch {
    console.error("ui web: type check failed");
    process.exit(1);
  }
}

mkdirSync(outdir, { recursive: true });

/** @type {import("esbuild").BuildOptions} */
const options = {
  absWorkingDir: root,
  entryPoints: [join(here, "main.tsx")],
  outfile: join(outdir, "app.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  minify: !watch,
  sourcemap: false,
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
  metafile: true,
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`ui web: watching, writing ${relative(root, outdir)}/app.js and app.css`);
} else {
  const result = await esbuild.build(options);
  for (const file of ["app.js", "app.css"]) {
    const path = join(outdir, file);
    const size = statSync(path).size;
    console.log(`ui web: ${relative(root, path)} ${(size / 1024).toFixed(1)} KiB`);
  }
  if (result.errors.length > 0) process.exit(1);
}
