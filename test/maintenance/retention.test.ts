/**
 * Retention policies kept in the store, applied by gc: keepLast, keepFor and
 * expireAfter per session, per prefix and as the store default; the most
 * specific policy wins; heads, fork points and pins are always kept; a dry run
 * shows what each policy drops. A property test checks gc against a model of
 * the rules on random stores, policies and forks.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { CairnError, openStore, type RetentionPolicy, type RetentionScope, type Store } from "../../src/index.js";
import { checkAsync } from "../support/seeded.js";
import { textPayload } from "../support/random.js";
import { dump, expectCode, query, sql } from "./support.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close().catch(() => undefined);
});

async function open(): Promise<Store> {
  const store = await openStore({ url: ":memory:" });
  stores.push(store);
  return store;
}

/** Commits `n` checkpoints to `id`, each with a distinct 20 KB output. */
async function commits(store: Store, id: string, n: number): Promise<void> {
  const session = store.session(id);
  const head = await session.head();
  for (let i = 1; i <= n; i++) await session.commit({ turn: head + i, snapshots: { tool: { output: textPayload(20_000, `${id}-${head + i}`) } } });
}

/** Moves the checkpoints of `id` (all, or those with seq <= upTo) `ms` into the past. */
async function age(store: Store, id: string, ms: number, upTo = Number.MAX_SAFE_INTEGER): Promise<void> {
  await sql(store, "UPDATE history SET created_at = created_at - ? WHERE session = ? AND seq <= ?", [ms, id, upTo]);
}

const seqs = async (store: Store, id: string) => (await store.session(id).history()).map((e) => e.seq).sort((a, b) => a - b);

describe("store.retention", () => {
  it("sets, gets, lists, resolves and removes policies", async () => {
    const store = await open();
    await store.retention.set("default", { keepLast: 10 });
    await store.retention.set({ prefix: "chat-" }, { keepLast: 3, keepFor: DAY });
    await store.retention.set({ prefix: "chat-vip-" }, {});
    await store.retention.set({ session: "chat-42" }, { expireAfter: 7 * DAY });
    await store.retention.set({ prefix: "chat-" }, { keepLast: 4 }); // replaces
    expect(await store.retention.get({ prefix: "chat-" })).toEqual({ keepLast: 4 });
    expect(await store.retention.get({ prefix: "nope-" })).toBeUndefined();
    expect((await store.retention.list()).map((e) => e.scope)).toEqual(["default", { prefix: "chat-" }, { prefix: "chat-vip-" }, { session: "chat-42" }]);
    expect((await store.retention.forSession("chat-42"))?.scope).toEqual({ session: "chat-42" });
    expect((await store.retention.forSession("chat-vip-1"))?.policy).toEqual({});
    expect((await store.retention.forSession("chat-7"))?.policy).toEqual({ keepLast: 4 });
    expect((await store.retention.forSession("other"))?.scope).toBe("default");
    expect(await store.retention.remove({ prefix: "chat-" })).toBe(true);
    expect(await store.retention.remove({ prefix: "chat-" })).toBe(false);
    expect((await store.retention.forSession("chat-7"))?.scope).toBe("default");
  });

  it("refuses a bad scope or policy and writes nothing", async () => {
    const store = await open();
    const before = await dump(store);
    const bad: Array<[unknown, unknown]> = [
      ["all", { keepLast: 1 }],
      [{ session: "" }, { keepLast: 1 }],
      [{ prefix: "" }, { keepLast: 1 }],
      [{ session: "a", prefix: "b" }, { keepLast: 1 }],
      ["default", { keepLast: 0 }],
      ["default", { keepLast: 1.5 }],
      ["default", { keepFor: -1 }],
      ["default", { expireAfter: "7d" }],
      ["default", { keepLatest: 1 }],
      ["default", undefined],
    ];
    for (const [scope, policy] of bad) {
      await expectCode(store.retention.set(scope as RetentionScope, policy as RetentionPolicy), "INVALID_ARGUMENT");
    }
    expect(await dump(store)).toBe(before);
    expect(await store.retention.list()).toEqual([]);
  });
});

