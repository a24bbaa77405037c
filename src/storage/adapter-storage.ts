/**
 * The storage floor's extension points for adapters (src/adapters/): what an
 * adapter needs from the rows beyond the public API, as typed operations. An
 * adapter reaches them through the store's internal context
 * (`store[CONTEXT]().adapters`) and never writes SQL or opens the database.
 *
 * A new adapter that needs rows of its own adds an interface here, its libSQL
 * implementation in src/storage/libsql/, and registers its tables as a
 * component with its own version (src/storage/libsql/components.ts).
 */
import type { LabelledHistoryStorage } from "./labelled-history-storage.js";
import type { SessionStoresStorage } from "./session-stores-storage.js";

export interface AdapterStorage {
  /** The event log's and usage ledger's rows (component `session-stores`). */
  readonly sessionStores: SessionStoresStorage;
  /** History rows by label and session ids by range (the LangGraph saver). */
  readonly labelledHistory: LabelledHistoryStorage;
}
