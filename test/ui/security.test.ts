/**
 * The ui server's security model (src/ui/CONTRACT.md, "Security"), against the
 * real server on a real store file: the Host check (DNS rebinding), read-only
 * by default with nothing written, the token and Origin checks of --write,
 * stored markup only ever sent as JSON data, and the headers on every response.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Ref } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { CONTENT_SECURITY_POLICY } from "../../src/ui/server/security.js";
import { enc, rawRequest, serve, type Running } from "./support.js";

const SCRIPT = "<script>alert(1)</script>";
let dir: { dir: string; remove: () => void };
let url: string;
let headRef: Ref;

beforeAll(async () => {
  dir = tempDir("cairn-ui-security-");
  url = `file:${join(dir.dir, "store.db")}`;
  const store = await openStore({ url });
  await store.session("s").commit({ turn: 1, snapshots: { tool: { output: SCRIPT } } });
  headRef = (await store.session("s").commit({ turn: 2, snapshots: { tool: { output: SCRIPT, more: `"><img src=x onerror=alert(2)>` } } })).ref;
  await store.close();
});

afterAll(() => dir?.remove());

/** Sessions and pins in the store (read through a second handle). */
async function contents(running: Running): Promise<{ sessions: string[]; pins: string[] }> {
  return {
    sessions: (await running.store.sessions.list()).map((s) => s.id),
    pins: (await running.store.listPins()).map((p) => p.name),
  };
}

