/**
 * `cairn ui` time to first render in a real Chromium:
 * - the sessions page of a store with 10,000 sessions;
 * - the timeline of a 5,000-checkpoint session.
 *
 *   npx tsx bench/ui.ts [runs=5]
 *
 * Writes the store (through the public API, durability "normal" to write it
 * faster: the reads are the same), starts the compiled command
 * (`node dist/cli/bin.js ui --port 0`; builds dist/ first when it is stale, as
 * the browser tests do), and loads each page `runs` times in a fresh browser
 * context, after one load not counted (the server's first request loads its
 * modules and warms SQLite's page cache; that cold load is printed apart).
 *
 * "First render" is from navigation start (the page's time origin) to the first
 * animation frame after the first table row entered the DOM (a
 * MutationObserver installed before the page's scripts), i.e. the frame that
 * paints it. Beside it, from the page's Resource Timing, the steps that bound
 * it: the HTML, app.js, and the API request the page waits on (start and end).
 * Prints a table and writes bench/results/ui.json (not committed).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { openStore } from "../src/index.js";
import { setup as buildIfStale } from "../test/browser/global-setup.js";
import { launchBrowser, startUi, CHROMIUM } from "../test/browser/support.js";
import { freshDir, machine, median, now, removeDir, ROOT } from "./util.js";

const SESSIONS = 10_000;
const CHECKPOINTS = 5_000;
const LONG = "long/agent-run";
const runs = Number(process.argv[2] ?? 5);

/** What one load measured, ms from navigation start. */
interface Load {
  /** The first animation frame after the first row was in the DOM. */
  firstRow: number;
  /** The first row entered the DOM. */
  rowInDom: number;
  htmlEnd: number;
  appJsStart: number;
  appJsEnd: number;
  /** The API request the page waits on. */
  apiStart: number;
  apiEnd: number;
  /** DOMContentLoaded (app.js ran: the first render scheduled). */
  domContentLoaded: number;
}

async function writeStore(url: string): Promise<void> {
  const store = await openStore({ url, durability: "normal" });
  try {
    let t0 = now();
    for (let i = 0; i < SESSIONS; i++) {
      await store.session(`agents/user-${String(i % 100).padStart(3, "0")}/run-${String(i).padStart(5, "0")}`).commit({ turn: 1, snapshots: { task: { id: i, prompt: `task ${i}` } } });
    }
    console.log(`wrote ${SESSIONS.toLocaleString("en-US")} sessions in ${((now() - t0) / 1000).toFixed(1)} s`);
    t0 = now();
    const long = store.session(LONG);
    const tool = { name: "read_file", output: "x".repeat(20_000) + " the same tool output at every turn" };
    const messages: Array<{ role: string; content: string }> = [];
    for (let turn = 1; turn <= CHECKPOINTS; turn++) {
      messages.push({ role: turn % 2 ? "user" : "assistant", content: `message ${turn}` });
      // The last 50 messages: a state that changes every turn and stays small.
      await long.commit({ turn, snapshots: { messages: messages.slice(-50), tool, step: { turn } } }, { label: `turn ${turn}` });
    }
    console.log(`wrote ${CHECKPOINTS.toLocaleString("en-US")} checkpoints of ${LONG} in ${((now() - t0) / 1000).toFixed(1)} s`);
    const stats = await store.stats();
    if (stats.sessions !== SESSIONS + 1 || (await long.latest())?.seq !== CHECKPOINTS) throw new Error(`the store holds ${stats.sessions} sessions, not ${SESSIONS + 1}`);
  } finally {
    await store.close();
  }
}

