/**
 * The `cairn ui` server: a Hono app on Node's HTTP server that serves the web
 * app's page and assets and the JSON API (src/ui/CONTRACT.md), bound to the
 * loopback address by default, read-only unless started for writes. Loaded only
 * by `cairn ui` (the CLI imports it on that command): importing cairn-store
 * never loads Hono.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { CairnError, type Store } from "../../index.js";
import { registerApi, sendError } from "./api.js";
import { accessControl, allowedHosts, sameSecret, securityHeaders, urlHost, type Access } from "./security.js";

/** The port tried first when none is given; the next ones are tried while it is taken. */
export const DEFAULT_PORT = 4317;
/** Ports tried from {@link DEFAULT_PORT} on before giving up. */
const PORT_TRIES = 20;
export const DEFAULT_HOST = "127.0.0.1";

/** Options for {@link startUiServer}. */
export interface UiServerOptions {
  /** The store to show; the server never closes it. */
  readonly store: Store;
  /** The address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /**
   * The port: 0 for any free one; undefined for 4317 or, while taken, the next
   * free one (up to 4336). A given port that is taken fails.
   */
  readonly port?: number;
  /** Allow writes (fork, pin) with a random token. Default false: read-only. */
  readonly write?: boolean;
  /** Where the built web app's assets (app.js, app.css) are. Default: `../web/` beside this file. */
  readonly webDir?: URL;
}

/** A running ui server. */
export interface UiServer {
  /** The address to open: `http://<host>:<port>/`, with `?token=...` in write mode. */
  readonly url: string;
  /** The origin, `http://<host>:<port>`. */
  readonly origin: string;
  readonly port: number;
  /** The write token (32 random bytes, hex); undefined when read-only. */
  readonly token: string | undefined;
  /** Stops listening and ends open connections (the store stays open). */
  close(): Promise<void>;
}

/** The package's version, from its package.json (three folders up from src/ui/server/ and dist/ui/server/ alike). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Escapes text for an HTML attribute value in double quotes. */
export function escapeAttribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/'/g, "&#39;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * The app's page: the token's meta (empty unless this browser showed the token),
 * the two assets, the root element. Never holds stored data: the app fetches
 * everything from the API as JSON.
 */
export function indexHtml(token: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="cairn-token" content="${escapeAttribute(token)}">
<title>cairn</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`;
}

const ASSET_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  woff2: "font/woff2",
};

/**
 * Builds the app: security first (headers on every response; Host, read-only,
 * token and Origin checks), then the API, the assets and the page.
 */
export function createApp(options: { store: Store; access: Access; webDir: URL }): Hono {
  const { store, access, webDir } = options;
  const app = new Hono();
  app.onError((error, c) => sendError(c, error));
  app.notFound((c) => sendError(c, new CairnError("NOT_FOUND", `nothing at ${c.req.method} ${c.req.path}`)));
  app.use("*", securityHeaders());
  app.use("*", accessControl(access));
  registerApi(app, { store, readOnly: access.token === undefined, version: packageVersion() });

  app.get("/assets/:name", async (c) => {
    const name = c.req.param("name");
    const extension = name.slice(name.lastIndexOf(".") + 1);
    const type = Object.hasOwn(ASSET_TYPES, extension) ? ASSET_TYPES[extension] : undefined;
    // One plain file name of a known type: no path, so nothing outside the assets folder.
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || type === undefined) return c.text("not found", 404);
    let bytes: Buffer;
    try {
      bytes = await readFile(new URL(name, webDir));
    } catch {
      return c.text(`not found: ${name} (is the web app built? npm run build)`, 404);
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
  });
  app.all("/assets/*", (c) => c.text("not found", 404));

  app.get("*", (c) => c.html(indexHtml(pageToken(c, access))));
  return app;
}

/**
 * The token a page gets in its meta: in write mode, when the request carries it
 * in `?token=` (the printed URL); else "". The app keeps it in the tab's
 * sessionStorage (per origin, so per port), so a reload of that tab keeps write
 * mode. No cookie: cookies are not scoped by port, so one would reach every
 * other local web server the browser visits. A write is authorised by the
 * X-Cairn-Token header alone.
 */
function pageToken(c: Context, access: Access): string {
  const token = access.token;
  if (token === undefined) return "";
  return sameSecret(c.req.query("token"), token) ? token : "";
}

/** Listens on `port` at `host`; rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL, ...). */
function listen(server: ReturnType<typeof createAdaptorServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/** The host to put in the printed URL: the bound one, or a loopback address for a wildcard bind. */
function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return urlHost(host);
}

/**
 * Starts the ui server on `options.store`.
 *
 * Guarantee: once this resolves the server listens and answers only requests
 * addressed to it (Host check); without `write` it changes nothing in the store
 * (every write is refused with 403 READ_ONLY; verify reads only).
 * @throws CairnError INVALID_ARGUMENT (a port outside 0 to 65535); the listen error
 *   (a system error with `code`, such as EADDRINUSE for a given port that is taken).
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? DEFAULT_HOST;
  if (options.port !== undefined && (!Number.isSafeInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new CairnError("INVALID_ARGUMENT", `port must be an integer from 0 to 65535, got ${String(options.port)}`, { argument: "port" });
  }
  const token = options.write ? randomBytes(32).toString("hex") : undefined;
  const access: Access = { hosts: new Set(), origins: new Set(), token };
  const webDir = options.webDir ?? new URL("../web/", import.meta.url);
  const app = createApp({ store: options.store, access, webDir });
  const candidates = options.port === undefined ? Array.from({ length: PORT_TRIES }, (_, i) => DEFAULT_PORT + i) : [options.port];
  let server: ReturnType<typeof createAdaptorServer> | undefined;
  let port = 0;
  for (const candidate of candidates) {
    const attempt = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false });
    try {
      port = await listen(attempt, candidate, host);
      server = attempt;
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || candidate === candidates.at(-1)) throw error;
    }
  }
  if (server === undefined) throw new CairnError("INVALID_ARGUMENT", "no port to listen on");
  access.hosts = allowedHosts(host, port);
  access.origins = new Set([...access.hosts].map((h) => `http://${h}`));
  const origin = `http://${displayHost(host)}:${port}`;
  const listening = server;
  return {
    url: `${origin}/${token === undefined ? "" : `?token=${token}`}`,
    origin,
    port,
    token,
    close: () =>
      new Promise<void>((resolve, reject) => {
        listening.close((error) => (error ? reject(error) : resolve()));
        if ("closeAllConnections" in listening) listening.closeAllConnections();
      }),
  };
}
