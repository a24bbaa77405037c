/**
 * Retention policies kept in the store, which gc applies: keep the last N
 * checkpoints, keep checkpoints younger than a duration, and expire a whole
 * session after a time without commits. A policy covers one session, the
 * sessions whose id starts with a prefix, or every session (the default); the
 * most specific one that matches a session is the one gc applies to it.
 */
import type { BlobContext } from "../blob/context.js";
import { CairnError, describe } from "../errors.js";
import { parseSessionId } from "../session/session.js";
import type { StoredPolicy } from "../storage/maintenance-storage.js";
import { optionalInt, optionsObject } from "./options.js";

/** What a policy covers: every session ("default"), one session, or the sessions whose id starts with `prefix`. */
export type RetentionScope = "default" | { readonly session: string } | { readonly prefix: string };

/**
 * A retention policy. Each rule is optional; a checkpoint is dropped only when
 * no given rule keeps it, and a session's newest checkpoint is always kept
 * unless the session expires. A policy with no rule keeps everything: an
 * exemption from a broader policy.
 */
export interface RetentionPolicy {
  /** Keep the newest N checkpoints of each session (at least 1). */
  readonly keepLast?: number;
  /** Keep checkpoints younger than this many ms. */
  readonly keepFor?: number;
  /** Remove the whole session (every checkpoint) once its newest checkpoint is older than this many ms. */
  readonly expireAfter?: number;
}

/** A stored policy: its scope, its rules, and when it was last set. */
export interface RetentionEntry {
  readonly scope: RetentionScope;
  readonly policy: RetentionPolicy;
  readonly updatedAt: Date;
}

/** The store's retention policies (`store.retention`). gc applies them; see docs/maintenance.md, "Retention policies". */
export interface Retention {
  /**
   * Sets the policy of `scope`, replacing the one it had. Takes effect at the next gc.
   * @throws CairnError INVALID_ARGUMENT (bad scope or policy; nothing is written), CLOSED, DATABASE.
   */
  set(scope: RetentionScope, policy: RetentionPolicy): Promise<void>;
  /** The policy stored for exactly `scope`, if any. @throws CairnError INVALID_ARGUMENT, CLOSED, DATABASE. */
  get(scope: RetentionScope): Promise<RetentionPolicy | undefined>;
  /** Removes the policy of `scope`; true if there was one. @throws CairnError INVALID_ARGUMENT, CLOSED, DATABASE. */
  remove(scope: RetentionScope): Promise<boolean>;
  /** Every stored policy: the default first, then by scope. */
  list(): Promise<RetentionEntry[]>;
  /**
   * The policy gc applies to session `sessionId`: its own, else the one of the
   * longest prefix its id starts with, else the default; undefined when none does.
   * @throws CairnError INVALID_ARGUMENT, CLOSED, DATABASE.
   */
  forSession(sessionId: string): Promise<RetentionEntry | undefined>;
}

/** The longest prefix a policy may name (a session id's limit). */
const MAX_PREFIX = 512;

/** The stored form of a scope: "" (default), "s:<id>", "p:<prefix>". @throws CairnError INVALID_ARGUMENT. */
export function scopeKey(scope: unknown): string {
  if (scope === "default") return "";
  if (typeof scope === "object" && scope !== null && !Array.isArray(scope)) {
    const keys = Object.keys(scope);
    if (keys.length === 1 && keys[0] === "session") return `s:${parseSessionId((scope as { session: unknown }).session, "scope.session")}`;
    if (keys.length === 1 && keys[0] === "prefix") {
      const prefix = (scope as { prefix: unknown }).prefix;
      if (typeof prefix !== "string" || prefix.length === 0 || prefix.length > MAX_PREFIX || !prefix.isWellFormed()) {
        throw new CairnError("INVALID_ARGUMENT", `scope.prefix must be a non-empty string of at most ${MAX_PREFIX} characters, got ${describe(prefix)}`, {
          argument: "scope.prefix",
        });
      }
      return `p:${prefix}`;
    }
  }
  throw new CairnError("INVALID_ARGUMENT", `a retention scope is "default", { session: id } or { prefix: string }, got ${describe(scope)}`, { argument: "scope" });
}

/** The scope a stored key names. */
export function scopeOf(key: string): RetentionScope {
  if (key === "") return "default";
  return key.startsWith("s:") ? { session: key.slice(2) } : { prefix: key.slice(2) };
}

/** Checks a policy: known keys only, keepLast an integer >= 1, durations whole ms >= 1. @throws CairnError INVALID_ARGUMENT. */
export function parsePolicy(policy: unknown): { keepLast: number | undefined; keepFor: number | undefined; expireAfter: number | undefined } {
  if (policy === undefined) throw new CairnError("INVALID_ARGUMENT", "a retention policy is an object ({} keeps everything), got undefined", { argument: "policy" });
  const opts = optionsObject<RetentionPolicy>(policy, "policy", ["keepLast", "keepFor", "expireAfter"]);
  return {
    keepLast: optionalInt("keepLast", opts.keepLast, 1),
    keepFor: optionalInt("keepFor", opts.keepFor, 1),
    expireAfter: optionalInt("expireAfter", opts.expireAfter, 1),
  };
}

function entry(stored: StoredPolicy): RetentionEntry {
  return {
    scope: scopeOf(stored.scope),
    policy: {
      ...(stored.keepLast === undefined ? {} : { keepLast: stored.keepLast }),
      ...(stored.keepFor === undefined ? {} : { keepFor: stored.keepFor }),
      ...(stored.expireAfter === undefined ? {} : { expireAfter: stored.expireAfter }),
    },
    updatedAt: new Date(stored.updatedAt),
  };
}

/** Whether a stored policy's scope covers `sessionId`, and how specific it is (higher wins); -1 when it does not. */
function specificity(key: string, sessionId: string): number {
  if (key === "") return 0;
  if (key.startsWith("s:")) return key.slice(2) === sessionId ? Number.MAX_SAFE_INTEGER : -1;
  const prefix = key.slice(2);
  return sessionId.startsWith(prefix) ? 1 + prefix.length : -1;
}

/** The store's retention policies, on `ctx`'s storage floor. */
export function retention(ctx: BlobContext): Retention {
  return {
    async set(scope, policy) {
      const key = scopeKey(scope);
      const rules = parsePolicy(policy);
      await ctx.maintenance.putPolicy({ scope: key, ...rules, updatedAt: Date.now() });
    },
    async get(scope) {
      const key = scopeKey(scope);
      const found = (await ctx.maintenance.policies()).find((p) => p.scope === key);
      return found === undefined ? undefined : entry(found).policy;
    },
    async remove(scope) {
      return ctx.maintenance.removePolicy(scopeKey(scope));
    },
    async list() {
      return (await ctx.maintenance.policies()).map(entry);
    },
    async forSession(sessionId) {
      const id = parseSessionId(sessionId);
      let best: StoredPolicy | undefined;
      let bestRank = -1;
      for (const stored of await ctx.maintenance.policies()) {
        const rank = specificity(stored.scope, id);
        if (rank > bestRank) [best, bestRank] = [stored, rank];
      }
      return best === undefined ? undefined : entry(best);
    },
  };
}
