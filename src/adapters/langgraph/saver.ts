/**
 * CairnSaver: a LangGraph checkpointer (`BaseCheckpointSaver`) on a cairn store.
 *
 * Mapping (see docs/adapters.md, "LangGraph"):
 * - one cairn session per (thread_id, checkpoint_ns), one commit per LangGraph
 *   checkpoint, labelled with the checkpoint id; the history row's meta holds the
 *   parent id and the serialized metadata, so `list()` filters without a blob;
 * - one slot per channel (`ch:<name>`) holding its value, and the checkpoint's own
 *   fields in slot `checkpoint`; a channel whose version did not change is passed
 *   as `unchanged(parent's slot ref)`, so it costs nothing, and equal values in
 *   any thread share one blob;
 * - pending writes in a second session per (thread_id, checkpoint_ns), one commit
 *   per `putWrites` call labelled with the checkpoint id; LangGraph's semantics
 *   (special channels overwrite, others insert-if-absent per (task_id, idx)) are
 *   applied when reading, in commit order;
 * - retention (LangGraph Python's prune, copy_thread and delete_for_runs, which
 *   JS's BaseCheckpointSaver 1.2.2 lacks) forks sessions and drops history rows:
 *   blobs are never copied, and left to cairn's gc. `getDeltaChannelHistory` is
 *   not overridden: the base class's walk of `getTuple` + `parentConfig` serves.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  maxChannelVersion,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { isDeepStrictEqual } from "node:util";
import { CairnError, describe, isCairnError } from "../../errors.js";
import { unchanged, type HistoryEntry, type Ref, type Store } from "../../index.js";
import { CONTEXT } from "../../store.js";
import type { LabelledHistoryStorage } from "../../storage/labelled-history-storage.js";
import { DecodeMemo, ValueCodec, type PartRefs, type Serialized } from "./codec.js";
import { compareCodePoints } from "../../storage/labelled-history-storage.js";
import { historyEntry } from "../../session/session.js";
import {
  INLINE_CHARS,
  MAX_CHECKPOINT_ID,
  SessionIds,
  channelSlot,
  elementSlot,
  pageSlot,
  partSlotsOf,
  parseOwnFields,
  parseRowMeta,
  parseWritesMeta,
  writeSlot,
  type ChannelVersion,
  type OwnFields,
  type Target,
  type WritesMeta,
} from "./layout.js";

/** Options for {@link CairnSaver}. */
export interface CairnSaverOptions {
  /** LangGraph serializer for channel values, writes and metadata. Default: LangGraph's `JsonPlusSerializer`. */
  readonly serde?: SerializerProtocol;
  /**
   * Prefix of the cairn session ids this saver uses (`<prefix>/c/...` for
   * checkpoints, `<prefix>/w/...` for pending writes). Default `langgraph`.
   */
  readonly prefix?: string;
}

/** Options for {@link CairnSaver.prune}. */
export interface PruneOptions {
  /**
   * `"keep_latest"` (default): keep the latest checkpoint of every namespace (and
   * what it needs to resume); `"delete"`: delete the threads, as `deleteThread`.
   */
  readonly strategy?: "keep_latest" | "delete";
}

/** Rows read per query when paging through a session's history. */
const PAGE = 128;
/** Sessions whose latest written or read checkpoint the saver remembers (to put its child without reading it). */
const KNOWN_SESSIONS = 256;
/** The checkpoint fields stored in their own right; any other field goes through the serde. */
const OWN_KEYS = new Set(["v", "id", "ts", "channel_values", "channel_versions", "versions_seen"]);

/** A checkpoint this saver has seen: what a child needs to pass its unchanged channels on. */
interface Known {
  readonly id: string;
  readonly ref: Ref;
  readonly stored: Readonly<Record<string, ChannelVersion>>;
  /** Its values kept inline, by channel. */
  readonly inline: Readonly<Record<string, Serialized>>;
  /**
   * Refs of its slots: all of them when `complete`; else all but the value slots
   * of the channels it stored anew (so a known value slot's page and element slots are known too).
   */
  readonly slots: Readonly<Record<string, Ref>>;
  readonly complete: boolean;
}

/** A row `list()` found: a checkpoint's history entry, and the manifests of its pending writes. */
interface ListedRow {
  readonly target: Target;
  readonly entry: HistoryEntry;
  readonly writes: readonly Ref[];
}

/** One pending write, resolved. */
interface ResolvedWrite {
  readonly task: string;
  readonly path: string;
  readonly channel: string;
  readonly idx: number;
  /** The slot of its value, and the slots of the writes commit it is in. */
  readonly slot: string;
  readonly slots: Readonly<Record<string, Ref>>;
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

function invalid(argument: string, problem: string, actual?: unknown): CairnError {
  return new CairnError("INVALID_ARGUMENT", `${argument} ${problem}${actual === undefined ? "" : `, got ${describe(actual)}`}`, { argument });
}

/**
 * A LangGraph checkpointer on a cairn store.
 *
 * @example
 * ```ts
 * import { openStore } from "cairn-store";
 * import { CairnSaver } from "cairn-store/langgraph";
 * const store = await openStore(); // the default file store, .cairn/ under the working directory
 * const graph = workflow.compile({ checkpointer: new CairnSaver(store) });
 * await graph.invoke(input, { configurable: { thread_id: "t1" } });
 * ```
 *
 * Guarantees: every `put` and every `putWrites` becomes visible in one cairn
 * commit (all or nothing, durable once it returns, never a dangling reference;
 * new list pages and large list elements are stored just before it, in
 * transactions of their own, and stay unreferenced if the commit never
 * happens); a channel whose version did not change is not stored again; a value,
 * list page or large list element equal to one stored before, in any thread, is
 * not stored again (values of at most 512 characters live in the checkpoint's
 * manifest); `list()` filters on metadata without reading a blob and reads only
 * the channel values of the tuples it yields. The store stays the caller's: the
 * saver never closes it.
 *
 * Process-local caches (none is needed for correctness): the serialization of
 * each list element, reused while a walk of its object graph finds it unchanged;
 * the refs of stored pages; the last checkpoint put or read per thread namespace
 * (so a child is put without reading its parent); up to 32 MiB of list pages
 * read back, by ref.
 */
export class CairnSaver extends BaseCheckpointSaver {
  /** The cairn store the checkpoints live in. */
  readonly store: Store;
  /** The prefix of this saver's session ids. */
  readonly prefix: string;
  readonly #ids: SessionIds;
  readonly #codec: ValueCodec;
  readonly #known = new Map<string, Known>();