describe("read-only (default)", () => {
  let api: Running;
  beforeAll(async () => {
    api = await serve(url);
  });
  afterAll(() => api?.close());

  it("refuses a request whose Host is not the server's (DNS rebinding) with 403", async () => {
    const port = api.server.port;
    const evil = await rawRequest(port, { path: "/api/meta", headers: { Host: `evil.example:${port}` } });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.text).error.code).toBe("FORBIDDEN");
    expect(evil.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    const otherPort = await rawRequest(port, { path: "/", headers: { Host: `127.0.0.1:${port + 1}` } });
    expect(otherPort.status).toBe(403);
    expect(otherPort.text).not.toContain("<html");
    const localhost = await rawRequest(port, { path: "/api/meta", headers: { Host: `localhost:${port}` } });
    expect(localhost.status).toBe(200);
    const direct = await rawRequest(port, { path: "/api/meta", headers: { Host: `127.0.0.1:${port}` } });
    expect(direct.status).toBe(200);
  });

  it("refuses every write with 403 READ_ONLY, token or not, and writes nothing", async () => {
    const before = await contents(api);
    const attempts = [
      await api.send("POST", `/api/sessions/s/fork`, { at: 1, newId: "copy" }),
      await api.send("POST", `/api/sessions/s/fork`, { at: 1, newId: "copy" }, { "X-Cairn-Token": "0".repeat(64) }),
      await api.send("POST", "/api/pins", { name: "keep", ref: headRef }),
      await api.send("DELETE", "/api/sessions/s", {}),
      await api.send("PUT", "/api/pins", { name: "keep", ref: headRef }),
    ];
    for (const attempt of attempts) expect(attempt).toEqual({ status: 403, body: { error: { code: "READ_ONLY", message: expect.any(String) } } });
    expect(await contents(api)).toEqual(before);
    expect(before.sessions).toEqual(["s"]);
    expect(before.pins).toEqual([]);
  });

  it("allows POST /api/verify from its own pages only", async () => {
    const foreign = await api.send("POST", "/api/verify", {}, { Origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe("FORBIDDEN");
    expect((await api.send("POST", "/api/verify", {}, { Origin: api.server.origin })).status).toBe(200);
  });

  it("sends stored markup only as JSON data; the page never embeds stored data", async () => {
    const response = await fetch(`${api.server.origin}/api/checkpoints/${headRef}`);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await response.json()) as { state: { tool: { output: string; more: string } } };
    expect(body.state.tool.output).toBe(SCRIPT);
    expect(body.state.tool.more).toBe(`"><img src=x onerror=alert(2)>`);
    for (const path of ["/", `/s/${enc("s")}`, `/s/${enc(SCRIPT)}/1`, `/c/${headRef}`, `/sessions?prefix=${enc(SCRIPT)}`]) {
      const page = await fetch(api.server.origin + path);
      const html = await page.text();
      expect(page.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(html, path).not.toContain("alert(");
      expect(html, path).not.toContain("onerror");
      expect(html, path).toContain('<meta name="cairn-token" content="">');
    }
  });

  it("sends the CSP, nosniff and no-referrer headers on pages, API answers, errors and assets", async () => {
    for (const path of ["/", "/api/meta", "/api/sessions?limit=0", "/api/nope", "/assets/app.js", "/assets/../../package.json"]) {
      const response = await fetch(api.server.origin + path);
      expect(response.headers.get("content-security-policy"), path).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
    }
    const traversal = await fetch(`${api.server.origin}/assets/..%2F..%2F..%2Fpackage.json`);
    expect(traversal.status).toBe(404);
    expect(await traversal.text()).not.toContain("cairn-store");
  });
});

describe("--write", () => {
  let api: Running;
  let token: string;
  beforeAll(async () => {
    api = await serve(url, { write: true });
    token = api.server.token!;
  });
  afterAll(() => api?.close());

  it("prints a 32-byte token in the address", () => {
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(api.server.url).toBe(`${api.server.origin}/?token=${token}`);
  });

  it("refuses writes without the token, with a wrong token, or from another origin, and writes nothing", async () => {
    const before = await contents(api);
    const fork = { at: 1, newId: "copy" };
    const refused = [
      await api.send("POST", "/api/sessions/s/fork", fork),
      await api.send("POST", "/api/sessions/s/fork", fork, { "X-Cairn-Token": "f".repeat(64) }),
      await api.send("POST", "/api/sessions/s/fork", fork, { "X-Cairn-Token": token.slice(0, 63) }),
      await api.send("POST", "/api/sessions/s/fork", fork, { "X-Cairn-Token": token, Origin: "http://evil.example" }),
      await api.send("POST", "/api/sessions/s/fork", fork, { "X-Cairn-Token": token, Origin: `http://127.0.0.1:${api.server.port + 1}` }),
      await api.send("POST", "/api/pins", { name: "keep", ref: headRef }),
      await api.send("POST", "/api/verify", {}),
    ];
    for (const attempt of refused) expect(attempt).toEqual({ status: 403, body: { error: { code: "FORBIDDEN", message: expect.any(String) } } });
    expect(await contents(api)).toEqual(before);
  });

  it("forks and pins with the right token (and its own Origin), and refuses bad bodies with nothing written", async () => {
    const headers = { "X-Cairn-Token": token };
    const bad = [
      await api.send("POST", "/api/sessions/s/fork", { at: 0, newId: "copy" }, headers),
      await api.send("POST", "/api/sessions/s/fork", { at: 1 }, headers),
      await api.send("POST", "/api/sessions/s/fork", "not json", headers),
      await api.send("POST", "/api/sessions/s/fork", [1, 2], headers),
      await api.send("POST", "/api/pins", { name: "keep", ref: "abc" }, headers),
    ];
    expect(bad.map((r) => [r.status, r.body.error.code])).toEqual([
      [400, "INVALID_ARGUMENT"],
      [400, "INVALID_ARGUMENT"],
      [400, "INVALID_ARGUMENT"],
      [400, "INVALID_ARGUMENT"],
      [400, "INVALID_REF"],
    ]);
    expect(await contents(api)).toEqual({ sessions: ["s"], pins: [] });

    const forked = await api.send("POST", "/api/sessions/s/fork", { at: 1, newId: "copy" }, { ...headers, Origin: api.server.origin });
    expect(forked).toEqual({ status: 200, body: { session: "copy" } });
    expect(await api.store.session("copy").head()).toBe(1);
    expect((await api.store.sessions.list()).find((s) => s.id === "copy")?.forkedFrom).toEqual({ session: "s", at: 1 });
    const again = await api.send("POST", "/api/sessions/s/fork", { at: 1, newId: "copy" }, headers);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");
    const missing = await api.send("POST", "/api/sessions/s/fork", { at: 9, newId: "copy-9" }, headers);
    expect(missing.status).toBe(404);

    const pinned = await api.send("POST", "/api/pins", { name: "keep", ref: headRef }, headers);
    expect(pinned).toEqual({ status: 200, body: { name: "keep", ref: headRef, createdAt: expect.any(String) } });
    expect((await api.store.listPins()).map((p) => [p.name, p.ref])).toEqual([["keep", headRef]]);
  });

  it("gives the page the token only with the printed address, and sets no cookie (cookies are not scoped by port)", async () => {
    const meta = (html: string) => /<meta name="cairn-token" content="([^"]*)">/.exec(html)?.[1];
    expect(meta(await (await fetch(`${api.server.origin}/`)).text())).toBe("");
    expect(meta(await (await fetch(`${api.server.origin}/?token=${"0".repeat(64)}`)).text())).toBe("");
    const first = await fetch(api.server.url);
    expect(meta(await first.text())).toBe(token);
    expect(first.headers.get("set-cookie")).toBeNull();
    // A later page without the token in its address gets none.
    expect(meta(await (await fetch(`${api.server.origin}/s/${enc("s")}`)).text())).toBe("");
  });
});
