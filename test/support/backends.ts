/**
 * The backends every store test runs on: an in-memory database, a file in a
 * real temp directory, the real sqld over http:// and ws://, and an embedded
 * replica (a local file syncing with that sqld).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { openStore, type Store, type StoreOptions } from "../../src/index.js";

export interface Backend {
  readonly name: "memory" | "file" | "sqld-http" | "sqld-ws" | "replica";
  /** Why this backend cannot run on this machine (sqld is linux-x64 only); undefined where it runs. */
  readonly unavailable?: string;
  /** Opens a store on this backend. Memory and file stores are fresh; server stores share the server's database. */
  open(options?: StoreOptions): Promise<Store>;
  /** Opens the same database again (not for memory, which lives only in its client). */
  reopen?(options?: StoreOptions): Promise<Store>;
  cleanup(): void;
}

/** A new temp directory, removed by the returned function. */
export function tempDir(prefix = "cairn-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function backends(): Backend[] {
  const http = inject("sqldHttpUrl");
  const ws = inject("sqldWsUrl");
  const made: Array<() => void> = [];
  const file = (): Backend => {
    let current: { dir: string; remove: () => void } | undefined;
    return {
      name: "file",
      open: async (options) => {
        current = tempDir();
        made.push(current.remove);
        return openStore({ ...options, url: `file:${join(current.dir, "cairn.db")}` });
      },
      reopen: async (options) => openStore({ ...options, url: `file:${join(current!.dir, "cairn.db")}` }),
      cleanup: () => made.splice(0).forEach((f) => f()),
    };
  };
  const replica = (): Backend => {
    let current: { dir: string; remove: () => void } | undefined;
    return {
      name: "replica",
      open: async (options) => {
        current = tempDir();
        made.push(current.remove);
        return openStore({ ...options, url: `file:${join(current.dir, "replica.db")}`, syncUrl: http });
      },
      reopen: async (options) => openStore({ ...options, url: `file:${join(current!.dir, "replica.db")}`, syncUrl: http }),
      cleanup: () => made.splice(0).forEach((f) => f()),
    };
  };
  const unavailable = inject("sqldUnavailable") || undefined;
  const server = (backend: Backend): Backend => (unavailable ? { ...backend, unavailable } : backend);
  return [
    { name: "memory", open: (options) => openStore({ ...options, url: ":memory:" }), cleanup: () => {} },
    file(),
    server({ name: "sqld-http", open: (options) => openStore({ ...options, url: http }), reopen: (options) => openStore({ ...options, url: http }), cleanup: () => {} }),
    server({ name: "sqld-ws", open: (options) => openStore({ ...options, url: ws }), reopen: (options) => openStore({ ...options, url: ws }), cleanup: () => {} }),
    server(replica()),
  ];
}

/** The describe title of a backend: its name, or why it is skipped here. */
export function backendTitle(backend: Backend): string {
  return backend.unavailable ? `${backend.name} (skipped: ${backend.unavailable})` : backend.name;
}
