/** cairn-store/vitest matchers: what passes, what fails, and the messages they print. */
import { afterAll, describe, expect, it } from "vitest";
import { changedPaths, installCairnMatchers, isUnderPath } from "../../src/vitest/index.js";
import { unchanged, type Store } from "../../src/index.js";
import { compareValues, type CheckpointDiff } from "../../src/checkpoint/diff.js";
import { backendTitle, diffBackends, storeDiff, storeDiffValues } from "./support.js";

/** The message of the assertion error `fn` throws (or rejects with). */
async function failure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the assertion to fail");
}

describe("path prefixes", () => {
  it("match whole JSON Pointer tokens", () => {
    expect(isUnderPath("/snapshots/tool", "/snapshots/tool")).toBe(true);
    expect(isUnderPath("/snapshots/tool/cwd", "/snapshots/tool")).toBe(true);
    expect(isUnderPath("/snapshots/toolbox", "/snapshots/tool")).toBe(false);
    expect(isUnderPath("/snapshots", "/snapshots/tool")).toBe(false);
    expect(isUnderPath("/anything", "")).toBe(true);
  });

  it("take compareValues' in-memory result as well as a stored diff", async () => {
    expect(compareValues({ a: 1, b: [1] }, { a: 1, b: [1, 2] })).toChangeOnly(["/b"]);
    expect(compareValues({ a: 1 }, { a: 1 })).toBeUnchanged();
    expect(await failure(() => expect(compareValues({ a: 1 }, { a: 1 })).not.toBeUnchanged())).toBe("expected the two values to differ, but they are equal");
  });

  it("installCairnMatchers is idempotent", () => {
    installCairnMatchers();
    installCairnMatchers();
    expect(typeof expect({}).toChangeOnly).toBe("function");
  });
});

for (const backend of diffBackends()) {
  describe.skipIf(backend.unavailable !== undefined)(`matchers on a ${backendTitle(backend)} store`, () => {
    afterAll(() => backend.cleanup());
    let store: Store;
    let diff: CheckpointDiff;
    let refs: { one: string; two: string };

    it("set up two turns", async () => {
      store = await backend.open();
      const s = store.session("matchers");
      const one = await s.commit({ turn: 1, snapshots: { execution: { messages: ["hi"] }, tool: { cwd: "/a" }, plugin: { p: 1 } } });
      const two = await s.commit({ turn: 2, snapshots: { execution: { messages: ["hi", "hello"] }, tool: { cwd: "/b" }, plugin: { p: 1 } } });
      diff = await storeDiff(store, one, two);
      refs = { one: one.ref, two: two.ref };
      expect(changedPaths(diff)).toEqual(["/turn", "/snapshots/execution/messages/1", "/snapshots/tool/cwd"]);
    });

    it("toChangeOnly passes on exactly the changed prefixes, slot-level or deeper", () => {
      expect(diff).toChangeOnly(["/snapshots/execution", "/snapshots/tool"]);
      expect(diff).toChangeOnly(["/snapshots/execution/messages/1", "/snapshots/tool/cwd"]);
      expect(diff).toChangeOnly(["/snapshots"]);
      expect(diff).toChangeOnly(["/turn", "/snapshots"]); // listing /turn requires it to change
      expect(diff).toChangeOnly(["/turn", "/snapshots/execution", "/snapshots/tool"], { ignore: [] });
    });

    it("toChangeOnly fails on a change outside the paths, naming it, with the formatted diff", async () => {
      const message = await failure(() => expect(diff).toChangeOnly(["/snapshots/tool"]));
      expect(message).toContain("expected the diff to change only /snapshots/tool (ignoring /turn)");
      expect(message).toContain("changed outside them:\n  + /snapshots/execution/messages/1");
      expect(message).toContain("checkpoint a ");
      expect(message).toContain('~ /snapshots/tool/cwd: "/a" → "/b"');
      expect(message).not.toContain("\u001b[");
    });

    it("toChangeOnly fails when a listed path did not change", async () => {
      const message = await failure(() => expect(diff).toChangeOnly(["/snapshots/execution", "/snapshots/tool", "/snapshots/plugin"]));
      expect(message).toContain("nothing changed under:\n  /snapshots/plugin");
      const strict = await failure(() => expect(diff).toChangeOnly(["/snapshots"], { ignore: [] }));
      expect(strict).toContain("changed outside them:\n  ~ /turn");
      const above = await failure(() => expect(diff).toChangeOnly(["/snapshots/execution/messages/0", "/snapshots/tool"]));
      expect(above).toContain("+ /snapshots/execution/messages/1");
    });

    it("toChangeOnly works with .not and refuses what is not a diff or not a pointer", async () => {
      expect(diff).not.toChangeOnly(["/snapshots/tool"]);
      const message = await failure(() => expect(diff).not.toChangeOnly(["/snapshots"]));
      expect(message).toContain("expected the diff not to change only /snapshots (ignoring /turn), but it does");
      expect(() => expect({ a: 1 }).toChangeOnly(["/x"])).toThrow(TypeError);
      expect(() => expect(diff).toChangeOnly(["tool"])).toThrow(/did you mean "\/snapshots\/tool"/);
    });

    it("toBeUnchanged passes on equal diffs and prints the diff otherwise", async () => {
      expect(await storeDiff(store, refs.two, refs.two)).toBeUnchanged();
      expect(diff).not.toBeUnchanged();
      const message = await failure(() => expect(diff).toBeUnchanged());
      expect(message).toContain("expected no changes, but:");
      expect(message).toContain("/turn: 1 → 2");
      const a = await store.values.put([1, 2]);
      const b = await store.values.put([1, 3]);
      expect(await storeDiffValues(store, a, a)).toBeUnchanged();
      expect(await storeDiffValues(store, a, b)).toChangeOnly(["/1"]);
    });

    it("toHaveCheckpoint compares a stored checkpoint (by ref or hydrated) with an expected one", async () => {
      const expected = { turn: 2, snapshots: { execution: { messages: ["hi", "hello"] }, tool: { cwd: "/b" }, plugin: { p: 1 } } };
      await expect(store).toHaveCheckpoint(refs.two, expected);
      const hydrated = await store.checkpoints.get(refs.two);
      await expect(store).toHaveCheckpoint(hydrated, expected);
      const pluginRef = hydrated.manifest.slots.plugin!;
      await expect(store).toHaveCheckpoint(refs.two, { ...expected, snapshots: { ...expected.snapshots, plugin: unchanged(pluginRef) } });
      await expect(store).not.toHaveCheckpoint(refs.one, expected);
    });

    it("toHaveCheckpoint prints the diff from expected to received on failure", async () => {
      const expected = { turn: 2, snapshots: { execution: { messages: ["hi", "hello", "bye"] }, tool: { cwd: "/b" }, plugin: { p: 1 } } };
      const message = await failure(() => expect(store).toHaveCheckpoint(refs.two, expected));
      expect(message).toContain(`checkpoint ${refs.two.slice(0, 12)} differs from the expected one:`);
      expect(message).toMatch(/checkpoint expected [0-9a-f]{12} → received [0-9a-f]{12}/);
      expect(message).toContain('- /snapshots/execution/messages/2: "bye"');
      expect(message).toContain("unchanged: /snapshots/plugin, /snapshots/tool");
      await expect(expect({}).toHaveCheckpoint(refs.two, expected)).rejects.toThrow(/called on a cairn store/);
      await expect(expect(store).toHaveCheckpoint("nope", expected)).rejects.toMatchObject({ code: "INVALID_REF" });
    });
  });
}