  /**
   * A saver on `store` (opened with cairn's `openStore`).
   * @throws CairnError INVALID_ARGUMENT when `store` is not a cairn store or `prefix` is not a
   *   non-empty string of at most 64 characters.
   */
  constructor(store: Store, options: CairnSaverOptions = {}) {
    super(options?.serde);
    if (typeof store !== "object" || store === null || typeof store.session !== "function" || !(CONTEXT in store)) {
      throw invalid("store", "must be a cairn store from openStore()", store);
    }
    const prefix = options?.prefix ?? "langgraph";
    if (typeof prefix !== "string" || prefix.length === 0 || prefix.length > 64 || !prefix.isWellFormed()) {
      throw invalid("prefix", "must be a non-empty string of at most 64 characters", prefix);
    }
    this.store = store;
    this.prefix = prefix;
    this.#ids = new SessionIds(prefix);
    this.#codec = new ValueCodec(this.serde, store);
  }

  /**
   * The checkpoint tuple for `config`: the one with `configurable.checkpoint_id`
   * if given, else the thread namespace's latest (greatest checkpoint id), with its
   * metadata, parent config and pending writes (in `writesSortKey` order).
   * Undefined when there is no such checkpoint or no `thread_id`.
   * Guarantee: every blob read is verified against its hash.
   * @throws CairnError INVALID_ARGUMENT (malformed ids), INTEGRITY, DATABASE, CLOSED.
   */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const target = this.#target(config, false);
    if (target === undefined) return undefined;
    const id = checkpointIdOf(config, "config.configurable.checkpoint_id");
    const sessionId = this.#ids.checkpoints(target);
    const labels = this.#labels();
    const row = id === undefined ? (await labels.labelPage(sessionId, { limit: 1 }))[0] : await labels.newestWithLabel(sessionId, id);
    if (row === undefined) return undefined;
    return this.#tuple(target, historyEntry(row), { remember: true });
  }

  /**
   * Checkpoint tuples newest first (greatest checkpoint id first; across thread
   * namespaces merged by id), streamed: `config.configurable.thread_id` and
   * `checkpoint_ns` narrow the search when given (either may be left out to list
   * across threads or namespaces), `checkpoint_id` picks one checkpoint;
   * `options.before` keeps ids below its checkpoint id, `options.filter` keeps
   * tuples whose metadata has each given key equal (deeply) to the given value,
   * `options.limit` stops after that many.
   * Guarantee: rows come from the history table (no blob read) until a tuple is
   * yielded; only the yielded tuples' values are read. Tuples of one call may share
   * message objects decoded from the same stored text, as consecutive states of a
   * live graph do; arrays and all other objects are their own.
   * @throws CairnError INVALID_ARGUMENT (bad limit, filter or ids), INTEGRITY, DATABASE, CLOSED.
   */
  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const { limit, filter } = parseListOptions(options);
    const configurable = (config ?? {}).configurable ?? {};
    const threadRaw: unknown = configurable.thread_id;
    const thread = threadRaw === undefined || threadRaw === null ? undefined : parseThread(threadRaw);
    const nsRaw: unknown = configurable.checkpoint_ns;
    const ns = nsRaw === undefined || nsRaw === null ? undefined : parseNs(nsRaw);
    const onlyId = checkpointIdOf(config, "config.configurable.checkpoint_id");
    const beforeId = options?.before ? checkpointIdOf(options.before, "options.before.configurable.checkpoint_id") : undefined;
    if (limit === 0) return;

    let sessions: string[];
    if (thread !== undefined && ns !== undefined) {
      sessions = [this.#ids.checkpoints({ thread, ns })];
    } else {
      const [lo, hi] = this.#ids.range("c", thread);
      sessions = (await this.#labels().sessionIdsInRange(lo, hi)).filter((id) => {
        const target = this.#ids.parse("c", id);
        return target !== undefined && (ns === undefined || target.ns === ns);
      });
    }

