/**
 * The storage floor's reads of history rows by label and of session ids by
 * range: what an adapter that keys checkpoints by its own ids (the LangGraph
 * saver labels each commit with the checkpoint id) needs without scanning a
 * whole history through `Session.history`. Read-only; the libSQL implementation
 * (src/storage/libsql/libsql-labelled-history.ts) holds the statements, served
 * by the `history (session, label)` index.
 *
 * Labels and session ids compare as SQLite compares text: by UTF-8 bytes, which
 * is code point order.
 */
import type { HistoryRow } from "./storage.js";

/** A history row with its label. */
export interface LabelledRow extends HistoryRow {
  readonly label: string;
}

/** A labelled row's place in a page: greatest label first, and for equal labels the newest row first. */
export interface LabelCursor {
  readonly label: string;
  readonly seq: number;
}

/** Which labelled rows of a session a page holds, in the order of {@link LabelCursor}. */
export interface LabelPageQuery {
  /** Only rows with a label below this one. */
  readonly below?: string;
  /** Only rows after this one in page order (the last row of the previous page). */
  readonly after?: LabelCursor;
  /** At most this many rows. */
  readonly limit: number;
}

/** History rows by label, and session ids by range. */
export interface LabelledHistoryStorage {
  /** The newest row of `session` with `label`, or undefined. */
  newestWithLabel(session: string, label: string): Promise<LabelledRow | undefined>;
  /** A page of the labelled rows of `session`: greatest label first, equal labels newest first. Unlabelled rows are skipped. */
  labelPage(session: string, query: LabelPageQuery): Promise<LabelledRow[]>;
  /** The manifest refs of every row of `session` whose label is one of `labels`, with their labels, oldest first. */
  refsWithLabels(session: string, labels: readonly string[]): Promise<Array<{ readonly label: string; readonly ref: HistoryRow["ref"] }>>;
  /** The ids of the sessions with history whose id is in [from, to), by id. */
  sessionIdsInRange(from: string, to: string): Promise<string[]>;
}

/**
 * Compares strings by code point, which is the order SQLite's BINARY collation
 * gives UTF-8 text (and Python's str order): the order labels come back in.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return i >= a.length ? (j >= b.length ? 0 : -1) : 1;
}
