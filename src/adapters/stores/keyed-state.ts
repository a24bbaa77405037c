/**
 * Keyed state: conversation state by id (a response id, a thread id), a
 * libSQL-backed replacement for the in-memory `Map<id, state>` an agent server
 * keeps for `previous_response_id`-style chaining.
 *
 * Each key is a cairn session named `keyed:<namespace>:<id>` holding one
 * checkpoint whose `state` slot is the value. A put commits a new checkpoint and,
 * in the same transaction, drops the key's older history rows, so a key holds
 * exactly one state. The value goes through cairn's blob store: large strings
 * are stored once however many keys hold them, and a state that extends another
 * (the previous response's messages plus a few new ones) shares its chunks.
 */
import { CairnError } from "../../errors.js";
import type { Store } from "../../store.js";
import { COMMIT_EXTRA, type CommitResult } from "../../session/session.js";
import { bad, checkStore, parseInteger, parseOptions, parseText } from "./common.js";

/** Options for {@link KeyedState}. */
export interface KeyedStateOptions {
  /**
   * Keeps this map's keys apart from other maps' in the same store: 1 to 64 of
   * `A-Z a-z 0-9 . _ -`. Default `default`.
   */
  readonly namespace?: string;
}

/** Options for {@link KeyedState.put}. */
export interface KeyedPutOptions {
  /**
   * Write only if the key's version is this one (0: the key must be absent);
   * else CONFLICT. Use 0 for write-once ids such as response ids.
   */
  readonly expectedVersion?: number;
}

/** What a put stored. */
export interface KeyedPutResult {
  /** The key's version after the put: 1 when the key was absent, then one more per put. */
  readonly version: number;
  /** The ref of the checkpoint that holds the state. */
  readonly ref: string;
  /** Blob rows this put added (what the store lacked). */
  readonly blobsWritten: number;
  /** Bytes those rows hold, after compression. */
  readonly bytesWritten: number;
}

const NAMESPACE = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_SESSION_ID = 512;
const SLOT = "state";

/**
 * Conversation state by key, stored in a cairn store.
 *
 * @example
 * const states = new KeyedState(store, { namespace: "responses" });
 * // a request that continues a conversation
 * const previous = req.previous_response_id ? await states.get(req.previous_response_id) : { items: [] };
 * const next = { items: [...previous.items, ...req.input, ...response.output] };
 * await states.put(response.id, next, { expectedVersion: 0 }); // response ids are written once
 */
export class KeyedState<T = unknown> {
  /** The namespace of this map's keys. */
  readonly namespace: string;
  readonly #store: Store;
  readonly #prefix: string;

