/**
 * CairnSession: a persistent `Session` for the OpenAI Agents SDK (`@openai/agents`)
 * on a cairn store, with the SDK's optional capabilities for atomic history
 * changes (history transactions applied exactly once, function-call rewrites,
 * compaction replacement) and a place for a paused run's `RunState`.
 *
 * Layout: SDK session `id` is the cairn session `openai-agents:<id>`. Every
 * change is one commit of a checkpoint whose slots are
 * - `items`: the whole conversation, an array of AgentInputItem;
 * - `operations`: a Map from each applied history-transaction operation id to
 *   the digest of its transaction;
 * - `execution` (only while one is saved): `JSON.parse(runState.toString())`.
 * Slots a change does not touch are carried over as `unchanged(ref)`, and cairn
 * chunks the encoded item list at content-defined boundaries and moves strings
 * and byte arrays of 16 KiB or more out into blobs of their own, so a commit
 * that appends one item stores about one item, and a large tool output is
 * stored once however many items, checkpoints and run states repeat it.
 *
 * Every commit is a compare-and-swap on the cairn session's head (expectedHead);
 * on CONFLICT the change is re-decided against the new head and retried, so an
 * append, pop or history transaction never loses a concurrent writer's items
 * (other instances, other processes). A compaction or clearSession replaces the
 * conversation and deletes nothing: the state it replaced is the checkpoint
 * before it, readable until retention drops it.
 *
 * Built only on cairn's public API.
 */
import { randomUUID } from "node:crypto";
import {
  RunState,
  applySessionHistoryMutations,
  type Agent,
  type AgentInputItem,
  type SessionHistoryMutation,
  type SessionHistoryRewriteArgs,
  type SessionHistoryRewriteAwareSession,
  type SessionHistoryTransaction,
  type SessionHistoryTransactionArgs,
  type SessionHistoryTransactionAwareSession,
} from "@openai/agents";
import { CairnError, describe } from "../../errors.js";
import {
  isCairnError,
  unchanged,
  type CommitResult,
  type Manifest,
  type Ref,
  type Session as CairnHistory,
  type Snapshots,
  type Store,
} from "../../index.js";
import { detach, digest } from "./values.js";

/** Prefix of the cairn session that holds an SDK session: `openai-agents:<sessionId>`. */
export const SESSION_ID_PREFIX = "openai-agents:";

/** Recorded as the checkpoint's meta; a cairn session holding anything else is refused. */
const FORMAT = "cairn.openai-agents/1";
const ITEMS = "items";
const OPERATIONS = "operations";
const EXECUTION = "execution";
/** cairn session ids are at most 512 characters, the prefix included. */
const MAX_SESSION_ID = 512 - SESSION_ID_PREFIX.length;
const MAX_OPERATION_ID = 1024;
const MAX_LABEL = 1024;
/** Compare-and-swap attempts before a CONFLICT is handed to the caller. */
const MAX_ATTEMPTS = 64;

/** Options for {@link CairnSession}: the shape of the SDK's `MemorySession` options, plus the store. */
export interface CairnSessionOptions {
  /** The cairn store that holds the session (from `openStore`). */
  readonly store: Store;
  /**
   * The SDK session id: a non-empty string of at most 498 characters. Default:
   * a random UUID, as MemorySession does (then read it back with `getSessionId()`
   * to reopen the session later).
   */
  readonly sessionId?: string;
}

/** Options for {@link CairnSession.saveRunState}. */
export interface SaveRunStateOptions {
  /** Label of the history row (default `saveRunState`). */
  readonly label?: string;
}

/** What the adapter knows about the head of its cairn session. */
interface Head {
  /** Sequence number of the head, 0 for an empty session. */
  readonly seq: number;
  /** The head checkpoint's ref, undefined for an empty session. */
  readonly ref: Ref | undefined;
  /** The conversation: the adapter's own copy, never handed out. */
  readonly items: readonly AgentInputItem[];
  /** Applied history-transaction operation ids, to the digest of their transaction. */
  readonly operations: ReadonlyMap<string, string>;
  /** Whether the head has an `execution` slot (a saved RunState). */
  readonly hasExecution: boolean;
  /** The head's manifest, when known (needed to carry slots over unchanged). */
  readonly manifest: Manifest | undefined;
}