    const memo = new DecodeMemo();
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    for await (const { target, entry, writes } of this.#merged(sessions, beforeId, onlyId)) {
      let metadata: unknown;
      if (filter !== undefined) {
        metadata = await this.#codec.deserialize(parseRowMeta(entry.meta).metadata);
        if (!matchesFilter(metadata, filter)) continue;
      }
      yield await this.#tuple(target, entry, { memo, metadata, writes });
      if (--remaining <= 0) return;
    }
  }

  /**
   * Stores `checkpoint` as the next entry of its thread namespace, labelled with
   * `checkpoint.id`, with `config.configurable.checkpoint_id` as its parent. Only
   * the channels in `newVersions` are stored anew; a channel not in it keeps the
   * value its parent stored at the same version (no bytes written), and has no
   * value if the parent stored none at that version.
   * Guarantee: visible in one cairn commit, all or nothing; durable when this returns.
   * @returns `{ configurable: { thread_id, checkpoint_ns, checkpoint_id } }` of the new checkpoint.
   * @throws CairnError INVALID_ARGUMENT (no thread_id, no checkpoint id, malformed
   *   arguments), UNSUPPORTED_VALUE, LIMIT_EXCEEDED, DATABASE, CLOSED; nothing is written then.
   */
  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    return this.#retryingGone(() => this.#put(config, checkpoint, metadata, newVersions));
  }

  async #put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const target = this.#target(config, true)!;
    if (typeof checkpoint !== "object" || checkpoint === null) throw invalid("checkpoint", "must be a LangGraph checkpoint object", checkpoint);
    const id = parseCheckpointId(checkpoint.id, "checkpoint.id");
    if (id === undefined) throw invalid("checkpoint.id", "is required");
    const parentId = checkpointIdOf(config, "config.configurable.checkpoint_id");
    const changed: Record<string, unknown> = newVersions ?? {};
    if (typeof changed !== "object" || Array.isArray(changed)) throw invalid("newVersions", "must be an object of channel versions", newVersions);
    const values: Record<string, unknown> = checkpoint.channel_values ?? {};
    const versions: Record<string, ChannelVersion> = checkpoint.channel_versions ?? {};
    if (typeof values !== "object" || typeof versions !== "object") throw invalid("checkpoint", "must have object channel_values and channel_versions");

    const sessionId = this.#ids.checkpoints(target);
    const channels = new Set([...Object.keys(versions), ...Object.keys(changed)]);
    const carriesOver = [...channels].some((channel) => !hasOwn(changed, channel));
    const parent = parentId !== undefined && carriesOver ? await this.#parent(sessionId, parentId) : undefined;

    const snapshots: Record<string, unknown> = {};
    const stored: Record<string, ChannelVersion> = {};
    const inline: Record<string, Serialized> = {};
    /** Slot refs the saver will know without reading the new manifest: all but the new value slots. */
    const knownSlots: Record<string, Ref> = {};
    const encoding: Array<Promise<void>> = [];
    const carried: string[] = [];
    let newSlots = false;
    for (const channel of channels) {
      if (hasOwn(changed, channel)) {
        if (!hasOwn(values, channel)) continue; // written empty at this version
        const slot = channelSlot(channel);
        stored[channel] = (hasOwn(versions, channel) ? versions[channel] : changed[channel]) as ChannelVersion;
        encoding.push(
          this.#codec.encode(values[channel]).then(({ stored: value, pages, elements }) => {
            if ("value" in value && sizeOf(value.value) <= INLINE_CHARS) {
              inline[channel] = value.value;
              return;
            }
            newSlots = true;
            snapshots[slot] = value;
            pages.forEach((ref, page) => {
              snapshots[pageSlot(slot, page)] = unchanged(ref);
              knownSlots[pageSlot(slot, page)] = ref;
            });
            for (const [index, ref] of elements) {
              snapshots[elementSlot(slot, index)] = unchanged(ref);
              knownSlots[elementSlot(slot, index)] = ref;
            }
          }),
        );
      } else if (parent !== undefined && hasOwn(versions, channel) && hasOwn(parent.stored, channel) && parent.stored[channel] === versions[channel]) {
        if (hasOwn(parent.inline, channel)) {
          stored[channel] = versions[channel]!;
          inline[channel] = parent.inline[channel]!;
        } else {
          carried.push(channel);
        }
      }
    }
    if (parent !== undefined && carried.length > 0) {
      const slots = await this.#slotsOf(sessionId, parent, carried.map(channelSlot));
      for (const channel of carried) {
        const slot = channelSlot(channel);
        const ref = slots[slot];
        if (ref === undefined) continue;
        stored[channel] = versions[channel]!;
        for (const [name, slotRef] of [[slot, ref] as [string, Ref], ...partSlotsOf(slots, slot)]) {
          snapshots[name] = unchanged(slotRef);
          knownSlots[name] = slotRef;
        }
      }
    }
    const extraKeys = Object.keys(checkpoint).filter((key) => !OWN_KEYS.has(key));
    const [serializedMetadata, extra] = await Promise.all([
      this.#codec.serialize(metadata),
      extraKeys.length === 0
        ? undefined
        : this.#codec.serialize(Object.fromEntries(extraKeys.map((key) => [key, (checkpoint as unknown as Record<string, unknown>)[key]]))),
      ...encoding,
    ]);
    const own: OwnFields = {
      v: checkpoint.v,
      ts: checkpoint.ts,
      channel_versions: versions,
      versions_seen: checkpoint.versions_seen ?? {},
      stored,
      ...(Object.keys(inline).length === 0 ? {} : { inline }),
      ...(extra === undefined ? {} : { extra }),
    };
    const result = await this.store.session(sessionId).commit(
      { turn: turnOf(metadata), snapshots, meta: own },
      // The checkpoint id is the commit's id: a put retried after an answer lost on the way back is answered, not stored twice.
      { label: id, meta: { parent: parentId ?? null, metadata: serializedMetadata }, commitId: `checkpoint:${id}` },
    );
    this.#remember(sessionId, { id, ref: result.ref, stored, inline, slots: knownSlots, complete: !newSlots });
    return { configurable: { thread_id: target.thread, checkpoint_ns: target.ns, checkpoint_id: id } };
  }

  /**
   * Stores the writes of task `taskId` against checkpoint
   * `config.configurable.checkpoint_id`. Read back (by `getTuple` and `list`) with
   * LangGraph's semantics: a write to a special channel (`WRITES_IDX_MAP`:
   * errors, interrupts, resumes, scheduled) replaces an earlier one of the same
   * task; any other write is kept only if its (task_id, index) was not written
   * before; all ordered by `writesSortKey(taskPath, taskId, idx)`.
   * Guarantee: visible in one cairn commit, all or nothing; durable when this
   * returns; safe to call concurrently (writes are appended, never read-modified-written).
   * @throws CairnError INVALID_ARGUMENT (no thread_id or checkpoint_id, malformed
   *   writes), UNSUPPORTED_VALUE, DATABASE, CLOSED; nothing is written then.
   */
  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    return this.#retryingGone(() => this.#putWrites(config, writes, taskId, taskPath));
  }

  async #putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const target = this.#target(config, true)!;
    const id = checkpointIdOf(config, "config.configurable.checkpoint_id");
    if (id === undefined) throw invalid("config.configurable.checkpoint_id", "is required to put writes");
    if (typeof taskId !== "string") throw invalid("taskId", "must be a string", taskId);
    if (taskPath !== undefined && typeof taskPath !== "string") throw invalid("taskPath", "must be a string", taskPath);
    if (!Array.isArray(writes)) throw invalid("writes", "must be an array of [channel, value]", writes);
    writes.forEach((write, i) => {
      if (!Array.isArray(write) || typeof write[0] !== "string") throw invalid(`writes[${i}]`, "must be a [channel, value] pair", write);
    });
    if (writes.length === 0) return;
    const encoded = await Promise.all(writes.map(([, value]) => this.#codec.encode(value)));
    const snapshots: Record<string, unknown> = {};
    encoded.forEach(({ stored, pages, elements }, i) => {
      snapshots[writeSlot(i)] = stored;
      pages.forEach((ref, page) => (snapshots[pageSlot(writeSlot(i), page)] = unchanged(ref)));
      for (const [index, ref] of elements) snapshots[elementSlot(writeSlot(i), index)] = unchanged(ref);
    });
    const meta: WritesMeta = {
      task: taskId,
      path: taskPath ?? "",
      writes: writes.map(([channel], i) => [channel, hasOwn(WRITES_IDX_MAP, channel) ? WRITES_IDX_MAP[channel]! : i]),
    };
    await this.store.session(this.#ids.writes(target)).commit({ turn: 0, snapshots, meta }, { label: id });
  }

  /**
   * Deletes every checkpoint and pending write of `threadId`, in every namespace.
   * Guarantee: each namespace's history goes in one transaction; once this returns
   * nothing of the thread is listed or returned. Blobs shared with other threads
   * stay; the thread's own become unreachable, for cairn's gc.
   * @throws CairnError INVALID_ARGUMENT, DATABASE, CLOSED.
   */
  async deleteThread(threadId: string): Promise<void> {
    const thread = parseThread(threadId);
    for (const kind of ["c", "w"] as const) {
      const [lo, hi] = this.#ids.range(kind, thread);
      for (const id of await this.#labels().sessionIdsInRange(lo, hi)) {
        if (this.#ids.parse(kind, id)?.thread !== thread) continue;
        await this.store.session(id).delete();
        this.#known.delete(id);
      }
    }
  }

  /**
   * Prunes the checkpoints of `threadIds` (LangGraph's `prune(thread_ids, strategy)`).
   *
   * `"keep_latest"` (the default) keeps, in every namespace of each thread, the
   * latest checkpoint (greatest checkpoint id: the one `getTuple` returns) with
   * its pending writes, and deletes every other checkpoint and their writes,
   * except what resuming from it reads, as LangGraph's `prune` requires: when the
   * latest checkpoint's metadata counts delta channels since their last snapshot
   * (`counters_since_delta_snapshot`) whose value it does not store, its ancestors
   * (and their writes) back to the nearest one that stores each are kept, since
   * `getDeltaChannelHistory` rebuilds those channels from them; a checkpoint of a
   * format below 4 keeps its parent's writes (its pending sends). The kept
   * checkpoint is unchanged: same values, metadata and `parentConfig`, which may
   * name a parent that is gone (`getTuple` of it is then undefined).
   * `"delete"` deletes each thread as `deleteThread`.
   *
   * Guarantee: every argument is checked before anything is written; each
   * namespace's checkpoints go in one transaction, then its writes in another, so
   * an interrupted prune leaves at most writes of deleted checkpoints, never a
   * kept checkpoint without its writes; checkpoints put while it runs are kept.
   * Channel values the kept checkpoint carried over from its parents live in
   * blobs it references itself, so they survive a gc. Threads that do not exist
   * are skipped.
   * @throws CairnError INVALID_ARGUMENT (`threadIds` not an array of thread ids, an
   *   unknown strategy) with nothing written; INTEGRITY, DATABASE, CLOSED.
   */
  async prune(threadIds: readonly string[], options: PruneOptions = {}): Promise<void> {
    const threads = parseThreads(threadIds, "threadIds");
    if (typeof options !== "object" || options === null) throw invalid("options", "must be an object", options);
    const strategy: unknown = options.strategy ?? "keep_latest";
    if (strategy !== "keep_latest" && strategy !== "delete") throw invalid("options.strategy", 'must be "keep_latest" or "delete"', strategy);
    for (const thread of threads) {
      if (strategy === "delete") {
        await this.deleteThread(thread);
        continue;
      }
      const checkpoints = await this.#sessionsOf("c", thread);
      const writes = await this.#sessionsOf("w", thread);
      for (const ns of new Set([...checkpoints.keys(), ...writes.keys()])) {
        const sessionId = checkpoints.get(ns);
        let keep = { seqs: new Set<number>(), labels: new Set<string>() };
        /** Labels of the checkpoints this prune dropped: only their writes go (a checkpoint put meanwhile keeps its own). */
        const droppedLabels = new Set<string>();
        if (sessionId !== undefined) {
          // The latest is chosen from the rows read, so a checkpoint put after this read is neither chosen nor dropped.
          const rows = await this.store.session(sessionId).history();
          const latest = latestOf(rows);
          if (latest !== undefined) keep = await this.#resumeSet(sessionId, latest);
          const dropped = rows.filter((row) => !keep.seqs.has(row.seq));
          for (const row of dropped) if (row.label !== undefined && !keep.labels.has(row.label)) droppedLabels.add(row.label);
          await this.store.session(sessionId).dropCheckpoints(dropped.map((row) => row.seq));
          this.#known.delete(sessionId);
        }
        const writesId = writes.get(ns);
        if (writesId !== undefined) {
          const rows = await this.store.session(writesId).history();
          // Writes of no checkpoint at all (their checkpoint was never put, or went before) go too, unless put after the checkpoints were read.
          const known = sessionId === undefined ? new Set<string>() : new Set((await this.store.session(sessionId).history()).map((row) => row.label).filter((label) => label !== undefined));
          const orphan = (label: string | undefined) => label === undefined || (!known.has(label) && !keep.labels.has(label));
          await this.store.session(writesId).dropCheckpoints(rows.filter((row) => (row.label !== undefined && droppedLabels.has(row.label)) || orphan(row.label)).map((row) => row.seq));
        }
      }
    }
  }

  /**
   * Copies every checkpoint and pending write of `sourceThreadId`, in every
   * namespace, to `targetThreadId` (LangGraph's `copy_thread`; JS's
   * `BaseCheckpointSaver` 1.2 has no such method). The copies list with the
   * target's thread id and the source's checkpoint ids, metadata, parents and
   * writes, in the same order; they share every blob with the source (only
   * history rows are copied: instant, and no bytes stored). A source thread with
   * no checkpoint copies nothing.
   * Guarantee: the target is checked to have no checkpoint or write before
   * anything is written; each namespace's checkpoints are copied in one
   * transaction, then its writes in another (so a graph running on the source
   * meanwhile may leave writes without their checkpoint, never the other way);
   * if a copy fails, what was copied is deleted again. Writes to either thread
   * afterwards never change the other.
   * @throws CairnError CONFLICT (the target thread has checkpoints or writes) with
   *   nothing written; INVALID_ARGUMENT (bad or too long thread ids) with nothing
   *   written; DATABASE, CLOSED.
   */
  async copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    const source = parseThread(sourceThreadId, "sourceThreadId");
    const target = parseThread(targetThreadId, "targetThreadId");
    const existing = [...(await this.#sessionsOf("c", target)).values(), ...(await this.#sessionsOf("w", target)).values()];
    if (existing.length > 0) {
      throw new CairnError("CONFLICT", `thread ${JSON.stringify(target)} has checkpoints or writes already; nothing was copied`, { threadId: target, sessions: existing.length });
    }
    const checkpoints = await this.#sessionsOf("c", source);
    const writes = await this.#sessionsOf("w", source);
    const copies = [...checkpoints.keys()].map((ns) => ({
      checkpoints: [checkpoints.get(ns)!, this.#ids.checkpoints({ thread: target, ns })] as const,
      writes: writes.has(ns) ? ([writes.get(ns)!, this.#ids.writes({ thread: target, ns })] as const) : undefined,
    }));
    const created: string[] = [];
    try {
      for (const copy of copies) {
        for (const pair of [copy.checkpoints, copy.writes]) {
          if (pair === undefined) continue;
          try {
            await this.store.session(pair[0]).fork(pair[1]);
            created.push(pair[1]);
          } catch (error) {
            if (!isCairnError(error, "NOT_FOUND")) throw error; // deleted meanwhile: nothing to copy
          }
        }
      }
    } catch (error) {
      for (const id of created) await this.store.session(id).delete().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Deletes every checkpoint whose metadata `run_id` is one of `runIds`, with its
   * pending writes, in every thread and namespace of this saver (LangGraph's
   * `delete_for_runs`). Other checkpoints stay as they are: one whose parent was
   * deleted keeps naming it in `parentConfig`, and a namespace whose latest
   * checkpoint was deleted resumes from the next latest. LangGraph JS (1.7)
   * does not itself write `run_id` into checkpoint metadata (its Python
   * counterpart and LangGraph's server do): this finds the checkpoints of runs
   * whose metadata carries one. As LangGraph warns, deleting the writes a live
   * thread's delta channels are rebuilt from loses that part of their state.
   * Guarantee: every argument is checked before anything is written; each
   * namespace's checkpoints go in one transaction, then their writes in another.
   * Reads the history rows of every thread (their metadata, no blob).
   * @throws CairnError INVALID_ARGUMENT (`runIds` not an array of strings) with
   *   nothing written; INTEGRITY, DATABASE, CLOSED.
   */
  async deleteForRuns(runIds: readonly string[]): Promise<void> {
    if (!Array.isArray(runIds)) throw invalid("runIds", "must be an array of run ids", runIds);
    runIds.forEach((id, i) => {
      if (typeof id !== "string") throw invalid(`runIds[${i}]`, "must be a string", id);
    });
    const wanted = new Set<string>(runIds);
    if (wanted.size === 0) return;
    const [lo, hi] = this.#ids.range("c");
    for (const sessionId of await this.#labels().sessionIdsInRange(lo, hi)) {
      const target = this.#ids.parse("c", sessionId);
      if (target === undefined) continue;
      const rows = await this.store.session(sessionId).history();
      const metadata = await Promise.all(rows.map((row) => this.#codec.deserialize(parseRowMeta(row.meta).metadata)));
      const dropped = new Set<string>();
      const kept = new Set<string>();
      const drop: number[] = [];
      rows.forEach((row, i) => {
        const runId = isObject(metadata[i]) ? (metadata[i] as Record<string, unknown>).run_id : undefined;
        if (typeof runId === "string" && wanted.has(runId)) {
          drop.push(row.seq);
          if (row.label !== undefined) dropped.add(row.label);
        } else if (row.label !== undefined) {
          kept.add(row.label);
        }
      });
      if (drop.length === 0) continue;
      await this.store.session(sessionId).dropCheckpoints(drop);
      this.#known.delete(sessionId);
      const writesSession = this.store.session(this.#ids.writes(target));
      const writes = await writesSession.history();
      await writesSession.dropCheckpoints(writes.filter((row) => row.label !== undefined && dropped.has(row.label) && !kept.has(row.label)).map((row) => row.seq));
    }
  }

  /**
   * What resuming from checkpoint row `latest` reads: its row, the ancestors
   * LangGraph's `getDeltaChannelHistory` walks to rebuild the delta channels its
   * metadata counts and it does not store (up to the nearest one storing each),
   * and the labels whose writes those need (their own; a format-3 checkpoint's
   * parent's, for its pending sends).
   */
  async #resumeSet(sessionId: string, latest: HistoryEntry & { readonly label: string }): Promise<{ seqs: Set<number>; labels: Set<string> }> {
    const seqs = new Set([latest.seq]);
    const labels = new Set([latest.label]);
    const meta = parseRowMeta(latest.meta);
    const [metadata, manifest] = await Promise.all([this.#codec.deserialize(meta.metadata), this.store.checkpoints.manifest(latest.ref)]);
    const own = parseOwnFields(manifest.meta);
    if (own.v < 4 && meta.parent !== null) labels.add(meta.parent);
    const counters = isObject(metadata) ? (metadata as Record<string, unknown>).counters_since_delta_snapshot : undefined;
    let missing = isObject(counters) ? Object.keys(counters).filter((channel) => !hasOwn(own.stored, channel)) : [];
    let parent = meta.parent;
    const walked = new Set([latest.label]);
    while (missing.length > 0 && parent !== null && !walked.has(parent)) {
      walked.add(parent);
      const row = await this.#labels().newestWithLabel(sessionId, parent);
      if (row === undefined) break;
      seqs.add(row.seq);
      labels.add(row.label);
      const stored = parseOwnFields((await this.store.checkpoints.manifest(row.ref)).meta).stored;
      missing = missing.filter((channel) => !hasOwn(stored, channel));
      parent = parseRowMeta(historyEntry(row).meta).parent;
    }
    return { seqs, labels };
  }

  /** The sessions of `kind` of every namespace of `thread`, by namespace. */
  async #sessionsOf(kind: "c" | "w", thread: string): Promise<Map<string, string>> {
    const [lo, hi] = this.#ids.range(kind, thread);
    const out = new Map<string, string>();
    for (const id of await this.#labels().sessionIdsInRange(lo, hi)) {
      const target = this.#ids.parse(kind, id);
      if (target?.thread === thread) out.set(target.ns, id);
    }
    return out;
  }

  /**
   * Runs a write once more if it failed NOT_FOUND: a blob the saver remembered
   * (a parent's slot, a stored element) was gone, say collected after its thread
   * was deleted. The retry reads the parent again and stores elements anew.
   */
  async #retryingGone<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!isCairnError(error, "NOT_FOUND")) throw error;
      this.#known.clear();
      this.#codec.forget();
      return write();
    }
  }

  /** The tuple for a history row of a checkpoints session. */
  async #tuple(
    target: Target,
    entry: HistoryEntry,
    options: { memo?: DecodeMemo; metadata?: unknown; remember?: boolean; writes?: readonly Ref[] },
  ): Promise<CheckpointTuple> {
    const id = entry.label!;
    const meta = parseRowMeta(entry.meta);
    const [checkpoint, writes, metadata] = await Promise.all([
      this.#loadCheckpoint(target, id, entry.ref, options.memo, options.remember ?? false),
      this.#pendingWrites(target, id, options.writes),
      options.metadata !== undefined ? options.metadata : this.#codec.deserialize(meta.metadata),
    ]);
    if (checkpoint.v < 4 && meta.parent !== null) await this.#migratePendingSends(target, checkpoint, meta.parent);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: target.thread, checkpoint_ns: target.ns, checkpoint_id: id } },
      checkpoint,
      metadata: metadata as CheckpointMetadata,
      pendingWrites: await this.#writeValues(writes),
    };
    if (meta.parent !== null) {
      tuple.parentConfig = { configurable: { thread_id: target.thread, checkpoint_ns: target.ns, checkpoint_id: meta.parent } };
    }
    return tuple;
  }

  /** Reads checkpoint `ref`: its own fields, then the value of every channel it stores. */
  async #loadCheckpoint(target: Target, id: string, ref: Ref, memo: DecodeMemo | undefined, remember: boolean): Promise<Checkpoint> {
    const manifest = await this.store.checkpoints.manifest(ref);
    const own = parseOwnFields(manifest.meta);
    const channels = Object.keys(own.stored);
    const decoded = await Promise.all(
      channels.map(async (channel) => {
        if (own.inline !== undefined && hasOwn(own.inline, channel)) return this.#codec.deserialize(own.inline[channel]);
        const slot = channelSlot(channel);
        const slotRef = manifest.slots[slot];
        if (slotRef === undefined) throw new CairnError("INTEGRITY", `checkpoint ${ref} has no slot for channel ${JSON.stringify(channel)}`, { ref });
        let raw = memo?.values.get(slotRef);
        if (raw === undefined) {
          raw = this.store.values.get(slotRef);
          memo?.values.set(slotRef, raw);
        }
        return this.#codec.decode(await raw, partRefs(manifest.slots, slot), memo);
      }),
    );
    const channel_values: Record<string, unknown> = {};
    channels.forEach((channel, i) => (channel_values[channel] = decoded[i]));
    const extra = own.extra === undefined ? {} : ((await this.#codec.deserialize(own.extra)) as Record<string, unknown>);
    if (remember) this.#remember(this.#ids.checkpoints(target), { id, ref, stored: own.stored, inline: own.inline ?? {}, slots: manifest.slots, complete: true });
    return {
      ...extra,
      v: own.v,
      id,
      ts: own.ts,
      channel_values,
      channel_versions: own.channel_versions,
      versions_seen: own.versions_seen,
    };
  }

  /** The writes stored against checkpoint `id`, resolved and in `writesSortKey` order; values not read yet. */
  async #pendingWrites(target: Target, id: string, known?: readonly Ref[]): Promise<ResolvedWrite[]> {
    const refs = known ?? (await this.#labels().refsWithLabels(this.#ids.writes(target), [id])).map((row) => row.ref);
    if (refs.length === 0) return [];
    const manifests = await Promise.all(refs.map((ref) => this.store.checkpoints.manifest(ref)));
    const winners = new Map<string, ResolvedWrite>();
    for (const manifest of manifests) {
      const meta = parseWritesMeta(manifest.meta);
      meta.writes.forEach(([channel, idx], i) => {
        const key = `${idx}\u0000${meta.task}`;
        if (idx >= 0 && winners.has(key)) return; // insert-if-absent; special channels overwrite
        if (manifest.slots[writeSlot(i)] === undefined) throw new CairnError("INTEGRITY", `pending writes of ${id} lack slot ${writeSlot(i)}`, {});
        winners.set(key, { task: meta.task, path: meta.path, channel, idx, slot: writeSlot(i), slots: manifest.slots });
      });
    }
    return [...winners.values()].sort((a, b) => compareWritesSortKeys(writesSortKey(a.path, a.task, a.idx), writesSortKey(b.path, b.task, b.idx)));
  }

  async #writeValues(writes: readonly ResolvedWrite[]): Promise<CheckpointPendingWrite[]> {
    return Promise.all(
      writes.map(async (write): Promise<CheckpointPendingWrite> => [
        write.task,
        write.channel,
        await this.#codec.decode(await this.store.values.get(write.slots[write.slot]!), partRefs(write.slots, write.slot)),
      ]),
    );
  }

  /** Checkpoints of format < 4 kept pending sends as writes of their parent: move them into the TASKS channel. */
  async #migratePendingSends(target: Target, checkpoint: Checkpoint, parentId: string): Promise<void> {
    const sends = (await this.#pendingWrites(target, parentId)).filter((write) => write.channel === TASKS);
    const values = await this.#writeValues(sends);
    const versions = checkpoint.channel_versions;
    const version = Object.keys(versions).length > 0 ? maxChannelVersion(...Object.values(versions)) : this.getNextVersion(undefined);
    checkpoint.channel_values[TASKS] = values.map((write) => write[2]);
    versions[TASKS] = version;
  }

  /** What a child of checkpoint `id` needs from it: the versions its channel slots hold (their refs as far as known). */
  async #parent(sessionId: string, id: string): Promise<Known | undefined> {
    const known = this.#known.get(sessionId);
    if (known !== undefined && known.id === id) return known;
    const row = await this.#labels().newestWithLabel(sessionId, id);
    if (row === undefined) return undefined;
    const manifest = await this.store.checkpoints.manifest(row.ref);
    const own = parseOwnFields(manifest.meta);
    const found: Known = { id, ref: row.ref, stored: own.stored, inline: own.inline ?? {}, slots: manifest.slots, complete: true };
    this.#remember(sessionId, found);
    return found;
  }

  /** The refs of `wanted` slots of a known checkpoint, reading its manifest only if one is not known. */
  async #slotsOf(sessionId: string, known: Known, wanted: readonly string[]): Promise<Readonly<Record<string, Ref>>> {
    if (known.complete || wanted.every((slot) => hasOwn(known.slots, slot))) return known.slots;
    const slots = (await this.store.checkpoints.manifest(known.ref)).slots;
    if (this.#known.get(sessionId)?.id === known.id) this.#remember(sessionId, { ...known, slots, complete: true });
    return slots;
  }

  #remember(sessionId: string, known: Known): void {
    this.#known.delete(sessionId);
    this.#known.set(sessionId, known);
    if (this.#known.size > KNOWN_SESSIONS) this.#known.delete(this.#known.keys().next().value!);
  }

  /** The thread namespace `config` names; undefined without a thread_id unless `required`. */
  #target(config: RunnableConfig, required: boolean): Target | undefined {
    const configurable = (config ?? {}).configurable;
    const raw: unknown = configurable?.thread_id;
    if (raw === undefined || raw === null) {
      if (!required) return undefined;
      throw invalid(
        "config.configurable.thread_id",
        'is required: pass a thread id, e.g. graph.invoke(input, { configurable: { thread_id: "t1" } })',
      );
    }
    const target = { thread: parseThread(raw), ns: parseNs(configurable?.checkpoint_ns) };
    this.#ids.checkpoints(target); // checks the length
    return target;
  }

  /** History rows by label and session ids by range: the storage floor's extension point for this saver. */
  #labels(): LabelledHistoryStorage {
    return this.store[CONTEXT]().adapters.labelledHistory;
  }

  /**
   * One session's rows, greatest label first, each label once (its newest
   * commit), paged; with the manifest refs of each row's pending writes.
   */
  async *#rows(sessionId: string, beforeId: string | undefined, onlyId: string | undefined): AsyncGenerator<ListedRow> {
    const target = this.#ids.parse("c", sessionId)!;
    const labels = this.#labels();
    const writesOf = async (wanted: string[]): Promise<Map<string, Ref[]>> => {
      const out = new Map<string, Ref[]>();
      for (const { label, ref } of await labels.refsWithLabels(this.#ids.writes(target), wanted)) {
        let refs = out.get(label);
        if (refs === undefined) out.set(label, (refs = []));
        refs.push(ref);
      }
      return out;
    };
    if (onlyId !== undefined) {
      if (beforeId !== undefined && compareCodePoints(onlyId, beforeId) >= 0) return;
      const [row, writes] = await Promise.all([labels.newestWithLabel(sessionId, onlyId), writesOf([onlyId])]);
      if (row !== undefined) yield { target, entry: historyEntry(row), writes: writes.get(onlyId) ?? [] };
      return;
    }
    let cursor: { label: string; seq: number } | undefined;
    let last: string | undefined;
    for (;;) {
      // After the first page the cursor's label is below `beforeId` already.
      const rows = await labels.labelPage(sessionId, cursor !== undefined ? { after: cursor, limit: PAGE } : { below: beforeId, limit: PAGE });
      if (rows.length === 0) return;
      const writes = await writesOf([...new Set(rows.map((row) => row.label))]);
      for (const row of rows) {
        if (row.label === last) continue;
        last = row.label;
        yield { target, entry: historyEntry(row), writes: writes.get(row.label) ?? [] };
      }
      if (rows.length < PAGE) return;
      const end = rows[rows.length - 1]!;
      cursor = { label: end.label, seq: end.seq };
    }
  }

  /** The rows of several sessions merged, greatest label first (ties: greater session id first). */
  async *#merged(sessionIds: readonly string[], beforeId: string | undefined, onlyId: string | undefined): AsyncGenerator<ListedRow> {
    interface Head {
      readonly sessionId: string;
      readonly rows: AsyncGenerator<ListedRow>;
      row: ListedRow;
    }
    const before = (a: Head, b: Head): boolean => {
      const byLabel = compareCodePoints(a.row.entry.label!, b.row.entry.label!);
      return byLabel !== 0 ? byLabel > 0 : compareCodePoints(a.sessionId, b.sessionId) > 0;
    };
    const heap: Head[] = [];
    const push = (head: Head) => {
      heap.push(head);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!before(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    };
    const pop = (): Head => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let best = i;
          if (l < heap.length && before(heap[l]!, heap[best]!)) best = l;
          if (r < heap.length && before(heap[r]!, heap[best]!)) best = r;
          if (best === i) break;
          [heap[i], heap[best]] = [heap[best]!, heap[i]!];
          i = best;
        }
      }
      return top;
    };
    const streams = sessionIds
      .filter((sessionId) => this.#ids.parse("c", sessionId) !== undefined)
      .map((sessionId) => ({ sessionId, rows: this.#rows(sessionId, beforeId, onlyId) }));
    try {
      const firsts = await Promise.all(streams.map((stream) => stream.rows.next()));
      firsts.forEach((first, i) => {
        if (!first.done) push({ ...streams[i]!, row: first.value });
      });
      while (heap.length > 0) {
        const head = pop();
        yield head.row;
        const next = await head.rows.next();
        if (!next.done) push({ ...head, row: next.value });
      }
    } finally {
      await Promise.all(streams.map((stream) => stream.rows.return(undefined)));
    }
  }
}

/** Where the pages and large elements of the list in `slot` are among `slots`. */
function partRefs(slots: Readonly<Record<string, Ref>>, slot: string): PartRefs {
  return { page: (page) => slots[pageSlot(slot, page)], element: (index) => slots[elementSlot(slot, index)] };
}

/** Characters (or bytes) of a serialized value's data. */
function sizeOf([, data]: Serialized): number {
  return typeof data === "string" ? data.length : data.byteLength;
}

/** A thread id: a non-empty string (a finite number is taken as its decimal string). */
function parseThread(raw: unknown, what = "thread_id"): string {
  if (typeof raw === "number" && Number.isFinite(raw)) return String(raw);
  if (typeof raw !== "string" || raw.length === 0 || !raw.isWellFormed()) throw invalid(what, "must be a non-empty string", raw);
  return raw;
}

/** The row `getTuple` reads as the latest among `rows`: the greatest label, and of its rows the newest. */
function latestOf(rows: readonly HistoryEntry[]): (HistoryEntry & { readonly label: string }) | undefined {
  let best: (HistoryEntry & { readonly label: string }) | undefined;
  for (const row of rows) {
    if (row.label === undefined) continue;
    const order = best === undefined ? 1 : compareCodePoints(row.label, best.label) || row.seq - best.seq;
    if (order > 0) best = row as HistoryEntry & { readonly label: string };
  }
  return best;
}

/** An array of thread ids, each checked, without repeats. */
function parseThreads(raw: unknown, what: string): string[] {
  if (!Array.isArray(raw)) throw invalid(what, "must be an array of thread ids", raw);
  return [...new Set(raw.map((thread, i) => parseThread(thread, `${what}[${i}]`)))];
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A checkpoint namespace: a string, "" when absent. */
function parseNs(raw: unknown): string {
  if (raw === undefined || raw === null) return "";
  if (typeof raw !== "string" || !raw.isWellFormed()) throw invalid("checkpoint_ns", "must be a string", raw);
  return raw;
}

function parseCheckpointId(raw: unknown, what: string): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw !== "string" || raw.length > MAX_CHECKPOINT_ID || !raw.isWellFormed()) {
    throw invalid(what, `must be a string of at most ${MAX_CHECKPOINT_ID} characters`, raw);
  }
  return raw;
}

/** `checkpoint_id` (or the legacy `thread_ts`) of a config, like LangGraph's getCheckpointId. */
function checkpointIdOf(config: RunnableConfig | undefined, what: string): string | undefined {
  const configurable = config?.configurable;
  return parseCheckpointId(configurable?.checkpoint_id || configurable?.thread_ts, what);
}

function parseListOptions(options: CheckpointListOptions | undefined): { limit?: number; filter?: Record<string, unknown> } {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object") throw invalid("options", "must be an object", options);
  const { limit, filter } = options;
  if (limit !== undefined && limit !== null && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw invalid("options.limit", "must be a non-negative integer", limit);
  }
  if (filter !== undefined && filter !== null && (typeof filter !== "object" || Array.isArray(filter))) {
    throw invalid("options.filter", "must be an object of metadata keys and values", filter);
  }
  return {
    ...(limit === undefined || limit === null ? {} : { limit }),
    ...(filter === undefined || filter === null || Object.keys(filter).length === 0 ? {} : { filter }),
  };
}

/** Whether `metadata` has every key of `filter` with an equal value (objects compared deeply). */
function matchesFilter(metadata: unknown, filter: Record<string, unknown>): boolean {
  if (typeof metadata !== "object" || metadata === null) return false;
  return Object.entries(filter).every(([key, value]) => {
    const actual = (metadata as Record<string, unknown>)[key];
    return actual === value || (typeof value === "object" && value !== null && isDeepStrictEqual(actual, value));
  });
}

/** The cairn turn of a checkpoint: LangGraph's step + 1 (the input checkpoint, step -1, is turn 0). */
function turnOf(metadata: CheckpointMetadata | undefined): number {
  const step = metadata?.step;
  return typeof step === "number" && Number.isSafeInteger(step) && step >= -1 ? step + 1 : 0;
}