describe("gc applies the stored policies", () => {
  it("keeps the newest N per the most specific policy, and never a head", async () => {
    const store = await open();
    for (const id of ["a", "chat-1", "chat-vip-1", "solo"]) await commits(store, id, 6);
    await store.retention.set("default", { keepLast: 2 });
    await store.retention.set({ prefix: "chat-" }, { keepLast: 4 });
    await store.retention.set({ prefix: "chat-vip-" }, {});
    await store.retention.set({ session: "solo" }, { keepLast: 1 });
    const report = await store.gc({ grace: 0 });
    expect(report.plan.policies).toBe(true);
    expect(await seqs(store, "a")).toEqual([5, 6]);
    expect(await seqs(store, "chat-1")).toEqual([3, 4, 5, 6]);
    expect(await seqs(store, "chat-vip-1")).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await seqs(store, "solo")).toEqual([6]);
    expect(report.plan.byPolicy).toEqual({
      default: { sessions: 1, historyRows: 4, expiredSessions: 0 },
      "prefix:chat-": { sessions: 1, historyRows: 2, expiredSessions: 0 },
      "session:solo": { sessions: 1, historyRows: 5, expiredSessions: 0 },
    });
    expect(report.result!.historyRowsDropped).toBe(11);
    expect(report.result!.blobs).toBeGreaterThan(0);
    for (const id of ["a", "chat-1", "chat-vip-1", "solo"]) {
      for (const seq of await seqs(store, id)) expect((await store.session(id).at(seq)).snapshots.tool).toEqual({ output: textPayload(20_000, `${id}-${seq}`) });
    }
    expect((await store.verify()).ok).toBe(true);
  });

  it("keepFor keeps the young, and with keepLast a checkpoint either keeps stays", async () => {
    const store = await open();
    await commits(store, "s", 6);
    await age(store, "s", 3 * DAY, 4); // seqs 1-4 are three days old
    await store.retention.set("default", { keepFor: DAY });
    await store.gc({ grace: 0 });
    expect(await seqs(store, "s")).toEqual([5, 6]);
    await commits(store, "t", 6);
    await age(store, "t", 3 * DAY, 5);
    await store.retention.set("default", { keepFor: DAY, keepLast: 3 });
    await store.gc({ grace: 0 });
    expect(await seqs(store, "t")).toEqual([4, 5, 6]);
  });

  it("expires a session with no commit for expireAfter, whole, and frees its blobs", async () => {
    const store = await open();
    await commits(store, "idle", 3);
    await commits(store, "busy", 3);
    await age(store, "idle", 8 * DAY);
    await age(store, "busy", 8 * DAY, 2); // its newest is recent
    await store.retention.set("default", { expireAfter: 7 * DAY });
    const dry = await store.gc({ grace: 0, dryRun: true });
    expect(dry.plan.expiredSessions).toBe(1);
    expect(dry.plan.byPolicy).toEqual({ default: { sessions: 1, historyRows: 3, expiredSessions: 1 } });
    expect(await seqs(store, "idle")).toEqual([1, 2, 3]); // a dry run changes nothing
    const report = await store.gc({ grace: 0 });
    expect(report.result!.sessionsDropped).toBe(1);
    expect((await store.sessions.list()).map((s) => s.id)).toEqual(["busy"]);
    expect(await store.session("idle").latest()).toBeUndefined();
    expect(await seqs(store, "busy")).toEqual([1, 2, 3]);
    expect(report.result!.storedBytes).toBeGreaterThan(0);
    expect((await store.verify()).ok).toBe(true);
  });

  it("keeps the checkpoint a session was forked from, and what a pin reaches", async () => {
    const store = await open();
    await commits(store, "main", 3);
    await store.session("main").fork("branch", { at: 2 });
    await commits(store, "main", 3);
    await commits(store, "branch", 2);
    const pinned = (await store.session("main").at(1)).ref;
    await store.pin("keep", pinned);
    await store.retention.set("default", { keepLast: 1 });
    await store.gc({ grace: 0 });
    expect(await seqs(store, "main")).toEqual([2, 6]);
    expect(await seqs(store, "branch")).toEqual([4]);
    expect((await store.checkpoints.get(pinned)).snapshots.tool).toEqual({ output: textPayload(20_000, "main-1") });
    expect((await store.session("main").at(2)).snapshots.tool).toEqual({ output: textPayload(20_000, "main-2") });
    const forks = await query(store, "SELECT id, forked_from, forked_at FROM sessions WHERE forked_from IS NOT NULL");
    expect(forks.rows.map((r) => [r[0], r[1], Number(r[2])])).toEqual([["branch", "main", 2]]);
  });

  it("the call's keepLast or olderThan replace the policies for that run; policies: false turns them off", async () => {
    const store = await open();
    await commits(store, "s", 5);
    await store.retention.set("default", { keepLast: 1 });
    const dry = await store.gc({ grace: 0, dryRun: true, keepLast: 3 });
    expect(dry.plan.policies).toBe(false);
    expect(dry.plan.byPolicy).toEqual({ "gc options": { sessions: 1, historyRows: 2, expiredSessions: 0 } });
    const off = await store.gc({ grace: 0, policies: false });
    expect(off.plan.historyRows).toBe(0);
    expect(await seqs(store, "s")).toEqual([1, 2, 3, 4, 5]);
    await store.gc({ grace: 0, keepLast: 4 });
    expect(await seqs(store, "s")).toEqual([2, 3, 4, 5]);
  });

  it("refuses a bad policies option before reading anything", async () => {
    const store = await open();
    await expectCode(store.gc({ policies: "yes" as unknown as boolean }), "INVALID_ARGUMENT");
  });
});

