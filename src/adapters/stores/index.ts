/**
 * cairn-store/stores: small session stores over one cairn store.
 *
 * - {@link KeyedState}: conversation state by id (e.g. a response id for
 *   `previous_response_id` chaining), deduplicated through cairn's blobs.
 * - {@link SnapshotHistory}: save the full snapshot every turn, load the latest;
 *   only changed chunks are written.
 * - {@link EventLog}: append-only events per session, ordered by the database, paged.
 * - {@link UsageLedger}: token usage per session, atomically with a checkpoint
 *   commit or on its own, totalled per session, model or source.
 *
 * @example
 * import { openStore } from "cairn-store";
 * import { KeyedState, SnapshotHistory, EventLog, UsageLedger } from "cairn-store/stores";
 * const store = await openStore();
 * const states = new KeyedState(store, { namespace: "responses" });
 */
export { KeyedState, type KeyedStateOptions, type KeyedPutOptions, type KeyedPutResult } from "./keyed-state.js";
export { SnapshotHistory, type SaveOptions, type LoadedSnapshot } from "./snapshot-history.js";
export { EventLog, type EventInput, type LoggedEvent, type ReadEventsOptions, type EventPage, type EventLogOptions } from "./event-log.js";
export {
  UsageLedger,
  type UsageInput,
  type UsageEntry,
  type UsageTotals,
  type UsageFilter,
  type UsageEntriesOptions,
  type UsageGroup,
  type UsageCommitOptions,
} from "./usage-ledger.js";
