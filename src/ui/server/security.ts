/**
 * What keeps the ui server a local tool (src/ui/CONTRACT.md, "Security"):
 * - every request's Host must name the server (`<bound host>:<port>`, and the
 *   loopback names of a loopback bind), so a page on another site cannot
 *   reach it through DNS rebinding: 403 FORBIDDEN;
 * - read-only by default: every request but GET, HEAD and `POST /api/verify`
 *   is 403 READ_ONLY;
 * - with --write, every request but GET and HEAD must carry the server's
 *   random token in `X-Cairn-Token`, and an `Origin`, when present, must be
 *   the server's own: else 403 FORBIDDEN (a cross-site request cannot set the
 *   header; no cookie carries the token);
 * - every response carries a strict Content-Security-Policy (scripts, styles,
 *   connections only from the server itself, no framing), nosniff and
 *   no-referrer (so the token in the address never leaves in a Referer).
 */
import { timingSafeEqual } from "node:crypto";
import { networkInterfaces } from "node:os";
import type { Context, MiddlewareHandler } from "hono";

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** Headers every response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** The header a write carries its token in. */
export const TOKEN_HEADER = "X-Cairn-Token";

/** The only request other than GET and HEAD a read-only server serves (verify reads only). */
const READ_ONLY_POST = "/api/verify";

/** Who may talk to the server: filled in once it listens (the port may be chosen by the system). */
export interface Access {
  /** `host:port` values the Host header may have, lowercase (IPv6 in brackets). */
  hosts: ReadonlySet<string>;
  /** Origins a request may come from (`http://` and one of `hosts`). */
  origins: ReadonlySet<string>;
  /** The write token; undefined: read-only. */
  readonly token: string | undefined;
}

/** A host as it appears in a URL or a Host header: IPv6 in brackets, lowercase. */
export function urlHost(host: string): string {
  const h = host.toLowerCase();
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
const WILDCARD = new Set(["0.0.0.0", "::", ""]);

/**
 * The Host values a server bound to `host`:`port` answers: the bound host; for
 * a loopback bind, the loopback names (`localhost`, `127.0.0.1`, `[::1]`); for a
 * wildcard bind (0.0.0.0, ::), those and every address of this machine's
 * interfaces (an address, never a name: a name is what DNS rebinding forges).
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set<string>([urlHost(host)]);
  const bound = host.toLowerCase();
  if (LOOPBACK.has(bound) || WILDCARD.has(bound)) for (const name of LOOPBACK) names.add(urlHost(name));
  if (WILDCARD.has(bound)) {
    for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) names.add(urlHost(info.address.replace(/%.*$/, "")));
  }
  names.delete("");
  const out = new Set<string>();
  for (const name of names) {
    out.add(`${name}:${port}`);
    if (port === 80) out.add(name);
  }
  return out;
}

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(c: Context, code: string, message: string): Response {
  return c.json({ error: { code, message } }, 403);
}

/** Sets the security headers on every response, errors included. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
}

/** The Host check, then read-only or the token and Origin checks, per {@link Access}. */
export function accessControl(access: Access): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header("host")?.toLowerCase();
    if (host === undefined || !access.hosts.has(host)) {
      return refuse(c, "FORBIDDEN", `this server answers only requests addressed to ${[...access.hosts][0] ?? "its own address"} (Host was ${JSON.stringify(host ?? "")})`);
    }
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const origin = c.req.header("origin");
    const foreign = origin !== undefined && !access.origins.has(origin.toLowerCase());
    if (access.token === undefined) {
      if (method === "POST" && c.req.path === READ_ONLY_POST) {
        return foreign ? refuse(c, "FORBIDDEN", `requests from ${JSON.stringify(origin)} are refused: only the server's own pages may start a verify`) : next();
      }
      return refuse(c, "READ_ONLY", "the server is read-only: start it with cairn ui --write to fork sessions and set pins");
    }
    if (!sameSecret(c.req.header(TOKEN_HEADER), access.token)) {
      return refuse(c, "FORBIDDEN", `a write needs the server's token in the ${TOKEN_HEADER} header (the token printed at startup)`);
    }
    if (foreign) return refuse(c, "FORBIDDEN", `requests from ${JSON.stringify(origin)} are refused: only the server's own pages may write`);
    return next();
  };
}
