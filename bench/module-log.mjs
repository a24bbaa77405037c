// Records every module a process loads, for bench/import-cost.ts:
//
//   CAIRN_MODULE_LOG=/tmp/modules.txt node --import ./bench/module-log.mjs bench/cold-start-child.mjs import cairn-store
//
// Works on Node 20.6+ without --experimental-loader:
// - ES modules: a resolve hook registered with module.register() (it runs on the
//   loader thread) appends "esm <url>" for every import the loader resolves;
// - CommonJS: Module._resolveFilename is wrapped on the main thread, because
//   require() calls inside CommonJS packages do not pass through the hooks on Node 20;
//   it appends "cjs <path>";
// - native addons: process.dlopen is wrapped; it appends "native <path>".
//
// The hooks slow loading down, so the timed runs never use this file: it only lists modules.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { isMainThread } from "node:worker_threads";

let out = process.env.CAIRN_MODULE_LOG;

/** Loader thread: receives the log path. */
export function initialize(data) {
  out = data.out;
}

/** Loader thread: every resolved import. */
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (out) appendFileSync(out, `esm ${result.url}\n`);
  return result;
}

if (isMainThread && out && !globalThis.__cairnModuleLog) {
  globalThis.__cairnModuleLog = true;
  register(import.meta.url, { data: { out } });
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    const path = resolveFilename.call(this, request, ...rest);
    if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) appendFileSync(out, `cjs ${path}\n`);
    return path;
  };
  const dlopen = process.dlopen;
  process.dlopen = function (module, filename, ...rest) {
    appendFileSync(out, `native ${filename}\n`);
    return dlopen.call(this, module, filename, ...rest);
  };
}
