/**
 * A file or memory store where the embedded libSQL engine (the native module of
 * the `libsql` package) cannot load: a platform package left out of the
 * install, or Deno without --allow-ffi. Node's module loader is made to fail
 * the require of `libsql` here, as it fails when the platform package is
 * missing; the consumer test meets the same error for real on an install
 * without the platform package.
 */
import { existsSync } from "node:fs";
import Module from "node:module";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/backends.js";

type Load = (request: string, ...rest: unknown[]) => unknown;
const loader = Module as unknown as { _load: Load };
const realLoad = loader._load;

afterEach(() => {
  loader._load = realLoad;
});

describe("a store whose embedded engine cannot load", () => {
  it("is refused with DATABASE naming the runtime, the cause and the server alternative, and no database file is created", async () => {
    loader._load = function (this: unknown, request: string, ...rest: unknown[]) {
      if (request === "libsql") throw new Error("Cannot find module '@libsql/linux-x64-gnu'\nRequire stack:\n- /somewhere");
      return realLoad.call(this, request, ...rest);
    };
    const { openStore, CairnError } = await import("../../src/index.js");
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "cairn.db");
      for (const url of [`file:${path}`, ":memory:"]) {
        const error = await openStore({ url }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(CairnError);
        const e = error as InstanceType<typeof CairnError>;
        expect(e.code).toBe("DATABASE");
        expect(e.message).toContain(`Node ${process.version}`);
        expect(e.message).toContain("the embedded libSQL engine (the native module of the libsql package) did not load");
        expect(e.message).toMatch(/use a libSQL server instead \(url http:\/\/, ws:\/\/ or libsql:\/\//);
        expect(e.details).toMatchObject({ runtime: `Node ${process.version}`, platform: process.platform, arch: process.arch });
        expect(e.message).toContain("Cannot find module '@libsql/linux-x64-gnu'");
        expect(e.cause).toBeInstanceOf(Error);
      }
      expect(existsSync(path)).toBe(false);
    } finally {
      remove();
    }
  });
});
