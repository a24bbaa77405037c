/**
 * The example from docs/diff.md: a session commits turn 1 and turn 2, where turn
 * 2 appends a message and updates the tool snapshot, and the test asserts
 * exactly what changed. It imports the matchers the way a user does.
 */
import { afterAll, describe, expect, it } from "vitest";
import "../../src/vitest/index.js";
import { openStore, type Store } from "../../src/index.js";

describe("an agent turn, asserted with cairn-store/vitest", () => {
  let store: Store;
  afterAll(() => store?.close());

  it("turn 2 appends one message and updates the tool snapshot, nothing else", async () => {
    store = await openStore({ url: ":memory:" });
    const session = store.session("chat-42");
    const system = { role: "system", content: "You are a coding agent." };
    const ask = { role: "user", content: "What is in src/?" };
    const plugin = { theme: "dark", enabled: ["git", "search"] };

    const turn1 = await session.commit({
      turn: 1,
      snapshots: {
        execution: { messages: [system, ask], cursor: 2 },
        tool: { cwd: "/repo", openFiles: [] },
        plugin,
      },
    });

    const answer = { role: "assistant", content: "src/ holds index.ts and store.ts." };
    const turn2 = await session.commit({
      turn: 2,
      snapshots: {
        execution: { messages: [system, ask, answer], cursor: 2 },
        tool: { cwd: "/repo/src", openFiles: ["index.ts"] },
        plugin,
      },
    });

    const diff = await store.diff(turn1, turn2);
    // Slot level: the execution and tool snapshots changed, the plugin did not (the turn number is ignored by default).
    expect(diff).toChangeOnly(["/snapshots/execution", "/snapshots/tool"]);
    // Deeper: exactly one message appended, and the tool's cwd and open files.
    expect(diff).toChangeOnly(["/snapshots/execution/messages/2", "/snapshots/tool"]);
    expect(diff).not.toChangeOnly(["/snapshots/tool"]);
    expect(diff.slots.execution!.patch).toEqual([{ op: "add", path: "/snapshots/execution/messages/2", value: answer }]);
    expect(diff.slots.plugin!.status).toBe("unchanged");
    // And the whole stored state of turn 2 against what we expect it to be.
    await expect(store).toHaveCheckpoint(turn2, {
      turn: 2,
      snapshots: { execution: { messages: [system, ask, answer], cursor: 2 }, tool: { cwd: "/repo/src", openFiles: ["index.ts"] }, plugin },
    });
    expect(await store.diff(turn2, turn2)).toBeUnchanged();
  });
});
