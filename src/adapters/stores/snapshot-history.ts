/**
 * Snapshot history: a runtime that can only hand over its whole state (a
 * snapshot) after every turn saves it here; on start it loads the latest.
 *
 * Built on one cairn session: `save` is a commit of a checkpoint whose
 * `snapshot` slot is the value, `load` is the session's latest. Because cairn
 * chunks large encodings at content-defined boundaries and stores each chunk
 * once, saving the same 5 MB snapshot with one message appended writes only the
 * chunks around the change, not another 5 MB.
 */
import { CairnError } from "../../errors.js";
import type { Store } from "../../store.js";
import type { CommitResult, HistoryEntry, HistoryOptions, Session } from "../../session/session.js";
import { bad, checkStore, parseInteger, parseOptions, parseText } from "./common.js";

/** Options for {@link SnapshotHistory.save}. */
export interface SaveOptions {
  /** Save only if the latest saved snapshot is this sequence number (0: none yet); else CONFLICT. */
  readonly expectedHead?: number;
  /** The turn the snapshot is after (part of the checkpoint). Default 0. */
  readonly turn?: number;
  /** A short label for this save (kept on the history row). */
  readonly label?: string;
  /** Any value to keep with this save (on the history row, not part of the snapshot's identity). */
  readonly meta?: unknown;
}

/** A snapshot read back, with where it sits in the history. */
export interface LoadedSnapshot<T> {
  readonly snapshot: T;
  /** Its sequence number, from 1. */
  readonly seq: number;
  /** The ref of the checkpoint holding it. */
  readonly ref: string;
  readonly turn: number;
}

const SLOT = "snapshot";

/**
 * The saved snapshots of one session, newest last.
 *
 * @example
 * const history = new SnapshotHistory<AgentState>(store, "agent-42");
 * let state = (await history.load()) ?? initialState();   // undefined on the first run
 * for (;;) {
 *   state = await runTurn(state);
 *   await history.save(state);                             // stores only what changed
 * }
 */
export class SnapshotHistory<T = unknown> {
  /** The cairn session the snapshots are committed to. Use it only through this history. */
  readonly session: Session;

  /**
   * The snapshot history kept in session `sessionId` of `store`.
   * Guarantee: writes nothing; the session is created by the first save.
   * @throws CairnError INVALID_ARGUMENT (not a store, bad session id).
   * @example const history = new SnapshotHistory(store, "agent-42");
   */
  constructor(store: Store, sessionId: string) {
    checkStore(store);
    this.session = store.session(parseText(sessionId, "session id", 512));
  }

  /**
   * Saves the full snapshot as the newest entry.
   *
   * Guarantee: all or nothing, in one transaction; afterwards `load()` returns it
   * (until a later save). Only blobs the store lacks are written: an unchanged
   * snapshot writes nothing but a history row, and a large snapshot with a small
   * change writes the changed chunks (see `bytesWritten`). Bad input throws with
   * nothing written.
   * @throws CairnError INVALID_ARGUMENT (`snapshot` undefined, bad options),
   *   UNSUPPORTED_VALUE, LIMIT_EXCEEDED, CONFLICT (details.expectedHead,
   *   details.actualHead) when `expectedHead` is not the latest.
   * @example
   * const { seq, bytesWritten } = await history.save({ messages, memory });
   */
  async save(snapshot: T, options?: SaveOptions): Promise<CommitResult> {
    const { expectedHead, turn = 0, label, meta } = parseOptions(options);
    if (snapshot === undefined) throw bad("snapshot", "a value (undefined is what load() returns before the first save)", snapshot);
    parseInteger(turn, "turn", 0);
    return this.session.commit(
      { turn, snapshots: { [SLOT]: snapshot } },
      {
        ...(expectedHead === undefined ? {} : { expectedHead }),
        ...(label === undefined ? {} : { label }),
        ...(meta === undefined ? {} : { meta }),
      },
    );
  }

  /**
   * The latest saved snapshot, or `undefined` before the first save.
   * Guarantee: a save that returned is visible here, whole; every blob is re-hashed.
   * @throws CairnError INTEGRITY (stored bytes do not match their ref), NOT_FOUND
   *   (the session holds a checkpoint without a snapshot).
   * @example const state = (await history.load()) ?? initialState();
   */
  async load(): Promise<T | undefined> {
    return (await this.loadEntry())?.snapshot;
  }

  /**
   * The latest saved snapshot with its sequence number and ref, or `undefined` before the first save.
   * Guarantee: as {@link load}; `seq` is the entry the snapshot was saved as.
   * @throws CairnError INTEGRITY, NOT_FOUND (as {@link load}).
   * @example const latest = await history.loadEntry(); if (latest) console.log(latest.seq);
   */
  async loadEntry(): Promise<LoadedSnapshot<T> | undefined> {
    const checkpoint = await this.session.latest({ slots: [SLOT] });
    if (checkpoint === undefined) return undefined;
    return this.#entry(checkpoint.seq, checkpoint.ref, checkpoint.turn, checkpoint.snapshots);
  }

  /**
   * The snapshot saved as entry `seq` (from 1).
   * Guarantee: exactly the value that save stored, re-hashed on the way.
   * @throws CairnError NOT_FOUND (no such entry), INVALID_ARGUMENT (bad seq), INTEGRITY.
   * @example const first = await history.loadAt(1);
   */
  async loadAt(seq: number): Promise<T> {
    const checkpoint = await this.session.at(seq, { slots: [SLOT] });
    return this.#entry(checkpoint.seq, checkpoint.ref, checkpoint.turn, checkpoint.snapshots).snapshot;
  }

  /**
   * The history rows, newest first, without reading any snapshot.
   * Guarantee: one row per save that returned, sequence numbers without gaps.
   * Page back with `before` set to the last row's `seq`.
   * @throws CairnError INVALID_ARGUMENT (bad options).
   * @example for (const entry of await history.entries({ limit: 10 })) console.log(entry.seq, entry.label);
   */
  async entries(options?: HistoryOptions): Promise<HistoryEntry[]> {
    return this.session.history(parseOptions(options));
  }

  #entry(seq: number, ref: string, turn: number, snapshots: Record<string, unknown>): LoadedSnapshot<T> {
    if (!(SLOT in snapshots)) {
      throw new CairnError("NOT_FOUND", `entry ${seq} of session ${this.session.id} holds no snapshot`, { session: this.session.id, seq });
    }
    return { snapshot: snapshots[SLOT] as T, seq, ref, turn };
  }
}
