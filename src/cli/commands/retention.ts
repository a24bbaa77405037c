/**
 * Retention policies: `cairn retention` lists them, `set` and `rm` change them,
 * `show <session>` says which one applies to a session. gc applies them
 * (`cairn gc --dry-run` shows what each would drop).
 */
import { InvalidArgumentError, type Command } from "commander";
import type { RetentionEntry, RetentionPolicy, RetentionScope } from "../../index.js";
import { iso, parseDuration, parsePositiveInt, print, printJson, storeCommand, table, usage, withStore, type StoreCommandOptions } from "./common.js";

interface ScopeOptions {
  readonly default?: boolean;
  readonly session?: string;
  readonly prefix?: string;
}

/** A duration option for a policy: like --grace, but at least 1 ms. */
function parsePolicyDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms < 1) throw new InvalidArgumentError(`expected a duration above 0, like 7d or 12h, got ${JSON.stringify(text)}`);
  return ms;
}

/** The one scope the options name. @throws a usage error (exit 2) for none or several. */
function scopeFrom(opts: ScopeOptions): RetentionScope {
  const given = [opts.default ? "default" : undefined, opts.session, opts.prefix].filter((x) => x !== undefined);
  if (given.length !== 1) throw usage("name exactly one of --default, --session <id>, --prefix <p>");
  if (opts.default) return "default";
  return opts.session !== undefined ? { session: opts.session } : { prefix: opts.prefix! };
}

/** "default", "session chat-42", "prefix chat-". */
export function describeScope(scope: RetentionScope): string {
  if (scope === "default") return "default";
  return "session" in scope ? `session ${scope.session}` : `prefix ${scope.prefix}`;
}

/** The largest whole unit: 7d, 12h, 90m, 1500ms. */
function formatDuration(ms: number): string {
  for (const [unit, size] of [["w", 604_800_000], ["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** "keep last 5, keep for 7d, expire after 30d", or "keep everything". */
export function describePolicy(policy: RetentionPolicy): string {
  const rules = [
    policy.keepLast === undefined ? undefined : `keep last ${policy.keepLast}`,
    policy.keepFor === undefined ? undefined : `keep for ${formatDuration(policy.keepFor)}`,
    policy.expireAfter === undefined ? undefined : `expire after ${formatDuration(policy.expireAfter)}`,
  ].filter((x) => x !== undefined);
  return rules.length === 0 ? "keep everything" : rules.join(", ");
}

const jsonEntry = (entry: RetentionEntry) => ({ scope: entry.scope, policy: entry.policy, updatedAt: iso(entry.updatedAt) });

const scopeOptions = (command: Command) =>
  command
    .option("--default", "the store's default policy (every session no other policy covers)")
    .option("--session <id>", "one session")
    .option("--prefix <p>", "the sessions whose id starts with p");

/** Registers `cairn retention` and its subcommands on `program`. */
export function registerRetentionCommands(program: Command): void {
  const retention = storeCommand(program.command("retention"))
    .description("retention policies gc applies: keep the last N, keep for a time, expire idle sessions")
    // `cairn retention set --url X`: options after a subcommand's name are the subcommand's.
    .enablePositionalOptions()
    .action((opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const entries = await store.retention.list();
        if (opts.json) return printJson(entries.map(jsonEntry));
        if (entries.length === 0) return print("no retention policies: gc keeps every checkpoint unless told --keep-last or --older-than");
        print(...table(["SCOPE", "POLICY", "SET"], entries.map((e) => [describeScope(e.scope), describePolicy(e.policy), iso(e.updatedAt) ?? ""])));
      }),
    );

  scopeOptions(storeCommand(retention.command("set")))
    .description("set the policy of one scope (replacing it); a policy with no rule keeps everything")
    .option("--keep-last <n>", "keep the newest n checkpoints of each session", parsePositiveInt)
    .option("--keep-for <duration>", "keep checkpoints younger than this (7d, 12h, ...)", parsePolicyDuration)
    .option("--expire-after <duration>", "remove a whole session once its newest checkpoint is older than this", parsePolicyDuration)
    .action((opts: StoreCommandOptions & ScopeOptions & { keepLast?: number; keepFor?: number; expireAfter?: number }) =>
      withStore(opts, async (store) => {
        const scope = scopeFrom(opts);
        const policy: RetentionPolicy = {
          ...(opts.keepLast === undefined ? {} : { keepLast: opts.keepLast }),
          ...(opts.keepFor === undefined ? {} : { keepFor: opts.keepFor }),
          ...(opts.expireAfter === undefined ? {} : { expireAfter: opts.expireAfter }),
        };
        await store.retention.set(scope, policy);
        if (opts.json) return printJson({ scope, policy });
        print(`${describeScope(scope)}: ${describePolicy(policy)} (applied by the next gc; cairn gc --dry-run shows what it drops)`);
      }),
    );

  scopeOptions(storeCommand(retention.command("rm")))
    .description("remove the policy of one scope")
    .action((opts: StoreCommandOptions & ScopeOptions) =>
      withStore(opts, async (store) => {
        const scope = scopeFrom(opts);
        const removed = await store.retention.remove(scope);
        if (opts.json) return printJson({ scope, removed });
        print(removed ? `${describeScope(scope)}: removed` : `${describeScope(scope)}: had no policy`);
        return removed ? 0 : 1;
      }),
    );

  storeCommand(retention.command("show"))
    .description("the policy gc applies to a session, and where it comes from")
    .argument("<session>", "the session id")
    .action((session: string, opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const entry = await store.retention.forSession(session);
        if (opts.json) return printJson(entry === undefined ? null : jsonEntry(entry));
        print(entry === undefined ? `${session}: no policy (gc keeps every checkpoint)` : `${session}: ${describePolicy(entry.policy)} (from ${describeScope(entry.scope)})`);
      }),
    );
}