  /**
   * A keyed state map over `store`.
   * Guarantee: writes nothing; maps with different namespaces never see each other's keys.
   * @throws CairnError INVALID_ARGUMENT (not a store, bad namespace).
   * @example const states = new KeyedState<ConversationState>(store, { namespace: "chat" });
   */
  constructor(store: Store, options?: KeyedStateOptions) {
    checkStore(store);
    const { namespace = "default" } = parseOptions(options);
    if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) throw bad("namespace", "1 to 64 characters of A-Z a-z 0-9 . _ -", namespace);
    this.#store = store;
    this.namespace = namespace;
    this.#prefix = `keyed:${namespace}:`;
  }

  /**
   * Stores `state` under `id`, replacing what the key held. The id is given
   * explicitly (not read from the state), so any state shape works.
   *
   * Guarantee: all or nothing, in one transaction: afterwards `get(id)` returns
   * exactly `state` (every supported value round-trips) and the key holds no older
   * version. With `expectedVersion`, two writers never both win. Bad input
   * (bad id, a value cairn cannot encode) throws with nothing written.
   * @throws CairnError INVALID_ARGUMENT (bad id or options, `state` undefined), UNSUPPORTED_VALUE,
   *   LIMIT_EXCEEDED, CONFLICT (details.expectedHead, details.actualHead) when
   *   `expectedVersion` is not the key's version.
   * @example
   * await states.put("resp_123", { items: [{ role: "user", content: "hi" }] });
   * await states.put("resp_124", next, { expectedVersion: 0 }); // CONFLICT if resp_124 exists
   */
  async put(id: string, state: T, options?: KeyedPutOptions): Promise<KeyedPutResult> {
    const session = this.#sessionId(id);
    const { expectedVersion } = parseOptions(options);
    const expectedHead = expectedVersion === undefined ? undefined : parseInteger(expectedVersion, "expectedVersion", 0);
    if (state === undefined) throw bad("state", "a value (undefined cannot be told from an absent key)", state);
    let result: CommitResult;
    try {
      result = await this.#store.session(session).commit(
        { turn: 0, snapshots: { [SLOT]: state } },
        {
          ...(expectedHead === undefined ? {} : { expectedHead }),
          [COMMIT_EXTRA]: [{ type: "drop-older-history" }],
        },
      );
    } catch (error) {
      if (error instanceof CairnError && error.code === "CONFLICT") {
        const actualVersion = error.details.actualHead;
        throw new CairnError("CONFLICT", `state ${JSON.stringify(id)} is at version ${actualVersion}, expected ${expectedHead}`, {
          namespace: this.namespace,
          id,
          expectedVersion: expectedHead,
          actualVersion,
        }, { cause: error });
      }
      throw error;
    }
    return { version: result.seq, ref: result.ref, blobsWritten: result.blobsWritten, bytesWritten: result.bytesWritten };
  }

  /**
   * The state stored under `id`.
   * Guarantee: the state of the last put that returned (or a later one), whole;
   * every blob is re-hashed on the way.
   * @throws CairnError NOT_FOUND when the key holds nothing; INVALID_ARGUMENT (bad id); INTEGRITY.
   * @example const state = await states.get(req.previous_response_id);
   */
  async get(id: string): Promise<T> {
    const session = this.#sessionId(id);
    const checkpoint = await this.#store.session(session).latest({ slots: [SLOT] });
    if (checkpoint === undefined || !(SLOT in checkpoint.snapshots)) {
      throw new CairnError("NOT_FOUND", `no state under ${JSON.stringify(id)} in namespace ${this.namespace}`, { namespace: this.namespace, id });
    }
    return checkpoint.snapshots[SLOT] as T;
  }

  /**
   * Whether `id` holds a state. Reads no blob.
   * Guarantee: true exactly when `get(id)` would return a state (as of this read).
   * @throws CairnError INVALID_ARGUMENT (bad id).
   * @example if (!(await states.exists(id))) return res.status(404);
   */
  async exists(id: string): Promise<boolean> {
    return (await this.version(id)) > 0;
  }

  /**
   * The key's version: 0 when it holds nothing, else the count of puts since it
   * was absent (the value to pass as `expectedVersion` for a compare-and-swap). Reads no blob.
   * Guarantee: a put with `expectedVersion` set to this value succeeds only if no other put came between.
   * @throws CairnError INVALID_ARGUMENT (bad id).
   * @example await states.put(id, next, { expectedVersion: await states.version(id) });
   */
  async version(id: string): Promise<number> {
    return this.#store.session(this.#sessionId(id)).head();
  }

  /**
   * Removes the state under `id`; returns whether there was one. The state's
   * blobs stay until a gc finds them unreachable.
   * Guarantee: afterwards `get(id)` throws NOT_FOUND and `exists(id)` is false.
   * @throws CairnError INVALID_ARGUMENT (bad id).
   * @example await states.delete("resp_123");
   */
  async delete(id: string): Promise<boolean> {
    return (await this.#store.session(this.#sessionId(id)).delete()) > 0;
  }

  #sessionId(id: unknown): string {
    return this.#prefix + parseText(id, "id", MAX_SESSION_ID - this.#prefix.length);
  }
}