/** One change to commit on top of a head. Absent fields are carried over unchanged. */
interface Change {
  readonly label: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly items?: readonly AgentInputItem[];
  readonly operations?: ReadonlyMap<string, string>;
  /** `null` removes the saved RunState, `{ value }` saves one. */
  readonly execution?: { readonly value: unknown } | null;
  /** The commit's id (a history transaction's operation id), so a retry after a lost answer is answered, not applied twice. */
  readonly commitId?: string;
}

interface Decision<T> {
  readonly change?: Change;
  readonly result: T;
}

const EMPTY: Head = { seq: 0, ref: undefined, items: [], operations: new Map(), hasExecution: false, manifest: undefined };

function invalid(argument: string, want: string, actual: unknown): CairnError {
  return new CairnError("INVALID_ARGUMENT", `${argument} must be ${want}, got ${describe(actual)}`, { argument, actual: describe(actual) });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `items` is an array of item objects and returns a detached copy.
 * @throws CairnError INVALID_ARGUMENT (not an array, an item that is not an object),
 *   UNSUPPORTED_VALUE / LIMIT_EXCEEDED (something inside cairn cannot store).
 */
function parseItems(items: unknown, argument: string): AgentInputItem[] {
  if (!Array.isArray(items)) throw invalid(argument, "an array of AgentInputItem objects", items);
  for (let i = 0; i < items.length; i++) {
    if (!isPlainObject(items[i])) throw invalid(`${argument}[${i}]`, "an AgentInputItem object", items[i]);
  }
  return detach(items as AgentInputItem[], `/${argument}`);
}

function parseExactKeys(value: Record<string, unknown>, keys: readonly string[], argument: string): void {
  const actual = Object.keys(value);
  if (actual.length !== keys.length || !keys.every((k) => Object.prototype.hasOwnProperty.call(value, k))) {
    throw new CairnError("INVALID_ARGUMENT", `${argument} must have exactly the fields ${keys.join(", ")}, got ${actual.join(", ") || "none"}`, {
      argument,
    });
  }
}

/** Validates and detaches history-transaction arguments. @throws CairnError INVALID_ARGUMENT. */
function parseTransactionArgs(args: unknown): { operationId: string; transaction: SessionHistoryTransaction } {
  if (!isPlainObject(args)) throw invalid("args", "an object { operationId, transaction }", args);
  const { operationId, transaction } = args;
  if (typeof operationId !== "string" || operationId.trim().length === 0 || operationId.length > MAX_OPERATION_ID || !operationId.isWellFormed()) {
    throw invalid("operationId", `a non-empty string of at most ${MAX_OPERATION_ID} characters`, operationId);
  }
  if (!isPlainObject(transaction)) throw invalid("transaction", "an object", transaction);
  if (transaction.type === "append_items") {
    parseExactKeys(transaction, ["type", "items"], "transaction");
    return { operationId, transaction: { type: "append_items", items: parseItems(transaction.items, "transaction.items") } };
  }
  if (transaction.type === "replace_suffix") {
    parseExactKeys(transaction, ["type", "expectedSuffix", "replacement"], "transaction");
    return {
      operationId,
      transaction: {
        type: "replace_suffix",
        expectedSuffix: parseItems(transaction.expectedSuffix, "transaction.expectedSuffix"),
        replacement: parseItems(transaction.replacement, "transaction.replacement"),
      },
    };
  }
  throw invalid("transaction.type", `"append_items" or "replace_suffix"`, transaction.type);
}

/** Validates and detaches history mutations. @throws CairnError INVALID_ARGUMENT. */
function parseMutations(args: unknown): SessionHistoryMutation[] {
  if (!isPlainObject(args) || !Array.isArray(args.mutations)) throw invalid("args", "an object { mutations: [...] }", args);
  const mutations = args.mutations as unknown[];
  mutations.forEach((m, i) => {
    const at = `mutations[${i}]`;
    if (!isPlainObject(m) || m.type !== "replace_function_call") throw invalid(at, `a { type: "replace_function_call", callId, replacement } object`, m);
    if (typeof m.callId !== "string" || m.callId.length === 0) throw invalid(`${at}.callId`, "a non-empty string", m.callId);
    if (!isPlainObject(m.replacement) || m.replacement.type !== "function_call") {
      throw invalid(`${at}.replacement`, `a function_call item`, m.replacement);
    }
  });
  return detach(mutations as SessionHistoryMutation[], "/mutations");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A persistent conversation history for the OpenAI Agents SDK, stored in cairn.
 * Pass it as `run(agent, input, { session })`; reopen it in another process
 * with the same store and session id.
 *
 * Implements the SDK's `Session` (getSessionId, getItems, addItems, popItem,
 * clearSession) and the optional capabilities `applyHistoryTransaction`
 * (SessionHistoryTransactionAwareSession), `applyHistoryMutations`
 * (SessionHistoryRewriteAwareSession) and `replaceHistoryWithCompaction`,
 * plus {@link saveRunState} / {@link loadRunState} for interrupted runs.
 *
 * Guarantees:
 * - Every change is one cairn commit: all or nothing, durable once the promise
 *   resolves, visible to every other reader of the store.
 * - Changes are compare-and-swap on the head, re-decided and retried on
 *   conflict: an append, pop, history transaction or rewrite never loses a
 *   concurrent writer's items, in this process or others. `clearSession` and
 *   `replaceHistoryWithCompaction` replace whatever the head holds, as the SDK
 *   asks; what they replaced is the checkpoint just before theirs.
 * - Every earlier state stays readable through cairn's history
 *   (`store.session(session.cairnSessionId).history()` / `.at(seq)`, the
 *   conversation in the `items` slot) until a retention policy drops it.
 * - Items come back as they went in: strings (base64 data URLs included),
 *   numbers, nested objects and Uint8Array parts byte for byte (a Buffer comes
 *   back as a Uint8Array); object keys come back sorted.
 * - Bad arguments get CairnError INVALID_ARGUMENT (values cairn cannot store:
 *   UNSUPPORTED_VALUE), and nothing is written.
 *
 * @example
 * const store = await openStore(); // the default file store, .cairn/ under the working directory
 * const session = new CairnSession({ store, sessionId: "user-42" });
 * const result = await run(agent, "Hello", { session });
 */
export class CairnSession implements SessionHistoryTransactionAwareSession, SessionHistoryRewriteAwareSession {
  /** The SDK session id (what `getSessionId()` returns). */
  readonly sessionId: string;
  /** The cairn session that holds it: `openai-agents:<sessionId>`; use it for cairn's history, fork or delete. */
  readonly cairnSessionId: string;
  readonly #store: Store;
  readonly #history: CairnHistory;
  /** The last head this instance read or wrote; reused while the store's head has the same ref. */
  #cache: Head | undefined;
  #lastCommit: CommitResult | undefined;
  /** Serializes this instance's own changes (other writers are handled by compare-and-swap). */
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * Opens (lazily: nothing is read or written here) the session `sessionId` in `store`.
   * @throws CairnError INVALID_ARGUMENT when options is not an object, `store` is not
   *   an opened cairn store, or `sessionId` is not a non-empty string of at most 498 characters.
   */
  constructor(options: CairnSessionOptions) {
    if (!isPlainObject(options)) throw invalid("options", "an object { store, sessionId }", options);
    const { store } = options;
    if (typeof store !== "object" || store === null || typeof store.session !== "function" || typeof store.checkpoints?.manifest !== "function") {
      throw invalid("store", "an opened cairn store (from openStore)", store);
    }
    const sessionId = options.sessionId === undefined ? randomUUID() : options.sessionId;
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID || !sessionId.isWellFormed()) {
      throw invalid("sessionId", `a non-empty string of at most ${MAX_SESSION_ID} characters`, sessionId);
    }
    this.sessionId = sessionId;
    this.cairnSessionId = SESSION_ID_PREFIX + sessionId;
    this.#store = store;
    this.#history = store.session(this.cairnSessionId);
  }

  /**
   * What this instance's most recent write stored (ref, seq, blobsWritten,
   * bytesWritten), undefined before its first write. For observability: the SDK's
   * Session methods return nothing.
   */
  get lastCommit(): CommitResult | undefined {
    return this.#lastCommit;
  }

  /** The SDK session id. Reads nothing. */
  async getSessionId(): Promise<string> {
    return this.sessionId;
  }

  /**
   * The conversation, oldest first; with `limit`, only the newest `limit` items
   * (still oldest first; 0 gives none).
   * Guarantee: reflects every change whose promise resolved, from any writer; the
   * items are fresh copies the caller may change freely.
   * @throws CairnError INVALID_ARGUMENT for a limit that is not a non-negative integer.
   */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw invalid("limit", "a non-negative integer", limit);
    }
    const { items } = await this.#read();
    if (limit === 0) return [];
    return detach(limit === undefined ? items.slice() : items.slice(-limit));
  }

  /**
   * Appends `items` to the conversation in one commit. An empty array writes nothing.
   * Guarantee: all items or none; never overwrites a concurrent writer's items.
   * @throws CairnError INVALID_ARGUMENT (not an array of objects), UNSUPPORTED_VALUE
   *   (a value cairn cannot store, with details.path); nothing is written then.
   */
  async addItems(items: AgentInputItem[]): Promise<void> {
    const added = parseItems(items, "items");
    if (added.length === 0) return;
    await this.#mutate((head) => ({
      change: { label: "addItems", meta: { op: "addItems", count: added.length }, items: [...head.items, ...added] },
      result: undefined,
    }));
  }

  /**
   * Removes and returns the newest item; undefined (and nothing written) when
   * the conversation is empty.
   * Guarantee: with concurrent callers, each item is popped by at most one of them.
   */
  async popItem(): Promise<AgentInputItem | undefined> {
    return (
      await this.#mutate<AgentInputItem | undefined>((head) => {
        const last = head.items.at(-1);
        if (last === undefined) return { result: undefined };
        return { change: { label: "popItem", meta: { op: "popItem" }, items: head.items.slice(0, -1) }, result: detach(last) };
      })
    ).result;
  }

  /**
   * Empties the conversation and drops a saved RunState, in one commit. The
   * cairn history of earlier states stays (delete it with
   * `store.session(session.cairnSessionId).delete()`), and so do the applied
   * history-transaction operation ids, so a retried operation is still applied
   * at most once. Writes nothing when there is nothing to clear.
   */
  async clearSession(): Promise<void> {
    await this.#mutate((head) =>
      head.items.length === 0 && !head.hasExecution
        ? { result: undefined }
        : { change: { label: "clearSession", meta: { op: "clearSession" }, items: [], execution: null }, result: undefined },
    );
  }

  /**
   * Applies one history transaction atomically and exactly once (the SDK's
   * SessionHistoryTransactionAwareSession): `append_items` appends,
   * `replace_suffix` replaces the newest `expectedSuffix.length` items with
   * `replacement` if they equal `expectedSuffix`.
   * Guarantee: the operation id and the history change are committed together;
   * repeating an operation id with the same transaction (from any instance or
   * process, also after clearSession) succeeds without applying it again.
   * @throws CairnError CONFLICT, with nothing changed, when the operation id was
   *   applied with a different transaction or the suffix does not match;
   *   INVALID_ARGUMENT for malformed arguments.
   */
  async applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void> {
    const { operationId, transaction } = parseTransactionArgs(args);
    const id = digest(transaction);
    await this.#mutate((head) => {
      const applied = head.operations.get(operationId);
      if (applied !== undefined) {
        if (applied === id) return { result: undefined };
        throw new CairnError("CONFLICT", `history operation ${JSON.stringify(operationId)} was already applied with a different transaction`, {
          session: this.cairnSessionId,
          operationId,
        });
      }
      let items: AgentInputItem[];
      if (transaction.type === "append_items") {
        items = [...head.items, ...transaction.items];
      } else {
        const start = head.items.length - transaction.expectedSuffix.length;
        if (start < 0 || digest(head.items.slice(start)) !== digest(transaction.expectedSuffix)) {
          throw new CairnError("CONFLICT", `session history suffix no longer matches the transaction ${JSON.stringify(operationId)}`, {
            session: this.cairnSessionId,
            operationId,
          });
        }
        items = [...head.items.slice(0, start), ...transaction.replacement];
      }
      const operations = new Map(head.operations).set(operationId, id);
      return {
        change: {
          label: "applyHistoryTransaction",
          meta: { op: "applyHistoryTransaction", operationId, type: transaction.type },
          items,
          operations,
          commitId: `operation:${operationId}`,
        },
        result: undefined,
      };
    });
  }

  /**
   * Rewrites stored items (the SDK's SessionHistoryRewriteAwareSession): each
   * `replace_function_call` mutation replaces the function call with its callId
   * (and drops duplicates of it), as the SDK's own `applySessionHistoryMutations`.
   * One commit; nothing is written when no stored call matches.
   * @throws CairnError INVALID_ARGUMENT for malformed mutations.
   */
  async applyHistoryMutations(args: SessionHistoryRewriteArgs): Promise<void> {
    const mutations = parseMutations(args);
    if (mutations.length === 0) return;
    const callIds = new Set(mutations.map((m) => m.callId));
    await this.#mutate((head) => {
      const hit = head.items.some((item) => item.type === "function_call" && callIds.has((item as { callId: string }).callId));
      if (!hit) return { result: undefined };
      const items = applySessionHistoryMutations(head.items.slice(), mutations);
      return { change: { label: "applyHistoryMutations", meta: { op: "applyHistoryMutations", count: mutations.length }, items }, result: undefined };
    });
  }

  /**
   * Replaces the conversation with `items`: a compaction item
   * (`{ type: "compaction", encrypted_content }`) followed by the suffix the
   * compaction retained. The SDK's runner calls it when a model response carries
   * a compaction item. One commit, so the history is never seen half-rebuilt; a
   * saved RunState and the applied operation ids are kept.
   *
   * Guarantees:
   * - The new head holds exactly `items` (what `getItems()` returns next); items
   *   added later append after them.
   * - Nothing is deleted. The conversation it replaced is the checkpoint just
   *   before the new one (history row `seq - 1`; the compaction's row has label
   *   `replaceHistoryWithCompaction`), and reads back exactly with
   *   `store.session(session.cairnSessionId).at(seq - 1, { slots: ["items"] })`
   *   until retention (gc `keepLast` / `olderThan`, a stored retention policy)
   *   drops that row. gc without retention keeps every row and all it reaches.
   * - As the SDK's `Session` contract says ("replace the logical session history
   *   with a compaction marker and its retained suffix"), it replaces the whole
   *   conversation the head holds when it commits: items the caller did not
   *   compact (older than a `getItems(limit)` window it compacted, or added by
   *   another writer after it read) leave the head too. They are all in that
   *   checkpoint `seq - 1`, which is exactly the state the replacement was
   *   committed on (compare-and-swap).
   * @throws CairnError INVALID_ARGUMENT, with nothing written, when `items` is not
   *   an array of objects whose first item is a compaction item with a string
   *   `encrypted_content` (a list without that replay boundary would drop the
   *   history without a summary of it); UNSUPPORTED_VALUE (a value cairn cannot store).
   */
  async replaceHistoryWithCompaction(items: AgentInputItem[]): Promise<void> {
    const replacement = parseItems(items, "items");
    const first = replacement[0] as { type?: unknown; encrypted_content?: unknown } | undefined;
    if (first === undefined || first.type !== "compaction" || typeof first.encrypted_content !== "string") {
      throw invalid("items[0]", `a compaction item { type: "compaction", encrypted_content: string }`, items[0]);
    }
    await this.#mutate(() => ({
      change: { label: "replaceHistoryWithCompaction", meta: { op: "replaceHistoryWithCompaction", count: replacement.length }, items: replacement },
      result: undefined,
    }));
  }

  /**
   * Saves a run's state (typically one stopped for tool approval) as the
   * `execution` snapshot of the session's next checkpoint, next to the
   * conversation (carried over unchanged). The state is stored as the object
   * `JSON.parse(state.toString())`, not as one string, so each large string in it
   * (a tool output the run repeats from the history) is a blob of its own, shared
   * with the conversation items and with every other state that holds it.
   * Guarantee: one commit; the latest saved state is what {@link loadRunState} returns.
   * @returns The commit (its `bytesWritten` counts only bytes the store lacked).
   * @throws CairnError INVALID_ARGUMENT when `state` is neither a RunState nor its
   *   `toString()` output.
   */
  async saveRunState(state: RunState<any, any> | string, options: SaveRunStateOptions = {}): Promise<CommitResult> {
    let serialized: unknown;
    if (typeof state === "string") serialized = state;
    else if (state instanceof RunState || (typeof state === "object" && state !== null && typeof (state as { toString?: unknown }).toString === "function")) {
      serialized = (state as RunState<any, any>).toString();
    }
    let value: unknown;
    try {
      value = typeof serialized === "string" ? JSON.parse(serialized) : undefined;
    } catch {
      value = undefined;
    }
    if (!isPlainObject(value) || !("currentAgent" in value)) throw invalid("state", "a RunState or the string from its toString()", state);
    if (!isPlainObject(options)) throw invalid("options", "an options object", options);
    const label = options.label ?? "saveRunState";
    if (typeof label !== "string" || label.length > MAX_LABEL) throw invalid("options.label", `a string of at most ${MAX_LABEL} characters`, label);
    const { commit } = await this.#mutate(() => ({ change: { label, meta: { op: "saveRunState" }, execution: { value } }, result: undefined }));
    return commit!;
  }

  /**
   * The last RunState saved with {@link saveRunState} (and not cleared since),
   * rebuilt with `RunState.fromString(agent, ...)`; undefined when there is none.
   * Reads only the `execution` snapshot.
   */
  async loadRunState<TContext = unknown, TAgent extends Agent<any, any> = Agent<any, any>>(agent: TAgent): Promise<RunState<TContext, TAgent> | undefined> {
    const checkpoint = await this.#history.latest({ slots: [EXECUTION] });
    if (checkpoint === undefined) return undefined;
    this.#checkFormat(checkpoint.meta);
    if (!(EXECUTION in checkpoint.snapshots)) return undefined;
    return RunState.fromString<TContext, TAgent>(agent, JSON.stringify(checkpoint.snapshots[EXECUTION]));
  }

  /** Drops the saved RunState (one commit, conversation unchanged); writes nothing when there is none. */
  async clearRunState(): Promise<void> {
    await this.#mutate((head) =>
      head.hasExecution ? { change: { label: "clearRunState", meta: { op: "clearRunState" }, execution: null }, result: undefined } : { result: undefined },
    );
  }

  /** Refuses a cairn session written by something other than this adapter. */
  #checkFormat(meta: unknown): void {
    if (!isPlainObject(meta) || meta.format !== FORMAT) {
      throw new CairnError("INVALID_ARGUMENT", `cairn session ${this.cairnSessionId} does not hold an OpenAI Agents session (format ${FORMAT})`, {
        argument: "sessionId",
        session: this.cairnSessionId,
      });
    }
  }

  /**
   * The head: the cached one while the store's head has its ref (equal refs are
   * equal content), else read (items and operations only) from the store.
   */
  async #read(): Promise<Head> {
    const [row] = await this.#history.history({ limit: 1 });
    if (row === undefined) return EMPTY;
    const cached = this.#cache;
    if (cached !== undefined && cached.ref === row.ref) return cached.seq === row.seq ? cached : { ...cached, seq: row.seq };
    const checkpoint = await this.#history.latest({ slots: [ITEMS, OPERATIONS] });
    if (checkpoint === undefined) return EMPTY;
    this.#checkFormat(checkpoint.meta);
    const items = checkpoint.snapshots[ITEMS];
    const operations = checkpoint.snapshots[OPERATIONS];
    if (!Array.isArray(items) || !(operations instanceof Map)) {
      throw new CairnError("INTEGRITY", `checkpoint ${checkpoint.ref} of ${this.cairnSessionId} lacks its items or operations`, {
        session: this.cairnSessionId,
        ref: checkpoint.ref,
      });
    }
    const head: Head = {
      seq: checkpoint.seq,
      ref: checkpoint.ref,
      items: items as AgentInputItem[],
      operations: operations as Map<string, string>,
      hasExecution: EXECUTION in checkpoint.manifest.slots,
      manifest: checkpoint.manifest,
    };
    this.#cache = head;
    return head;
  }

  /**
   * Runs `decide` against the current head and commits its change with the head
   * as expectedHead; on CONFLICT, decides again against the new head. Errors
   * thrown by `decide` end the mutation with nothing written.
   */
  #mutate<T>(decide: (head: Head) => Decision<T>): Promise<{ result: T; commit: CommitResult | undefined }> {
    const run = async () => {
      for (let attempt = 1; ; attempt++) {
        const head = await this.#read();
        const { change, result } = decide(head);
        if (change === undefined) return { result, commit: undefined };
        try {
          return { result, commit: await this.#commit(head, change) };
        } catch (error) {
          if (!isCairnError(error, "CONFLICT") || attempt >= MAX_ATTEMPTS) throw error;
          await sleep(Math.random() * Math.min(50, 2 ** attempt));
        }
      }
    };
    const done = this.#tail.then(run, run);
    this.#tail = done.catch(() => undefined);
    return done;
  }

  /**
   * Commits `change` on top of `head` (compare-and-swap). The item list and a
   * saved RunState, when untouched, are carried over by ref (`unchanged`), read
   * from the head's manifest; the operation-id map is small and written as is.
   */
  async #commit(head: Head, change: Change): Promise<CommitResult> {
    let manifest = head.manifest;
    const carry = async (slot: string, fallback: unknown): Promise<unknown> => {
      if (head.ref === undefined) return fallback;
      manifest ??= await this.#store.checkpoints.manifest(head.ref);
      const ref = manifest.slots[slot];
      return ref === undefined ? fallback : unchanged(ref);
    };
    const items = change.items ?? head.items;
    const operations = change.operations ?? head.operations;
    const snapshots: Snapshots = {
      [ITEMS]: change.items ?? (await carry(ITEMS, head.items)),
      [OPERATIONS]: operations,
    };
    let hasExecution = head.hasExecution;
    if (change.execution === null) {
      hasExecution = false;
    } else if (change.execution !== undefined) {
      snapshots[EXECUTION] = change.execution.value;
      hasExecution = true;
    } else if (head.hasExecution) {
      const carried = await carry(EXECUTION, undefined);
      if (carried === undefined) hasExecution = false;
      else snapshots[EXECUTION] = carried;
    }
    const result = await this.#history.commit(
      { turn: items.length, snapshots, meta: { format: FORMAT } },
      { expectedHead: head.seq, label: change.label, meta: change.meta, ...(change.commitId === undefined ? {} : { commitId: change.commitId }) },
    );
    this.#cache = { seq: result.seq, ref: result.ref, items, operations, hasExecution, manifest: undefined };
    this.#lastCommit = result;
    return result;
  }
}
