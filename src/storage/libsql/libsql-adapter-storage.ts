/**
 * The libSQL implementation of the floor's extension points for adapters.
 */
import type { AdapterStorage } from "../adapter-storage.js";
import type { Database } from "./database.js";
import { LibsqlLabelledHistory } from "./libsql-labelled-history.js";
import { LibsqlSessionStores } from "./libsql-session-stores.js";

export function libsqlAdapterStorage(db: Database): AdapterStorage {
  return { sessionStores: new LibsqlSessionStores(db), labelledHistory: new LibsqlLabelledHistory(db) };
}
