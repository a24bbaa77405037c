/**
 * The ui tests' harness: a real store file in a temp dir, the real ui server
 * started in-process on port 0, and real HTTP requests (fetch; node:http where
 * a test must send a Host header fetch will not let it set).
 */
import { request } from "node:http";
import { openStore, type Store } from "../../src/index.js";
import { startUiServer, type UiServer } from "../../src/ui/server/server.js";

export interface Running {
  readonly store: Store;
  readonly server: UiServer;
  /** GET `path` (with its query), parsed as JSON, with the status. */
  get<T = any>(path: string): Promise<{ status: number; body: T; headers: Headers }>;
  /** A request with a JSON body. */
  send<T = any>(method: string, path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/** Opens the store at `url` (it must exist) and starts a server on it, on any free port. */
export async function serve(url: string, options: { write?: boolean } = {}): Promise<Running> {
  const store = await openStore({ url, create: false });
  const server = await startUiServer({ store, port: 0, write: options.write ?? false });
  const base = server.origin;
  return {
    store,
    server,
    async get(path) {
      const response = await fetch(base + path);
      return { status: response.status, body: (await response.json()) as never, headers: response.headers };
    },
    async send(method, path, body, headers = {}) {
      const response = await fetch(base + path, {
        method,
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as never };
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** A raw HTTP request with exactly these headers (Host included): status, headers and body text. */
export function rawRequest(
  port: number,
  options: { method?: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path, headers: options.headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A session id as the app puts it in a path. */
export const enc = encodeURIComponent;