/** The model of the rules: which rows of which sessions stay. */
interface ModelRow {
  readonly seq: number;
  readonly createdAt: number;
}
type Policy = { keepLast?: number; keepFor?: number; expireAfter?: number };

function modelKeeps(
  sessions: Map<string, ModelRow[]>,
  policies: Map<string, Policy>,
  forks: Array<{ from: string; at: number; to: string }>,
  now: number,
): Map<string, number[]> {
  const policyOf = (id: string): Policy | undefined => {
    if (policies.has(`s:${id}`)) return policies.get(`s:${id}`);
    let best: string | undefined;
    for (const key of policies.keys()) if (key.startsWith("p:") && id.startsWith(key.slice(2)) && (best === undefined || key.length > best.length)) best = key;
    return best !== undefined ? policies.get(best) : policies.get("");
  };
  const kept = new Map<string, number[]>();
  for (const [id, rows] of sessions) {
    if (rows.length === 0) continue;
    const policy = policyOf(id);
    // A fork is as new as the fork (its session row's creation), whatever its copied rows' times.
    const newest = forks.some((f) => f.to === id) ? now : Math.max(...rows.map((r) => r.createdAt));
    if (policy?.expireAfter !== undefined && newest < now - policy.expireAfter) continue;
    const sorted = [...rows].sort((a, b) => b.seq - a.seq);
    const stays = sorted.filter((row, i) => {
      if (i === 0) return true;
      if (policy === undefined || (policy.keepLast === undefined && policy.keepFor === undefined)) return true;
      if (forks.some((f) => f.from === id && f.at === row.seq)) return true;
      const keptByLast = policy.keepLast !== undefined && i < policy.keepLast;
      const keptByAge = policy.keepFor !== undefined && row.createdAt >= now - policy.keepFor;
      return keptByLast || keptByAge;
    });
    kept.set(id, stays.map((r) => r.seq).sort((a, b) => a - b));
  }
  return kept;
}

