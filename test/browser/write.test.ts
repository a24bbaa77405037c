/**
 * `cairn ui --write` in a real Chromium: the page opened at the printed address
 * (with its token) forks a session and sets a pin through its own forms, the
 * token leaves the address bar, and a write without the token is still refused.
 * On its own store file (the read-only tests' store must not change).
 */
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { FORK_AT, RUN, Shots, enc, launchBrowser, startUi, writeFixture, type Fixture, type Ui } from "./support.js";

const NEW_FORK = "agent/run-1-from-the-browser";

let dir: { dir: string; remove: () => void };
let fixture: Fixture;
let ui: Ui;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let shots: Shots;

beforeAll(async () => {
  dir = tempDir("cairn-ui-browser-write-");
  fixture = await writeFixture(`file:${join(dir.dir, "store.db")}`);
  [ui, browser] = await Promise.all([startUi(fixture.url, { write: true }), launchBrowser()]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  shots = new Shots("write");
});

afterAll(async () => {
  await browser?.close();
  const status = await ui?.stop();
  dir?.remove();
  expect(status).toBe(0);
});

const by = (id: string) => `[data-testid="${id}"]`;

describe("cairn ui --write in Chromium", () => {
  it("opens at the printed address in write mode and takes the token out of the address bar", async () => {
    expect(ui.address).toMatch(/\?token=[0-9a-f]{64}$/);
    await page.goto(ui.address);
    await page.locator(by("mode-badge")).getByText("write mode", { exact: true }).waitFor();
    await page.locator(by("session-row")).first().waitFor();
    expect(page.url()).toBe(`${ui.origin}/`);
    await shots.take(page, "sessions");
  });

  it("forks a session from a checkpoint: the new session opens, forked from there, and is listed", async () => {
    // A full load of another page: the token comes back from the cookie the printed address set.
    await page.goto(`${ui.origin}/s/${enc(RUN)}/${FORK_AT}`);
    await page.locator(by("write-actions")).waitFor();
    await page.locator(by("fork-button")).click();
    expect(await page.locator(by("fork-input")).inputValue()).toBe(`${RUN}-fork-${FORK_AT}`);
    await page.locator(by("fork-input")).fill(NEW_FORK);
    await shots.take(page, "fork-form", { fullPage: false });
    await page.locator(by("fork-submit")).click();
    await page.waitForURL(`${ui.origin}/s/${enc(NEW_FORK)}`);
    await page.locator(by("forked-from")).waitFor();
    expect(await page.locator(by("forked-from")).textContent()).toBe(`Forked from ${RUN} at seq ${FORK_AT}`);
    expect(await page.locator(by("timeline-row")).count()).toBe(FORK_AT);
    await shots.take(page, "forked");

    await page.locator(by("nav-sessions")).click();
    await page.locator(`[data-testid="session-row"][data-session="${NEW_FORK}"]`).waitFor();
    expect(await page.locator(by("session-row")).count()).toBe(fixture.sessions.length + 1);
  });

  it("pins a checkpoint, and the store page counts the pin", async () => {
    await page.goto(`${ui.origin}/s/${enc(RUN)}/2`);
    await page.locator(by("pin-button")).click();
    await page.locator(by("pin-input")).fill("before-the-change");
    await page.locator(by("pin-submit")).click();
    await page.locator(by("action-result")).waitFor();
    expect(await page.locator(by("action-result")).textContent()).toBe(`Pinned as "before-the-change".`);
    await shots.take(page, "pinned", { fullPage: false });
    await page.locator(by("nav-store")).click();
    await page.locator(by("stat-pins")).waitFor();
    expect(await page.locator(`${by("stat-pins")} .stat-value`).textContent()).toBe("1");
  });

  it("still refuses a write that does not carry the token", async () => {
    const answer = await page.evaluate(async (id) => {
      const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/fork`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ at: 1, newId: "no-token-fork" }),
      });
      return response.status;
    }, RUN);
    expect(answer).toBe(403);
  });

  it("wrote to the store itself: the fork and the pin are there once the server stops", async () => {
    expect(await ui.stop()).toBe(0);
    const store = await openStore({ url: fixture.url, create: false });
    try {
      const forked = (await store.sessions.list()).find((s) => s.id === NEW_FORK);
      expect(forked).toMatchObject({ head: FORK_AT, forkedFrom: { session: RUN, at: FORK_AT } });
      expect((await store.listPins()).map((p) => p.name)).toEqual(["before-the-change"]);
      expect(await store.session("no-token-fork").latest()).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
