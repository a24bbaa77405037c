/**
 * The screenshots in docs/ui/ (referenced from docs/ui.md), taken the way the
 * browser tests take theirs: the browser tests' fixture store (without the
 * markup sessions), the compiled `cairn ui`, Chromium at 1280 px wide.
 *
 *   npx tsx test/browser/docs-screenshots.ts
 *
 * Builds dist/ first when it is stale. Viewport screenshots (not full pages),
 * light theme, one dark; each is a PNG of about 100 KB.
 */
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { setup as buildIfStale } from "./global-setup.js";
import { FORK_AT, LANGGRAPH, RUN, ROOT, enc, launchBrowser, painted, startUi, writeFixture } from "./support.js";

const OUT = join(ROOT, "docs/ui");
/** The store sits under .scratch/ (ignored) so that the top bar shows a short relative URL. */
const STORE_DIR = join(ROOT, ".scratch/ui-docs");

async function shot(page: Page, name: string, colorScheme: "light" | "dark" = "light"): Promise<void> {
  await page.emulateMedia({ colorScheme });
  await painted(page);
  const path = join(OUT, `${name}.png`);
  // No blank band under a short page.
  const height = await page.locator("#app").evaluate((app) => (app as unknown as { getBoundingClientRect(): { bottom: number } }).getBoundingClientRect().bottom);
  await page.screenshot({ path, clip: { x: 0, y: 0, width: 1280, height: Math.min(760, Math.ceil(height) + 16) } });
  console.log(`${name}.png ${(statSync(path).size / 1024).toFixed(0)} KiB`);
}

async function main(): Promise<void> {
  buildIfStale();
  rmSync(STORE_DIR, { recursive: true, force: true });
  mkdirSync(STORE_DIR, { recursive: true });
  mkdirSync(OUT, { recursive: true });
  const fixture = await writeFixture("file:.scratch/ui-docs/agents.db", { markup: false });
  const ui = await startUi(fixture.url);
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 760 } })).newPage();
    const by = (id: string) => page.locator(`[data-testid="${id}"]`).first();

    await page.goto(`${ui.origin}/`);
    await by("session-row").waitFor();
    await shot(page, "sessions");

    await page.goto(`${ui.origin}/s/${enc(RUN)}`);
    await by("timeline-row").waitFor();
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await shot(page, "timeline");
    await shot(page, "timeline-dark", "dark");

    await page.goto(`${ui.origin}/s/${enc(LANGGRAPH)}/${fixture.langgraphHead}`);
    await by("conversation").waitFor();
    // The meta trees folded: the conversation fits.
    const open = by("checkpoint-meta").locator("button[aria-expanded=true]");
    while ((await open.count()) > 0) await open.first().click();
    await shot(page, "conversation");

    await page.goto(`${ui.origin}/s/${enc(RUN)}/${FORK_AT + 1}/diff`);
    await by("line-diff").waitFor();
    await shot(page, "diff");

    await page.goto(`${ui.origin}/store`);
    await by("store-stats").waitFor();
    await shot(page, "store");
  } finally {
    await browser.close();
    await ui.stop();
    rmSync(STORE_DIR, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
