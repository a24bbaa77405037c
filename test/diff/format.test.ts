/** formatDiff: readable, elided, colourless by default, and exact for a known diff. */
import { afterAll, describe, expect, it } from "vitest";
import { formatDiff, render } from "../../src/checkpoint/format-diff.js";
import { compareValues } from "../../src/checkpoint/diff.js";
import { backendTitle, diffBackends, storeDiff, storeDiffValues } from "./support.js";

const ESC = "\u001b[";

describe("render", () => {
  it("renders every cairn value on one line", () => {
    expect(render({ a: [1, "x", null, true] })).toBe('{"a":[1,"x",null,true]}');
    expect(render(-0)).toBe("-0");
    expect(render(NaN)).toBe("NaN");
    expect(render(12n)).toBe("12n");
    expect(render(undefined)).toBe("undefined");
    expect(render({ u: undefined })).toBe('{"u":undefined}');
    expect(render(new Date(0))).toBe("Date(1970-01-01T00:00:00.000Z)");
    expect(render(new Date(NaN))).toBe("Date(Invalid)");
    expect(render(new Uint8Array([1, 2, 255]))).toBe("Uint8Array(3 bytes 0102ff)");
    expect(render(new Uint8Array(1024))).toBe("Uint8Array(1,024 bytes 0000000000000000…)");
    expect(render(new Map<unknown, unknown>([["k", 1], [2, [3]]]))).toBe('Map(2) {"k" => 1, 2 => [3]}');
    expect(render(new Set([1, "a"]))).toBe('Set(2) {1, "a"}');
  });

  it("elides long values in the middle and gives their length", () => {
    const text = "a".repeat(40) + "b".repeat(12_265) + "c".repeat(40);
    expect(text.length).toBe(12_345);
    expect(render(text)).toBe(`"${"a".repeat(40)}…${"c".repeat(40)}" (12,345 chars)`);
    const list = Array.from({ length: 100 }, (_, i) => i);
    const rendered = render(list, 20);
    expect(rendered).toBe(`[0,1,2,3,4…,97,98,99] (${JSON.stringify(list).length} chars)`);
  });
});

describe("formatDiff of an in-memory comparison", () => {
  it("renders compareValues' result, which has no refs, with the same lines as a stored diff", () => {
    expect(formatDiff(compareValues({ n: 1, tags: ["a"] }, { n: 2, tags: ["a", "b"] }))).toBe(
      ["value a → b", "  ~ /n: 1 → 2", '  + /tags/1: "b"'].join("\n"),
    );
    expect(formatDiff(compareValues({ same: true }, { same: true }))).toBe("value a → b: no changes");
  });
});

for (const backend of diffBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`formatDiff on a ${backendTitle(backend)} store`, () => {
    afterAll(() => backend.cleanup());

    it("prints a known diff exactly (refs are content addresses, so this is stable)", async () => {
      const store = await backend.open();
      const s = store.session("format");
      const one = await s.commit({
        turn: 1,
        snapshots: {
          execution: { messages: [{ role: "user", content: "List the files" }] },
          tool: { cwd: "/repo", lastOutput: "README.md\nsrc\n" },
          plugin: { theme: "dark" },
        },
      });
      const two = await s.commit({
        turn: 2,
        snapshots: {
          execution: {
            messages: [
              { role: "user", content: "List the files" },
              { role: "assistant", content: "There are two entries: README.md and src." },
            ],
          },
          tool: { cwd: "/repo/src", lastOutput: "index.ts\n" },
          plugin: { theme: "dark" },
        },
      });
      const text = formatDiff(await storeDiff(store, one, two));
      expect(text).toBe(
        [
          "checkpoint a 4388906f9f7b → b 514236335816",
          "  /turn: 1 → 2",
          "  /snapshots/execution changed (03ed59061f56 → 2ea0e60dd3eb, 1 operation)",
          '    + /snapshots/execution/messages/1: {"content":"There are two entries: README.md and src.","role":"assistant"}',
          "  /snapshots/tool changed (e5a28c10e485 → ef005ba6b859, 2 operations)",
          '    ~ /snapshots/tool/cwd: "/repo" → "/repo/src"',
          '    ~ /snapshots/tool/lastOutput: "README.md\\nsrc\\n" → "index.ts\\n"',
          "  unchanged: /snapshots/plugin",
        ].join("\n"),
      );
      expect(text).not.toContain(ESC);
      expect(formatDiff(await storeDiff(store, one, two), { color: true })).toContain(ESC);
      expect(formatDiff(await storeDiff(store, one, one))).toBe("checkpoint a 4388906f9f7b → b 4388906f9f7b: no changes");
      expect(formatDiff(await storeDiff(store, one, two), { showUnchanged: false })).not.toContain("unchanged");
    });

    it("elides long strings, limits operations and line-diff lines, and shows moved-out refs", async () => {
      const store = await backend.open();
      const s = store.session("format-long");
      const lines = Array.from({ length: 400 }, (_, i) => `row ${i}`);
      const one = await s.commit({ turn: 1, snapshots: { tool: { out: lines.join("\n") + "\n".repeat(20_000) }, scratch: [] as number[] } });
      const changed = lines.map((l, i) => (i % 50 === 0 ? `${l} changed` : l));
      const two = await s.commit({ turn: 1, snapshots: { tool: { out: changed.join("\n") + "\n".repeat(20_000) }, scratch: Array.from({ length: 80 }, (_, i) => i) } });
      const d = await storeDiff(store, one, two);
      const text = formatDiff(d, { maxOperations: 5, maxLineDiffLines: 12 });
      expect(text).toContain("/snapshots/tool changed");
      expect(text).toContain("… 75 more operations");
      expect(text).toContain(String.raw`~ /snapshots/tool/out: "row 0\nrow 1\nrow 2\nrow 3\nrow 4\nrow 5…\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n" (23,089 chars) → "row 0 changed\nrow 1\nrow 2\nrow 3\nrow …\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n" (23,153 chars)`);
      expect(text).toMatch(/\(moved out: a [0-9a-f]{12}, b [0-9a-f]{12}\)/);
      expect(text).toContain("@@ -1,4 +1,4 @@");
      expect(text).toContain("-row 0");
      expect(text).toContain("+row 0 changed");
      expect(text).toMatch(/… [\d,]+ more lines/);
      for (const line of text.split("\n")) expect(line.length).toBeLessThan(260);
    });

    it("formats value diffs", async () => {
      const store = await backend.open();
      const a = await store.values.put({ n: 1, s: new Set([1]) });
      const b = await store.values.put({ n: 2, s: new Set([1, 2]) });
      const text = formatDiff(await storeDiffValues(store, a, b));
      expect(text.split("\n")).toEqual([`value a ${a.slice(0, 12)} → b ${b.slice(0, 12)}`, "  ~ /n: 1 → 2", "  ~ /s: Set(1) {1} → Set(2) {1, 2}"]);
      expect(formatDiff(await storeDiffValues(store, a, b), { labels: { a: "expected", b: "received" } })).toContain("value expected");
    });
  });
}
