/**
 * A file or memory store where the embedded libSQL engine (the native module
 * @libsql/client/sqlite3 loads) cannot load: a platform package left out of the
 * install, or Deno without --allow-ffi. The import is made to fail here (vitest
 * wraps the thrown error, so its text is not checked); the consumer test meets
 * the same error for real on an install without the platform package.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../support/backends.js";

afterEach(() => {
  vi.doUnmock("@libsql/client/sqlite3");
  vi.resetModules();
});

describe("a store whose embedded engine cannot load", () => {
  it("is refused with DATABASE naming the runtime, the cause and the server alternative, and no database file is created", async () => {
    vi.resetModules();
    vi.doMock("@libsql/client/sqlite3", () => {
      throw new Error("Cannot find module '@libsql/linux-x64-gnu'\nRequire stack:\n- /somewhere");
    });
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
        expect(e.cause).toBeInstanceOf(Error); // the loader's error (here vitest's wrapper of it)
      }
      expect(existsSync(path)).toBe(false);
    } finally {
      remove();
    }
  });
});
