/**
 * The content-edges repair (src/maintenance/repair.ts): a store marked for it
 * (migration 3 marks every store that has blobs) gets, at its next open, the
 * edges its content implies and its edges table lacks; the mark goes in the
 * same transaction, so a repair that did not finish runs again at the next
 * open. The golden v1 store is the real case (test/golden); here the missing
 * edges are made by deleting them from a store written today.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { query, sql, TINY } from "./support.js";

const dir = tempDir("cairn-repair-");
afterAll(() => dir.remove());

const count = async (store: Awaited<ReturnType<typeof openStore>>, statement: string) => Number((await query(store, statement)).rows[0]![0]);

describe("the content-edges repair", () => {
  it("adds the edges a store's content implies at the open after it is marked, and runs again while the mark stays", async () => {
    const url = `file:${join(dir.dir, "repair.db")}`;
    const store = await openStore({ url, ...TINY });
    // A chunked value (the message list) that links moved-out strings.
    await store.session("s").commit({ turn: 1, snapshots: { execution: { messages: Array.from({ length: 30 }, (_, i) => `message ${i} `.repeat(12)) } } });
    const edges = await count(store, "SELECT count(*) FROM edges");
    expect(await count(store, "SELECT count(*) FROM repairs")).toBe(0); // a new store is not marked
    // What a schema-1 writer left: no edge from a chunked value to the blobs its content links.
    const dropped = await sql(
      store,
      `DELETE FROM edges WHERE src IN (SELECT id FROM blobs WHERE encoding = 2) AND dst IN (SELECT id FROM blobs WHERE kind <> 'chunk' AND kind <> 'chunk-list')`,
    );
    expect(dropped.rowsAffected).toBeGreaterThan(0);
    expect((await store.verify()).findings.filter((f) => f.type === "missing-edge")).toHaveLength(dropped.rowsAffected);
    // Marked, as migration 3 marks a store; then the same after an interrupted repair: the mark is still there.
    await sql(store, "INSERT INTO repairs (name) VALUES ('content-edges')");
    await store.close();

    const reopened = await openStore({ url, ...TINY });
    expect(await count(reopened, "SELECT count(*) FROM edges")).toBe(edges);
    expect(await count(reopened, "SELECT count(*) FROM repairs")).toBe(0);
    expect((await reopened.verify()).findings).toEqual([]);
    // gc keeps what the checkpoint needs.
    await reopened.gc({ grace: 0 });
    expect((await reopened.session("s").latest())?.snapshots.execution).toMatchObject({ messages: expect.any(Array) });
    await reopened.close();
  });
});