/** Loads `url` in a fresh context and measures until the first `[data-testid=<rowTestId>]` is painted. */
async function load(browser: Browser, url: string, rowTestId: string, apiPath: string): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.addInitScript((testId: string) => {
      const g = globalThis as unknown as {
        __firstRow?: { inDom: number; painted: number };
        document: { querySelector(s: string): unknown; documentElement: unknown };
        requestAnimationFrame(cb: () => void): number;
        MutationObserver: new (cb: () => void) => { observe(target: unknown, options: object): void; disconnect(): void };
        performance: { now(): number };
      };
      const selector = `[data-testid="${testId}"]`;
      const observer = new g.MutationObserver(() => {
        if (g.__firstRow !== undefined || g.document.querySelector(selector) === null) return;
        const inDom = g.performance.now();
        g.__firstRow = { inDom, painted: Number.NaN };
        observer.disconnect();
        g.requestAnimationFrame(() => {
          g.__firstRow!.painted = g.performance.now();
        });
      });
      observer.observe(g.document, { childList: true, subtree: true });
    }, rowTestId);
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForFunction(() => Number.isFinite((globalThis as { __firstRow?: { painted: number } }).__firstRow?.painted), undefined, { timeout: 60_000 });
    return await page.evaluate((api: string) => {
      const g = globalThis as unknown as {
        __firstRow: { inDom: number; painted: number };
        performance: {
          getEntriesByType(t: "navigation"): Array<{ responseEnd: number; domContentLoadedEventEnd: number }>;
          getEntriesByType(t: "resource"): Array<{ name: string; startTime: number; responseEnd: number }>;
        };
      };
      const nav = g.performance.getEntriesByType("navigation")[0]!;
      const resources = g.performance.getEntriesByType("resource");
      const appJs = resources.find((r) => r.name.endsWith("/assets/app.js"));
      const apiEntry = resources.find((r) => new URL(r.name).pathname.startsWith(api));
      return {
        firstRow: g.__firstRow.painted,
        rowInDom: g.__firstRow.inDom,
        htmlEnd: nav.responseEnd,
        appJsStart: appJs?.startTime ?? Number.NaN,
        appJsEnd: appJs?.responseEnd ?? Number.NaN,
        apiStart: apiEntry?.startTime ?? Number.NaN,
        apiEnd: apiEntry?.responseEnd ?? Number.NaN,
        domContentLoaded: nav.domContentLoadedEventEnd,
      };
    }, apiPath);
  } finally {
    await context.close();
  }
}

/** The median of each field. */
function medians(loads: readonly Load[]): Load {
  const keys = Object.keys(loads[0]!) as Array<keyof Load>;
  return Object.fromEntries(keys.map((k) => [k, median(loads.map((l) => l[k]))])) as unknown as Load;
}

/** Times `count` GETs of `path` from Node (after one not counted): the server's share alone. */
async function apiTimes(origin: string, path: string, count: number): Promise<number> {
  await (await fetch(origin + path)).arrayBuffer();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = now();
    const response = await fetch(origin + path);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    times.push(now() - t0);
  }
  return median(times);
}

const f = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;

async function main(): Promise<void> {
  buildIfStale();
  const dir = freshDir("ui");
  const url = `file:${join(dir, "store.db")}`;
  try {
    await writeStore(url);
    const ui = await startUi(url);
    const browser = await launchBrowser();
    try {
      const pages = [
        { name: `sessions page, ${SESSIONS.toLocaleString("en-US")} sessions`, path: "/", row: "session-row", api: "/api/sessions" },
        { name: `timeline, ${CHECKPOINTS.toLocaleString("en-US")} checkpoints`, path: `/s/${encodeURIComponent(LONG)}`, row: "timeline-row", api: `/api/sessions/${encodeURIComponent(LONG)}/timeline` },
      ];
      const results = [];
      for (const p of pages) {
        const cold = await load(browser, ui.origin + p.path, p.row, p.api);
        const loads: Load[] = [];
        for (let i = 0; i < runs; i++) loads.push(await load(browser, ui.origin + p.path, p.row, p.api));
        const m = medians(loads);
        const apiPath = p.api === "/api/sessions" ? "/api/sessions?limit=100" : `${p.api}?limit=100`;
        const apiFromNode = await apiTimes(ui.origin, apiPath, runs);
        results.push({ page: p.name, path: p.path, coldFirstRow: cold.firstRow, median: m, samples: loads.map((l) => l.firstRow), apiFromNodeMs: apiFromNode });
        console.log(`\n${p.name} (${p.path}): first row painted, median of ${runs}: ${f(m.firstRow)}  (cold first load ${f(cold.firstRow)}; samples ${loads.map((l) => l.firstRow.toFixed(0)).join(", ")})`);
        console.log(`  html received        ${f(m.htmlEnd)}`);
        console.log(`  app.js requested     ${f(m.appJsStart)}`);
        console.log(`  app.js received      ${f(m.appJsEnd)}`);
        console.log(`  DOMContentLoaded     ${f(m.domContentLoaded)}`);
        console.log(`  API request sent     ${f(m.apiStart)}`);
        console.log(`  API answer received  ${f(m.apiEnd)}   (${f(m.apiEnd - m.apiStart)} in flight; the same GET from Node: ${f(apiFromNode)})`);
        console.log(`  first row in the DOM ${f(m.rowInDom)}`);
        console.log(`  first row painted    ${f(m.firstRow)}`);
      }
      const out = join(ROOT, "bench/results");
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, "ui.json"), JSON.stringify({ date: new Date().toISOString(), machine: machine(), chromium: browser.version(), chromiumPath: CHROMIUM, runs, results }, null, 2) + "\n");
      console.log(`\nChromium ${browser.version()}; wrote bench/results/ui.json`);
    } finally {
      await browser.close();
      await ui.stop();
    }
  } finally {
    removeDir(dir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