describe("property: gc applies policies as the model says, and never loses what it keeps", () => {
  const ids = ["a-1", "a-2", "b-1", "b-2", "c"];
  const policy = fc.record(
    {
      keepLast: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      keepFor: fc.option(fc.constantFrom(HOUR, DAY, 3 * DAY), { nil: undefined }),
      expireAfter: fc.option(fc.constantFrom(2 * DAY, 10 * DAY), { nil: undefined }),
    },
    { requiredKeys: [] },
  );
  const scope = fc.constantFrom("", "p:a-", "p:b-", "p:a-1", "s:b-2", "s:c");
  const plan = fc.record({
    commits: fc.array(fc.record({ session: fc.constantFrom(...ids), ageDays: fc.integer({ min: 0, max: 12 }) }), { minLength: 3, maxLength: 25 }),
    forks: fc.array(fc.record({ from: fc.constantFrom(...ids), to: fc.constantFrom("f-1", "f-2"), at: fc.integer({ min: 1, max: 6 }) }), { maxLength: 2 }),
    policies: fc.array(fc.tuple(scope, policy), { maxLength: 4 }),
    pin: fc.option(fc.nat(30), { nil: undefined }),
  });

  it("on random stores, policies and forks", async () => {
    await checkAsync(
      fc.asyncProperty(plan, async ({ commits: steps, forks, policies, pin }) => {
        const store = await openStore({ url: ":memory:" });
        try {
          const model = new Map<string, ModelRow[]>();
          const committed = new Map<string, unknown>();
          const refs: string[] = [];
          const now = Date.now();
          for (const [i, step] of steps.entries()) {
            const snapshots = { tool: { output: textPayload(3000, `${step.session}-${i}`) }, shared: { n: i % 3 } };
            const result = await store.session(step.session).commit({ turn: i, snapshots });
            refs.push(result.ref);
            committed.set(`${step.session}@${result.seq}`, snapshots);
            await sql(store, "UPDATE history SET created_at = ? WHERE session = ? AND seq = ?", [now - step.ageDays * DAY, step.session, result.seq]);
            const rows = model.get(step.session) ?? [];
            rows.push({ seq: result.seq, createdAt: now - step.ageDays * DAY });
            model.set(step.session, rows);
          }
          const made: Array<{ from: string; at: number; to: string }> = [];
          for (const fork of forks) {
            const rows = model.get(fork.from);
            if (!rows || !rows.some((r) => r.seq === fork.at) || model.has(fork.to)) continue;
            await store.session(fork.from).fork(fork.to, { at: fork.at });
            made.push({ from: fork.from, at: fork.at, to: fork.to });
            const copied = rows.filter((r) => r.seq <= fork.at).map((r) => ({ ...r }));
            model.set(fork.to, copied);
            for (const r of copied) committed.set(`${fork.to}@${r.seq}`, committed.get(`${fork.from}@${r.seq}`));
          }
          const stored = new Map<string, Policy>();
          for (const [key, rules] of policies) {
            const scopeArg: RetentionScope = key === "" ? "default" : key.startsWith("s:") ? { session: key.slice(2) } : { prefix: key.slice(2) };
            await store.retention.set(scopeArg, rules);
            stored.set(key, Object.fromEntries(Object.entries(rules).filter(([, v]) => v !== undefined)));
          }
          const pinned = pin !== undefined && refs.length > 0 ? refs[pin % refs.length]! : undefined;
          if (pinned) await store.pin("p", pinned);

          const report = await store.gc({ grace: 0 });
          const expected = modelKeeps(model, stored, made, report.plan.startedAt.getTime());
          const actual = new Map<string, number[]>();
          for (const info of await store.sessions.list()) actual.set(info.id, await seqs(store, info.id));
          expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
          for (const [id, kept] of actual) {
            for (const seq of kept) expect((await store.session(id).at(seq)).snapshots).toEqual(committed.get(`${id}@${seq}`));
          }
          if (pinned) expect((await store.checkpoints.get(pinned)).ref).toBe(pinned);
          const verify = await store.verify();
          expect(verify.findings).toEqual([]);
        } finally {
          await store.close();
        }
      }),
      40,
    );
  });
});

describe("a session's id is checked", () => {
  it("forSession refuses an empty id", async () => {
    const store = await open();
    const error = await store.retention.forSession("").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).code).toBe("INVALID_ARGUMENT");
  });
});

describe("retention deletes an expiring session in one transaction where it fits", () => {
  it("cuts the planned rows by session, never past the batch size", async () => {
    const { sessionBatches } = await import("../../src/maintenance/sweep.js");
    const rows = (id: string, n: number) => Array.from({ length: n }, (_, i) => [id, i + 1] as const);
    const batches = sessionBatches([...rows("a", 3), ...rows("b", 4), ...rows("c", 12), ...rows("d", 2)], 5);
    expect(batches.map((b) => b.map(([s]) => s).join(""))).toEqual(["aaa", "bbbb", "ccccc", "ccccc", "ccdd"]);
    expect(batches.flat()).toHaveLength(21);
  });

  it("a fork is as new as the fork: an old session's fresh fork does not expire with it", async () => {
    const store = await open();
    await commits(store, "old", 3);
    await age(store, "old", 40 * DAY);
    await store.session("old").fork("copy");
    await store.retention.set("default", { expireAfter: 30 * DAY });
    const report = await store.gc({ grace: 0 });
    expect(report.result!.sessionsDropped).toBe(1);
    expect((await store.sessions.list()).map((s) => s.id)).toEqual(["copy"]);
    expect(await seqs(store, "copy")).toEqual([1, 2, 3]);
    expect((await store.session("copy").at(3)).snapshots.tool).toEqual({ output: textPayload(20_000, "old-3") });
  });
});
