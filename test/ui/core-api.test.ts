/**
 * The core API the ui server added, on a real store file: `store.sessions.page`
 * (one key range, ids compared as SQLite does, by UTF-8 bytes, whatever the
 * prefix's last character) and `store.timeline` (figures against the previous
 * row that exists; typed errors for bad input).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CairnError, openStore, type Store } from "../../src/index.js";
import { prefixEnd } from "../../src/storage/libsql/libsql-storage.js";
import { tempDir } from "../support/backends.js";

let dir: { dir: string; remove: () => void };
let store: Store;

/** Ids whose UTF-8 order differs from UTF-16 order, and prefixes ending in the edge code points. */
const IDS = [
  "a",
  "a/1",
  "a/2",
  "ab",
  "a\u{D7FF}",
  "a\u{D7FF}x",
  "a\u{E000}",
  "a\u{FFFF}",
  "a\u{10000}",
  "a\u{10FFFF}",
  "a\u{10FFFF}z",
  "a\u{10FFFF}\u{10FFFF}",
  "b",
  "é",
  "éa",
  "\u{1F600}",
  "\u{1F600}1",
  "z",
];
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

beforeAll(async () => {
  dir = tempDir("cairn-ui-core-");
  store = await openStore({ url: `file:${join(dir.dir, "store.db")}` });
  for (const id of IDS) await store.session(id).commit({ turn: 0, snapshots: { id } });
});

afterAll(async () => {
  await store?.close();
  dir?.remove();
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CairnError);
  expect((error as CairnError).code).toBe(code);
}

describe("store.sessions.page", () => {
  it("pages through exactly the ids with the prefix, in UTF-8 byte order, for every page size", async () => {
    const prefixes = [undefined, "a", "a/", "a\u{D7FF}", "a\u{FFFF}", "a\u{10FFFF}", "\u{1F600}", "é", "zz"];
    for (const prefix of prefixes) {
      const want = IDS.filter((id) => prefix === undefined || id.startsWith(prefix)).sort(byBytes);
      for (const limit of [1, 2, 3, 100]) {
        const got: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages <= IDS.length; pages++) {
          const page = await store.sessions.page({ limit, ...(prefix === undefined ? {} : { prefix }), ...(after === undefined ? {} : { after }) });
          got.push(...page.sessions.map((s) => s.id));
          expect(page.sessions.length).toBeLessThanOrEqual(limit);
          if (page.next === undefined) break;
          expect(page.next).toBe(page.sessions.at(-1)?.id);
          after = page.next;
        }
        expect(got, `prefix ${JSON.stringify(prefix)} limit ${limit}`).toEqual(want);
      }
    }
  });

  it("starts after `after` whether it sorts before, inside or after the prefix's range", async () => {
    const ids = async (options: Parameters<Store["sessions"]["page"]>[0]) => (await store.sessions.page(options)).sessions.map((s) => s.id);
    expect(await ids({ prefix: "a/", after: "a" })).toEqual(["a/1", "a/2"]);
    expect(await ids({ prefix: "a/", after: "a/1" })).toEqual(["a/2"]);
    // UTF-8 order, not UTF-16's: U+10000 (a surrogate pair in UTF-16) sorts after U+E000..U+FFFF.
    expect(await ids({ prefix: "a", after: "a\u{E000}", limit: 3 })).toEqual(["a\u{FFFF}", "a\u{10000}", "a\u{10FFFF}"]);
    expect(await ids({ prefix: "a/", after: "a0" })).toEqual([]);
    // After "z" come the ids that start with a non-ASCII character.
    expect(await ids({ after: "z" })).toEqual(["é", "éa", "\u{1F600}", "\u{1F600}1"]);
    expect(await ids({ after: "\u{1F600}1" })).toEqual([]);
  });

  it("gives each session's checkpoints and fork origin", async () => {
    const source = store.session("fork-src");
    for (let turn = 1; turn <= 3; turn++) await source.commit({ turn, snapshots: { turn } });
    await source.fork("fork-dst", { at: 2 });
    await source.dropCheckpoints([1]);
    const page = await store.sessions.page({ prefix: "fork-" });
    expect(page.sessions.map((s) => [s.id, s.head, s.checkpoints, s.forkedFrom])).toEqual([
      ["fork-dst", 2, 2, { session: "fork-src", at: 2 }],
      ["fork-src", 3, 2, undefined],
    ]);
    expect((await store.sessions.list()).find((s) => s.id === "fork-dst")?.forkedFrom).toEqual({ session: "fork-src", at: 2 });
  });

  it("refuses bad options with INVALID_ARGUMENT", async () => {
    for (const options of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { prefix: "" }, { after: 5 }, { bogus: 1 }, null]) {
      await expectCode(store.sessions.page(options as never), "INVALID_ARGUMENT");
    }
  });

  it("bounds a prefix by the next code point (U+D7FF's is U+E000; trailing U+10FFFF dropped)", () => {
    expect(prefixEnd("ab")).toBe("ac");
    expect(prefixEnd("a\u{D7FF}")).toBe("a\u{E000}");
    expect(prefixEnd("a\u{FFFF}")).toBe("a\u{10000}");
    expect(prefixEnd("a\u{10FFFF}")).toBe("b");
    expect(prefixEnd("\u{10FFFF}\u{10FFFF}")).toBeUndefined();
  });
});

describe("store.timeline", () => {
  it("measures each row against the previous row that exists, on any page", async () => {
    const s = store.session("gaps");
    const state = (n: number) => ({ tool: { text: `state ${n} `.repeat(2000) }, small: n });
    await s.commit({ turn: 1, snapshots: state(1) });
    await s.commit({ turn: 2, snapshots: state(2) });
    await s.commit({ turn: 3, snapshots: state(3) });
    await s.commit({ turn: 4, snapshots: state(2) }); // the state of 2 again, another turn
    await s.commit({ turn: 5, snapshots: state(5) });
    await s.dropCheckpoints([3]);
    const whole = await store.timeline("gaps");
    expect(whole.entries.map((e) => e.seq)).toEqual([5, 4, 2, 1]);
    const four = whole.entries[1]!;
    const manifest = (await store.blobs.info(four.ref))!;
    // Against row 2 (row 3 is gone), row 4 added only its own manifest.
    expect(four.addedBytes).toBe(manifest.storedSize);
    expect(four.addedBlobs).toBe(1);
    expect(four.reachableBytes).toBe(whole.entries[2]!.reachableBytes - (await store.blobs.info(whole.entries[2]!.ref))!.storedSize + manifest.storedSize);
    // The same figures when row 4 is a page of its own.
    const alone = await store.timeline("gaps", { before: 5, limit: 1 });
    expect(alone.entries).toEqual([four]);
    expect(alone.next).toBe(4);
    expect(whole.entries.at(-1)!.addedBytes).toBe(whole.entries.at(-1)!.reachableBytes);
  });

  it("refuses bad input with typed errors", async () => {
    for (const options of [{ limit: 0 }, { limit: 1001 }, { before: 0 }, { before: "2" }, { bogus: 1 }]) {
      await expectCode(store.timeline("gaps", options as never), "INVALID_ARGUMENT");
    }
    await expectCode(store.timeline(""), "INVALID_ARGUMENT");
    await expectCode(store.timeline("no-such-session"), "NOT_FOUND");
  });
});
