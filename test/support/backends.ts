/**
 * The one backend registry of the tests: an in-memory database, a file in a
 * real temp directory, the real sqld over http:// and ws://, and an embedded
 * replica (a local file syncing with that sqld).
 *
 * Every suite that runs "on every backend" takes its list from `backends()`;
 * a suite that can only run on some filters it by a named capability
 * (`backendsWith("localFile")`) and says why in its title (`backendTitle`).
 * Where sqld cannot run (not linux-x64), the server backends carry the reason
 * in `unavailable` and their describe blocks are skipped, saying so.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { openStore, type Store, type StoreOptions } from "../../src/index.js";
import { startSqld, type SqldServer } from "./sqld.js";

export type BackendName = "memory" | "file" | "sqld-http" | "sqld-ws" | "replica";

/**
 * What a backend can do beyond open a store:
 * - `reopen`: open the same database again through a second client (every backend but memory);
 * - `localFile`: the whole database is one plain SQLite file on this machine (file only:
 *   a replica's file is written through its primary), so a test may stat it or open it with its own client;
 * - `server`: the database lives in a libSQL server (sqld-http, sqld-ws, replica).
 */
export type Capability = "reopen" | "localFile" | "server";

export interface Backend {
  readonly name: BackendName;
  /** Why this backend cannot run on this machine (sqld is linux-x64 only); undefined where it runs. */
  readonly unavailable?: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** Whether every `open` gives a database of its own (see `BackendOptions.isolated`). */
  readonly isolated: boolean;
  /** Opens a store on this backend; `cleanup` closes it. */
  open(options?: StoreOptions): Promise<Store>;
  /** Opens the database of `store` (default: the last one opened) again, as a new client. Absent on memory. */
  reopen?(options?: StoreOptions, store?: Store): Promise<Store>;
  /** Closes every store opened here, removes temp files, stops private servers. */
  cleanup(): Promise<void>;
}

export interface BackendOptions {
  /**
   * Every `open` gets a database of its own on every backend: memory and file
   * stores always do; on the server backends a private sqld is started for
   * each opened store (about 0.1 s) and stopped by `cleanup` (which leaves the
   * backend usable: a test opening many stores may call it between them). For
   * tests that look at the whole database (verify, gc, stats, table dumps).
   * Without it, server stores share the run's one sqld database with every
   * other test, so tests must use unique ids and never assert global counts.
   */
  readonly isolated?: boolean;
  /** Prefix of temp directories. */
  readonly prefix?: string;
}

/** A new temp directory, removed by the returned function. */
export function tempDir(prefix = "cairn-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const CAPABILITIES: Record<BackendName, readonly Capability[]> = {
  memory: [],
  file: ["reopen", "localFile"],
  "sqld-http": ["reopen", "server"],
  "sqld-ws": ["reopen", "server"],
  replica: ["reopen", "server"],
};

/** Where a store connects: what `reopen` needs. */
interface Target {
  url: string;
  syncUrl?: string;
}

/** The five backends, in a fixed order. */
export function backends(options: BackendOptions = {}): Backend[] {
  const isolated = options.isolated ?? false;
  const prefix = options.prefix ?? "cairn-test-";
  const unavailable = inject("sqldUnavailable") || undefined;
  const shared = { http: inject("sqldHttpUrl"), ws: inject("sqldWsUrl") };

  const make = (name: BackendName): Backend => {
    const opened: Store[] = [];
    const targets = new WeakMap<Store, Target>();
    const dirs: Array<() => void> = [];
    const servers = new Set<SqldServer>();
    let last: Store | undefined;

    const connect = async (target: Target, storeOptions: StoreOptions | undefined): Promise<Store> => {
      const store = await openStore({ ...storeOptions, ...target });
      targets.set(store, target);
      opened.push(store);
      return store;
    };
    const newFile = (file: string): string => {
      const dir = tempDir(prefix);
      dirs.push(dir.remove);
      return `file:${join(dir.dir, file)}`;
    };
    const serverUrls = async (): Promise<{ http: string; ws: string; server?: SqldServer }> => {
      if (!isolated) return shared;
      const server = await startSqld();
      servers.add(server);
      return { http: server.httpUrl, ws: server.wsUrl, server };
    };

    const open = async (storeOptions?: StoreOptions): Promise<Store> => {
      let store: Store;
      switch (name) {
        case "memory":
          store = await connect({ url: ":memory:" }, storeOptions);
          break;
        case "file":
          store = await connect({ url: newFile("cairn.db") }, storeOptions);
          break;
        case "sqld-http":
        case "sqld-ws": {
          const urls = await serverUrls();
          store = await connect({ url: name === "sqld-http" ? urls.http : urls.ws }, storeOptions);
          break;
        }
        case "replica": {
          const urls = await serverUrls();
          store = await connect({ url: newFile("replica.db"), syncUrl: urls.http }, storeOptions);
          break;
        }
      }
      last = store;
      return store;
    };

    return {
      name,
      ...(CAPABILITIES[name].includes("server") && unavailable ? { unavailable } : {}),
      capabilities: new Set(CAPABILITIES[name]),
      isolated,
      open,
      ...(CAPABILITIES[name].includes("reopen")
        ? {
            reopen: async (storeOptions?: StoreOptions, store?: Store) => {
              const of = store ?? last;
              const target = of && targets.get(of);
              if (!target) throw new Error(`reopen on ${name}: no store opened here to reopen`);
              return connect(target, storeOptions);
            },
          }
        : {}),
      cleanup: async () => {
        for (const store of opened.splice(0).reverse()) await store.close().catch(() => {});
        await Promise.all([...servers].map((server) => server.stop()));
        servers.clear();
        for (const remove of dirs.splice(0)) remove();
        last = undefined;
      },
    };
  };
  return (["memory", "file", "sqld-http", "sqld-ws", "replica"] as const).map(make);
}

/** The backends that have `capability`. */
export function backendsWith(capability: Capability, options: BackendOptions = {}): Backend[] {
  return backends(options).filter((backend) => backend.capabilities.has(capability));
}

/** The describe title of a backend: its name, or why it is skipped here. */
export function backendTitle(backend: Backend): string {
  return backend.unavailable ? `${backend.name} (skipped: ${backend.unavailable})` : backend.name;
}
