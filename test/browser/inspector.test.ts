/**
 * `cairn ui` in a real Chromium, read-only: the compiled command started as a
 * child process on a store file written through the public API (a plain session
 * with a fork, a LangGraph thread run under CairnSaver, OpenAI Agents sessions,
 * stored markup). Each test asserts what a user sees, and screenshots each page
 * it visits in light and dark into .scratch/ui-screenshots/.
 */
import { join } from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/backends.js";
import {
  AGENTS,
  AGENTS_XSS,
  FORK,
  FORK_AT,
  LANGGRAPH,
  LANGGRAPH_WRITES,
  RUN,
  RUN_TURNS,
  Shots,
  XSS,
  XSS_SESSION,
  enc,
  launchBrowser,
  report,
  startUi,
  writeFixture,
  type Fixture,
  type Ui,
} from "./support.js";

let dir: { dir: string; remove: () => void };
let fixture: Fixture;
let ui: Ui;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every dialog (alert, confirm, prompt) any page opened. */
const dialogs: string[] = [];

beforeAll(async () => {
  dir = tempDir("cairn-ui-browser-");
  fixture = await writeFixture(`file:${join(dir.dir, "store.db")}`);
  [ui, browser] = await Promise.all([startUi(fixture.url), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  const status = await ui?.stop();
  dir?.remove();
  // The command ends cleanly on SIGTERM.
  expect(status).toBe(0);
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

afterEach(async () => {
  await context?.close();
});

const by = (id: string, attrs: Record<string, string | number> = {}) =>
  `[data-testid="${id}"]${Object.entries(attrs)
    .map(([k, v]) => `[data-${k}=${JSON.stringify(String(v))}]`)
    .join("")}`;

/** The `data-<name>` attribute of every element the locator matches, in order. */
function attrs(locator: Locator, name: string): Promise<Array<string | null>> {
  return locator.evaluateAll((els, n) => els.map((e) => e.getAttribute(`data-${n}`)), name);
}

/** How many pixels of the chart's canvas are not transparent: 0 for a chart that drew nothing. */
function paintedPixels(page: Page): Promise<number> {
  type Canvas = { width: number; height: number; getContext(type: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
  return page.locator(`${by("timeline-chart")} canvas`).first().evaluate((element) => {
    const canvas = element as unknown as Canvas;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
}

/** The bytes in a cell's title ("61,234 bytes"). */
async function titleBytes(cell: Locator): Promise<number> {
  const title = (await cell.getAttribute("title")) ?? "";
  return Number(title.replace(/[^0-9]/g, ""));
}

describe("cairn ui in Chromium", () => {
  it("sessions: lists every session with its kind; the prefix filter narrows them and goes into the URL", async () => {
    const shots = new Shots("sessions");
    await page.goto(`${ui.origin}/`);
    await page.locator(by("session-row")).first().waitFor();
    expect(await attrs(page.locator(by("session-row")), "session")).toEqual(fixture.sessions);
    expect(await page.locator(`${by("session-row", { session: LANGGRAPH })} ${by("kind-badge")}`).textContent()).toBe("langgraph");
    expect(await page.locator(`${by("session-row", { session: LANGGRAPH_WRITES })} ${by("kind-badge")}`).textContent()).toBe("langgraph");
    expect(await page.locator(`${by("session-row", { session: AGENTS })} ${by("kind-badge")}`).textContent()).toBe("openai-agents");
    expect(await page.locator(`${by("session-row", { session: RUN })} ${by("kind-badge")}`).textContent()).toBe("cairn");
    expect(await page.locator(by("mode-badge")).textContent()).toBe("read-only");
    expect(await page.locator(by("store-url")).textContent()).toBe(fixture.url);
    await shots.take(page, "sessions");

    await page.locator(by("sessions-filter")).fill("agent/");
    await page.waitForURL((u) => u.search === "?prefix=agent%2F");
    await expect.poll(() => attrs(page.locator(by("session-row")), "session")).toEqual([RUN, FORK]);
    await shots.take(page, "sessions-filtered");

    await page.locator(by("sessions-filter")).fill("nothing-here/");
    await page.locator(by("sessions-empty")).waitFor();
    expect(new URL(page.url()).searchParams.get("prefix")).toBe("nothing-here/");
    expect(await page.locator(by("session-row")).count()).toBe(0);
  });

  it("timeline: the rows newest first with their sizes, the chart drawn, the fork; j/k select, Enter opens", async () => {
    const shots = new Shots("timeline");
    await page.goto(`${ui.origin}/`);
    await page.locator(`${by("session-row", { session: RUN })} ${by("session-link")}`).click();
    await page.waitForURL(`${ui.origin}/s/${enc(RUN)}`);
    await page.locator(by("timeline-row")).first().waitFor();
    expect(await attrs(page.locator(by("timeline-row")), "seq")).toEqual(Array.from({ length: RUN_TURNS }, (_, i) => String(RUN_TURNS - i)));
    expect(await page.locator(by("timeline-session")).textContent()).toBe(RUN);
    // The 60 KB tool output is added by the first checkpoint only: later ones add a few KB at most.
    const added = (seq: number) => titleBytes(page.locator(`${by("timeline-row", { seq })} td`).nth(4));
    expect(await added(1)).toBeGreaterThan(40_000);
    expect(await added(2)).toBeLessThan(10_000);
    expect(await added(2)).toBeGreaterThan(0);
    // The chart: a canvas that has been drawn on.
    const canvas = page.locator(`${by("timeline-chart")} canvas`).first();
    await canvas.waitFor();
    expect((await canvas.boundingBox())!.width).toBeGreaterThan(200);
    await expect.poll(() => paintedPixels(page)).toBeGreaterThan(1000);
    expect(await page.locator(by("fork-link")).allTextContents()).toEqual([FORK]);
    await shots.take(page, "timeline");

    // Keyboard: j selects the newest row, j the next, k back; Enter opens the selected one.
    const selected = () => attrs(page.locator(`${by("timeline-row")}[aria-selected="true"]`), "seq");
    await page.keyboard.press("j");
    await expect.poll(selected).toEqual([String(RUN_TURNS)]);
    await page.keyboard.press("j");
    await expect.poll(selected).toEqual([String(RUN_TURNS - 1)]);
    await page.keyboard.press("j");
    await page.keyboard.press("k");
    await expect.poll(selected).toEqual([String(RUN_TURNS - 1)]);
    await shots.take(page, "timeline-selected", { fullPage: false });
    await page.keyboard.press("Enter");
    await page.waitForURL(`${ui.origin}/s/${enc(RUN)}/${RUN_TURNS - 1}`);
    expect(await page.locator(by("checkpoint-seq")).textContent()).toBe(`#${RUN_TURNS - 1}`);

    // The fork's own timeline says where it came from.
    await page.goto(`${ui.origin}/s/${enc(FORK)}`);
    await page.locator(by("forked-from")).waitFor();
    expect(await page.locator(by("forked-from")).textContent()).toBe(`Forked from ${RUN} at seq ${FORK_AT}`);
    expect(await page.locator(by("timeline-row")).count()).toBe(FORK_AT + 1);
    await shots.take(page, "timeline-fork");
  });

  it("checkpoint: j/k step through the checkpoints (the URL follows), a long string expands whole, d opens the diff", async () => {
    const shots = new Shots("checkpoint");
    await page.goto(`${ui.origin}/s/${enc(RUN)}/${RUN_TURNS}`);
    await page.locator(by("raw-state")).waitFor();
    // A plain session has no conversation: the raw state, slot by slot.
    expect(await page.locator(by("tab-conversation")).count()).toBe(0);
    expect(await attrs(page.locator(by("slot-row")), "slot")).toEqual(["messages", "notes", "tool"]);
    expect(await page.locator(by("checkpoint-label")).textContent()).toBe(`turn ${RUN_TURNS}`);

    // Each key once the page has its checkpoint (the label shows only then).
    const step = async (key: string, seq: number) => {
      await page.keyboard.press(key);
      await page.waitForURL(`${ui.origin}/s/${enc(RUN)}/${seq}`);
      await page.locator(by("checkpoint-label")).getByText(`turn ${seq}`, { exact: true }).waitFor();
    };
    await step("k", RUN_TURNS - 1);
    await step("k", RUN_TURNS - 2);
    await step("j", RUN_TURNS - 1);
    await step("ArrowUp", 4);
    expect(RUN_TURNS - 2).toBe(4);
    expect(await page.locator(by("checkpoint-seq")).textContent()).toBe("#4");

    // The report is over the preview limit: elided, then fetched whole.
    const reportNode = page.locator(`${by("slot-state", { slot: "notes" })} ${by("tree-node", { path: "/report" })}`);
    await reportNode.locator(by("elided")).waitFor();
    expect(await reportNode.locator(by("elided")).textContent()).toContain(`string(${report(4).length.toLocaleString("en-US")} chars)`);
    expect(await reportNode.locator(by("expanded-value")).count()).toBe(0);
    await shots.take(page, "checkpoint-raw");
    await reportNode.locator(by("expand-value")).click();
    await reportNode.locator(by("expanded-value")).waitFor();
    expect(await reportNode.locator(by("expanded-value")).textContent()).toBe(report(4));
    await reportNode.scrollIntoViewIfNeeded();
    await shots.take(page, "checkpoint-expanded", { fullPage: false });

    // d: this checkpoint against its parent.
    await page.keyboard.press("d");
    await page.waitForURL(`${ui.origin}/s/${enc(RUN)}/4/diff`);
    await page.locator(by("diff-summary")).waitFor();
    expect(await page.locator(by("diff-turn")).textContent()).toBe("turn 3 → 4");
    const messages = page.locator(by("diff-slot", { slot: "messages", status: "changed" }));
    expect(await attrs(messages.locator(by("diff-op")), "op")).toEqual(["add", "add"]);
    expect(await messages.locator(by("diff-op")).first().textContent()).toContain("Question 4: what changed?");
    const notes = page.locator(by("diff-slot", { slot: "notes", status: "changed" }));
    expect(await attrs(notes.locator(by("diff-op")), "op")).toEqual(expect.arrayContaining(["replace"]));
    const lines = notes.locator(by("line-diff", { path: "/report" }));
    expect(await lines.locator(by("diff-line", { kind: "del" })).allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("line 50 of the report"), expect.stringContaining("end of the report (turn 3)")]),
    );
    expect(await lines.locator(by("diff-line", { kind: "add" })).allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("line 50 CHANGED at turn 4"), expect.stringContaining("end of the report (turn 4)")]),
    );
    // The tool output did not change: folded away with the unchanged slots.
    expect(await page.locator(by("diff-slot", { slot: "tool" })).getAttribute("data-status")).toBe("unchanged");
    await shots.take(page, "diff");
  });

  it("conversation: a LangGraph checkpoint (deep link) shows its messages and tool call, and its raw tree", async () => {
    const shots = new Shots("langgraph");
    // Loaded directly, not reached through the app: the server serves the app on any page path.
    await page.goto(`${ui.origin}/s/${enc(LANGGRAPH)}/${fixture.langgraphHead}`);
    await page.locator(by("conversation")).waitFor();
    expect(await page.locator(by("checkpoint-seq")).textContent()).toBe(`#${fixture.langgraphHead}`);
    expect(await attrs(page.locator(by("message")), "role")).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(await page.locator(by("message", { index: 0 })).textContent()).toContain("What is the answer?");
    expect(await page.locator(by("tool-name")).allTextContents()).toEqual(["lookup_answer"]);
    expect(JSON.parse((await page.locator(by("tool-args")).textContent())!)).toEqual({ q: "the answer" });
    expect(await page.locator(by("tool-output")).textContent()).toContain("42");
    expect(await page.locator(by("message", { index: 3 })).textContent()).toContain("The answer is 42.");
    await shots.take(page, "conversation");

    await page.locator(by("tab-state")).click();
    await page.waitForURL((u) => u.search === "?tab=state");
    await page.locator(by("raw-state")).waitFor();
    expect(await page.locator(by("conversation")).count()).toBe(0);
    expect(await page.locator(by("slot-row")).count()).toBeGreaterThan(0);
    expect(await page.locator(`${by("raw-state")} ${by("tree")}`).count()).toBeGreaterThan(0);
    await shots.take(page, "raw-state");
  });

  it("conversation: an OpenAI Agents session shows its items as messages with the function call, and its raw items", async () => {
    const shots = new Shots("openai-agents");
    await page.goto(`${ui.origin}/`);
    await page.locator(`${by("session-row", { session: AGENTS })} ${by("session-link")}`).click();
    await page.locator(by("checkpoint-link")).first().click();
    await page.waitForURL(`${ui.origin}/s/${enc(AGENTS)}/1`);
    await page.locator(by("conversation")).waitFor();
    expect(await attrs(page.locator(by("message")), "role")).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(await page.locator(by("tool-name")).allTextContents()).toEqual(["get_weather"]);
    expect(JSON.parse((await page.locator(by("tool-args")).textContent())!)).toEqual({ city: "Paris" });
    expect(await page.locator(by("message", { role: "tool" })).textContent()).toContain("sunny, 21 °C");
    expect(await page.locator(by("message", { index: 3 })).textContent()).toContain("It is sunny in Paris.");
    await shots.take(page, "conversation");

    await page.locator(by("tab-state")).click();
    await page.locator(by("slot-state", { slot: "items" })).waitFor();
    expect(await page.locator(by("slot-state", { slot: "items" })).textContent()).toContain("get_weather");
    await shots.take(page, "raw-state");
  });

  it("store: shows the stats, bytes by kind and the largest blobs; verify runs to ok", async () => {
    const shots = new Shots("store");
    await page.goto(`${ui.origin}/`);
    await page.locator(by("nav-store")).click();
    await page.waitForURL(`${ui.origin}/store`);
    await page.locator(by("store-stats")).waitFor();
    expect(await page.locator(`${by("stat-sessions")} .stat-value`).textContent()).toBe(String(fixture.stats.sessions));
    expect(await page.locator(`${by("stat-checkpoints")} .stat-value`).textContent()).toBe(String(fixture.stats.checkpoints));
    expect(fixture.stats.sessions).toBe(fixture.sessions.length);
    expect(await page.locator(by("kind-bar")).count()).toBeGreaterThan(0);
    // The largest blob is the 60 KB tool output, reached by the session and its fork.
    const largest = page.locator(by("largest-row")).first();
    expect(await largest.locator(by("blob-session-link")).allTextContents()).toEqual(expect.arrayContaining([RUN, FORK]));
    expect(await page.locator(by("verify-status")).getAttribute("data-state")).toBe("idle");
    await shots.take(page, "store");

    await page.locator(by("verify-button")).click();
    await page.locator(`${by("verify-status")}[data-state="ok"]`).waitFor({ timeout: 30_000 });
    expect(await page.locator(by("verify-status")).textContent()).toMatch(/^OK: no findings \([\d,]+ blobs/);
    expect(await page.locator(by("verify-findings")).count()).toBe(0);
    await shots.take(page, "store-verified");
  });

  it("stored markup shows as text, in the timeline, the tree and a conversation, and never runs", async () => {
    const shots = new Shots("escaping");
    await page.goto(`${ui.origin}/s/${enc(XSS_SESSION)}`);
    await page.locator(by("timeline-row")).first().waitFor();
    // The label cell shows the markup's text: run as HTML it would have become a script and an img element.
    expect(await page.locator(`${by("timeline-row", { seq: 1 })} td.label`).textContent()).toBe(XSS);
    await shots.take(page, "timeline");

    await page.locator(by("checkpoint-link")).click();
    await page.waitForURL(`${ui.origin}/s/${enc(XSS_SESSION)}/1`);
    const output = page.locator(`${by("slot-state", { slot: "tool" })} ${by("tree-node", { path: "/output" })}`);
    await output.waitFor();
    expect(await output.textContent()).toContain(XSS);
    await page.getByText(XSS, { exact: false }).first().waitFor({ state: "visible" });
    expect(await page.locator(by("checkpoint-label")).textContent()).toBe(XSS);
    await shots.take(page, "checkpoint");

    await page.goto(`${ui.origin}/s/${enc(AGENTS_XSS)}/1`);
    await page.locator(by("message", { role: "user" })).waitFor();
    expect(await page.locator(by("message", { role: "user" })).textContent()).toContain(XSS);
    await shots.take(page, "conversation");

    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('#app img[src="x"], #app script').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("read-only: no write controls, and a write the page sends itself is refused with 403 READ_ONLY", async () => {
    const shots = new Shots("read-only");
    await page.goto(`${ui.origin}/s/${enc(RUN)}/2`);
    await page.locator(by("checkpoint-meta")).waitFor();
    expect(await page.locator(by("mode-badge")).textContent()).toBe("read-only");
    expect(await page.locator(by("write-actions")).count()).toBe(0);
    expect(await page.locator(by("fork-button")).count()).toBe(0);
    expect(await page.locator(by("pin-button")).count()).toBe(0);
    await shots.take(page, "checkpoint");

    const answer = await page.evaluate(async (id) => {
      const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/fork`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Cairn-Token": "0".repeat(64) },
        body: JSON.stringify({ at: 2, newId: "sneaky-fork" }),
      });
      return { status: response.status, body: (await response.json()) as { error?: { code?: string } } };
    }, RUN);
    expect(answer.status).toBe(403);
    expect(answer.body.error?.code).toBe("READ_ONLY");

    await page.goto(`${ui.origin}/sessions?prefix=sneaky`);
    await page.locator(by("sessions-empty")).waitFor();
    await page.goto(`${ui.origin}/`);
    await page.locator(by("session-row")).first().waitFor();
    expect(await attrs(page.locator(by("session-row")), "session")).toEqual(fixture.sessions);
  });

  it("deep links: a timeline, a checkpoint and a diff load directly; an unknown checkpoint says not found", async () => {
    const shots = new Shots("deep-links");
    await page.goto(`${ui.origin}/s/${enc(RUN)}/2`);
    await page.locator(by("checkpoint-turn")).waitFor();
    expect(await page.locator(by("checkpoint-seq")).textContent()).toBe("#2");
    expect(await page.locator(by("checkpoint-turn")).textContent()).toBe("2");
    expect(await page.locator(by("checkpoint-label")).textContent()).toBe("turn 2");
    expect(await page.locator(by("parent-link")).getAttribute("href")).toBe(`/s/${enc(RUN)}/1`);
    expect(await page.locator(by("next-link")).getAttribute("href")).toBe(`/s/${enc(RUN)}/3`);

    await page.goto(`${ui.origin}/s/${enc(LANGGRAPH)}`);
    await page.locator(by("timeline-row")).first().waitFor();
    expect(await page.locator(by("timeline-row")).count()).toBe(fixture.langgraphHead);

    await page.goto(`${ui.origin}/s/${enc(RUN)}/2/diff`);
    await page.locator(by("diff-summary")).waitFor();
    expect(await page.locator(by("diff-turn")).textContent()).toBe("turn 1 → 2");

    await page.goto(`${ui.origin}/s/${enc(RUN)}/99`);
    await page.locator(by("error")).waitFor();
    expect(await page.locator(by("error")).textContent()).toContain("no checkpoint at seq 99");
    await shots.take(page, "not-found");
  });
});
