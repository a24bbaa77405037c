/**
 * The storage floor's usage figures on libSQL (`store.du`): one read transaction
 * of four statements (sessions, totals, counts, largest), three of them recursive
 * walks of the edges table from the roots gc keeps (history rows' manifests,
 * pins' blobs). No statement reads `data`.
 *
 * Cost, with R(S) the rows session S reaches and L the rows any root reaches:
 * the sessions statement walks each reported session's history on its own
 * (Σ R(S) over the page) plus, once, everything the other roots reach (at most
 * L); the totals statement walks history and pins once each (L); the largest
 * statement walks the chunk tree of every chunked blob in scope and, from the
 * `top` largest, back up the edges (edges_dst) to the history rows and pins
 * that reach them.
 *
 * The timeline (`store.timeline`) is another read transaction: the session's
 * row, a page of its history with per-row figures (one walk from the page's
 * manifests and the row before its oldest, see TIMELINE_SQL), and its forks.
 */
import { refFromBytes } from "../../hash/ref.js";
import type {
  LargeBlobRow,
  SessionUsageRow,
  TimelineQuery,
  TimelineRow,
  TimelineSnapshot,
  UsageQuery,
  UsageSnapshot,
  UsageStorage,
  UsageTotalsRow,
} from "../usage-storage.js";
import { toBytes, type Database, type InStatement, type Row, type SqlValue } from "./database.js";

/*
 * Parameters, the same slots in every statement (each binds up to the highest it names):
 * ?1 piece kinds (JSON), ?2 session, ?3 prefix, ?4 after, ?5 limit (-1: none),
 * ?6 the chunked encoding, ?7 top, ?8 reachers per blob.
 */

/** The sessions table rows a query selects: `paged` adds `after` (the LIMIT is the caller's). */
function sessionFilter(query: UsageQuery, paged: boolean): string {
  const conditions: string[] = [];
  if (query.session !== undefined) conditions.push("id = ?2");
  if (query.prefix !== undefined) conditions.push("id >= ?3 AND substr(id, 1, length(?3)) = ?3");
  if (paged && query.after !== undefined) conditions.push("id > ?4");
  return conditions.length === 0 ? "true" : conditions.join(" AND ");
}

/** Whether the query narrows the sessions (so `largest` is over what they reach, not over the store). */
const scoped = (query: UsageQuery) => query.session !== undefined || query.prefix !== undefined;

/**
 * Per selected session: every row its history reaches, with how many selected
 * sessions reach it (a window over the walk) and whether a root outside the
 * selection (another session's history row, a history row without a session row,
 * a pin) reaches it. A row is exclusive when it is reached by this session only.
 */
const sessionsSql = (query: UsageQuery) => `WITH RECURSIVE
  pieces(kind) AS (SELECT value FROM json_each(?1)),
  sel(id) AS MATERIALIZED (SELECT id FROM sessions WHERE ${sessionFilter(query, true)} ORDER BY id LIMIT ?5),
  reach(session, id) AS (
    SELECT h.session, h.manifest FROM history h WHERE h.session IN (SELECT id FROM sel)
    UNION SELECT r.session, e.dst FROM reach r JOIN edges e ON e.src = r.id),
  outside(id) AS (
    SELECT h.manifest FROM history h WHERE h.session NOT IN (SELECT id FROM sel)
    UNION SELECT p.blob FROM pins p
    UNION SELECT e.dst FROM outside o JOIN edges e ON e.src = o.id),
  counted(session, id, reachers) AS (SELECT session, id, count(*) OVER (PARTITION BY id) FROM reach),
  figures(session, exclusive, stored, logical) AS (
    SELECT c.session, c.reachers = 1 AND c.id NOT IN (SELECT id FROM outside), b.stored_size,
           CASE WHEN b.kind IN (SELECT kind FROM pieces) THEN 0 ELSE b.size END
    FROM counted c CROSS JOIN blobs b ON b.id = c.id)
SELECT s.id,
  (SELECT count(*) FROM history h WHERE h.session = s.id),
  (SELECT max(h.created_at) FROM history h WHERE h.session = s.id),
  coalesce(sum(f.exclusive), 0),
  coalesce(sum(CASE WHEN f.exclusive THEN f.stored ELSE 0 END), 0),
  coalesce(sum(CASE WHEN f.exclusive THEN f.logical ELSE 0 END), 0),
  count(f.session) - coalesce(sum(f.exclusive), 0),
  coalesce(sum(CASE WHEN f.exclusive THEN 0 ELSE f.stored END), 0),
  coalesce(sum(CASE WHEN f.exclusive THEN 0 ELSE f.logical END), 0)
FROM sel s LEFT JOIN figures f ON f.session = s.id
GROUP BY s.id ORDER BY s.id`;

/**
 * Whole-store figures: every blob row in one class (0 reached by some history
 * row, 1 by pins only, 2 by nothing), with rows, stored and logical bytes per
 * class. A row per class present.
 */
const CLASSES_SQL = `WITH RECURSIVE
  pieces(kind) AS (SELECT value FROM json_each(?1)),
  from_history(id) AS (SELECT manifest FROM history UNION SELECT e.dst FROM from_history f JOIN edges e ON e.src = f.id),
  from_pins(id) AS (SELECT blob FROM pins UNION SELECT e.dst FROM from_pins f JOIN edges e ON e.src = f.id)
SELECT class, count(*), sum(stored), sum(logical) FROM (
  SELECT CASE WHEN b.id IN (SELECT id FROM from_history) THEN 0 WHEN b.id IN (SELECT id FROM from_pins) THEN 1 ELSE 2 END AS class,
         b.stored_size AS stored, CASE WHEN b.kind IN (SELECT kind FROM pieces) THEN 0 ELSE b.size END AS logical
  FROM blobs b)
GROUP BY class`;

/** Rows of sessions, history and pins; sessions the query matches, and those of them after its `after`. */
const countsSql = (query: UsageQuery) => `SELECT
  (SELECT count(*) FROM sessions), (SELECT count(*) FROM history), (SELECT count(*) FROM pins),
  (SELECT count(*) FROM sessions WHERE ${sessionFilter(query, false)}),
  (SELECT count(*) FROM sessions WHERE ${sessionFilter(query, true)})`;

/**
 * The `top` largest blobs that are not chunk pieces, by stored size with their
 * chunk tree (each distinct piece once per blob), then who reaches each: a walk
 * back up the edges to the history rows and pins naming an ancestor. One row per
 * (blob, reacher), at most ?8 reachers of each type per blob, each with its count.
 */
const largestSql = (query: UsageQuery) => `WITH RECURSIVE
  pieces(kind) AS (SELECT value FROM json_each(?1)),
  ${
    scoped(query)
      ? `scope(id) AS (
    SELECT h.manifest FROM history h WHERE h.session IN (SELECT id FROM sessions WHERE ${sessionFilter(query, false)})
    UNION SELECT e.dst FROM scope s JOIN edges e ON e.src = s.id),
  candidates(id, encoding, stored) AS (
    SELECT b.id, b.encoding, b.stored_size FROM scope s JOIN blobs b ON b.id = s.id WHERE b.kind NOT IN (SELECT kind FROM pieces)),`
      : `candidates(id, encoding, stored) AS (
    SELECT id, encoding, stored_size FROM blobs WHERE kind NOT IN (SELECT kind FROM pieces)),`
  }
  tree(root, id) AS (
    SELECT id, id FROM candidates WHERE encoding = ?6
    UNION SELECT t.root, e.dst FROM tree t JOIN edges e ON e.src = t.id JOIN blobs c ON c.id = e.dst WHERE c.kind IN (SELECT kind FROM pieces)),
  sized(id, stored) AS (
    SELECT t.root, sum(b.stored_size) FROM tree t CROSS JOIN blobs b ON b.id = t.id GROUP BY t.root
    UNION ALL SELECT id, stored FROM candidates WHERE encoding <> ?6),
  top(id, stored) AS MATERIALIZED (SELECT s.id, s.stored FROM sized s JOIN blobs b ON b.id = s.id ORDER BY s.stored DESC, b.ref LIMIT ?7),
  up(top, id) AS (SELECT id, id FROM top UNION SELECT u.top, e.src FROM up u JOIN edges e ON e.dst = u.id),
  who(top, type, name) AS (
    SELECT u.top, 0, h.session FROM up u CROSS JOIN history h ON h.manifest = u.id
    UNION SELECT u.top, 1, p.name FROM up u JOIN pins p ON p.blob = u.id),
  ranked(top, type, name, rank, total) AS (
    SELECT top, type, name, row_number() OVER (PARTITION BY top, type ORDER BY name), count(*) OVER (PARTITION BY top, type) FROM who)
SELECT b.ref, b.kind, b.encoding, b.size, t.stored, r.type, r.name, r.total
FROM top t JOIN blobs b ON b.id = t.id LEFT JOIN ranked r ON r.top = t.id AND r.rank <= ?8
ORDER BY t.stored DESC, b.ref, r.type, r.name`;

/*
 * The timeline's parameters: ?1 session, ?2 before (seqs below it), ?3 rows to
 * walk (the page's limit + 1: the row before the page's oldest too), ?4 piece
 * kinds (JSON), ?5 forks listed.
 */

/**
 * The page's rows and the one before its oldest, numbered in seq order (`pos`);
 * every row each one's manifest reaches (a walk of the edges tagged by seq, so
 * each row's set is distinct); then, per row reached, whether the previous
 * history row (pos - 1) reaches it too: a window over the walk by row id, whose
 * previous tag in seq order must be that row. Rows reached by a checkpoint and
 * not by the one before it are what it added. The extra row at pos 1 serves only
 * as the previous row of the page's oldest (its own `added` is not reported).
 */
const TIMELINE_SQL = `WITH RECURSIVE
  pieces(kind) AS (SELECT value FROM json_each(?4)),
  page(seq, manifest, pos) AS MATERIALIZED (
    SELECT seq, manifest, row_number() OVER (ORDER BY seq) FROM (
      SELECT seq, manifest FROM history WHERE session = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3)),
  reach(seq, id) AS (
    SELECT seq, manifest FROM page
    UNION SELECT r.seq, e.dst FROM reach r JOIN edges e ON e.src = r.id),
  marked(seq, id, kept) AS (
    SELECT p.seq, r.id, coalesce(lag(p.pos) OVER (PARTITION BY r.id ORDER BY p.pos) = p.pos - 1, 0)
    FROM reach r JOIN page p ON p.seq = r.seq),
  figures(seq, reachable, added, logical, blobs, added_blobs) AS (
    SELECT m.seq, sum(b.stored_size), sum(CASE WHEN m.kept THEN 0 ELSE b.stored_size END),
           sum(CASE WHEN b.kind IN (SELECT kind FROM pieces) THEN 0 ELSE b.size END), count(*), sum(CASE WHEN m.kept THEN 0 ELSE 1 END)
    FROM marked m CROSS JOIN blobs b ON b.id = m.id GROUP BY m.seq)
SELECT h.seq, b.ref, h.turn, h.label, h.meta, h.created_at, h.commit_id,
       coalesce(f.reachable, 0), coalesce(f.added, 0), coalesce(f.logical, 0), coalesce(f.blobs, 0), coalesce(f.added_blobs, 0)
FROM page p CROSS JOIN history h ON h.session = ?1 AND h.seq = p.seq JOIN blobs b ON b.id = h.manifest LEFT JOIN figures f ON f.seq = p.seq
ORDER BY p.seq DESC`;

const TIMELINE_SESSION_SQL = "SELECT id, head, created_at, updated_at, forked_from, forked_at FROM sessions WHERE id = ?1";
/** Forks of the session, by the partial index sessions_fork (forked_from, forked_at). */
const TIMELINE_FORKS_SQL = "SELECT id, forked_at FROM sessions WHERE forked_from = ?1 ORDER BY forked_at, id LIMIT ?5";
const TIMELINE_FORK_COUNT_SQL = "SELECT count(*) FROM sessions WHERE forked_from = ?1";

/** Binds the parameter slots up to the highest the statement names. */
function statement(sql: string, slots: readonly SqlValue[]): InStatement {
  let highest = 0;
  for (const match of sql.matchAll(/\?(\d+)/g)) highest = Math.max(highest, Number(match[1]));
  return { sql, args: slots.slice(0, highest) };
}

/** The libSQL implementation of {@link UsageStorage}. */
export class LibsqlUsage implements UsageStorage {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async usage(query: UsageQuery): Promise<UsageSnapshot> {
    const slots: SqlValue[] = [
      JSON.stringify(query.pieceKinds),
      query.session ?? null,
      query.prefix ?? null,
      query.after ?? null,
      query.limit ?? -1,
      query.chunkedEncoding,
      query.top,
      query.reachersPerBlob,
    ];
    const statements = [statement(sessionsSql(query), slots), statement(CLASSES_SQL, slots), statement(countsSql(query), slots)];
    if (query.top > 0) statements.push(statement(largestSql(query), slots));
    const [sessions, classes, counts, largest] = await this.#db.readBatch(statements);
    return {
      sessions: sessions!.rows.map(sessionRow),
      totals: totalsRow(classes!.rows, counts!.rows[0]!),
      largest: largest === undefined ? [] : largestRows(largest.rows),
    };
  }

  async timeline(query: TimelineQuery): Promise<TimelineSnapshot> {
    const slots: SqlValue[] = [query.session, query.before ?? Number.MAX_SAFE_INTEGER, query.limit + 1, JSON.stringify(query.pieceKinds), query.forksListed];
    const [session, page, forks, forkCount] = await this.#db.readBatch([
      statement(TIMELINE_SESSION_SQL, slots),
      statement(TIMELINE_SQL, slots),
      statement(TIMELINE_FORKS_SQL, slots),
      statement(TIMELINE_FORK_COUNT_SQL, slots),
    ]);
    const found = session!.rows[0];
    const rows = page!.rows.map(timelineRow);
    return {
      session:
        found === undefined
          ? undefined
          : {
              id: String(found[0]),
              head: Number(found[1]),
              createdAt: Number(found[2]),
              updatedAt: Number(found[3]),
              ...(found[4] === null ? {} : { forkedFrom: String(found[4]), forkedAt: Number(found[5]) }),
            },
      rows: rows.slice(0, query.limit),
      more: rows.length > query.limit,
      forks: forks!.rows.map((row) => ({ session: String(row[0]), at: Number(row[1]) })),
      forkCount: Number(forkCount!.rows[0]![0]),
    };
  }
}

function timelineRow(row: Row): TimelineRow {
  return {
    seq: Number(row[0]),
    ref: refFromBytes(toBytes(row[1])),
    turn: Number(row[2]),
    label: row[3] === null ? undefined : String(row[3]),
    meta: row[4] === null ? undefined : toBytes(row[4]),
    createdAt: Number(row[5]),
    commitId: row[6] === null ? undefined : String(row[6]),
    reachableBytes: Number(row[7]),
    addedBytes: Number(row[8]),
    logicalBytes: Number(row[9]),
    reachableBlobs: Number(row[10]),
    addedBlobs: Number(row[11]),
  };
}

function sessionRow(row: Row): SessionUsageRow {
  return {
    session: String(row[0]),
    checkpoints: Number(row[1]),
    lastCommitAt: row[2] === null ? undefined : Number(row[2]),
    exclusiveBlobs: Number(row[3]),
    exclusiveBytes: Number(row[4]),
    exclusiveLogicalBytes: Number(row[5]),
    sharedBlobs: Number(row[6]),
    sharedBytes: Number(row[7]),
    sharedLogicalBytes: Number(row[8]),
  };
}

function totalsRow(classes: readonly Row[], counts: Row): UsageTotalsRow {
  const byClass = [0, 1, 2].map((c) => {
    const row = classes.find((r) => Number(r[0]) === c);
    return { blobs: Number(row?.[1] ?? 0), stored: Number(row?.[2] ?? 0), logical: Number(row?.[3] ?? 0) };
  });
  const [history, pinned, garbage] = byClass as [(typeof byClass)[number], (typeof byClass)[number], (typeof byClass)[number]];
  return {
    sessions: Number(counts[0]),
    checkpoints: Number(counts[1]),
    pins: Number(counts[2]),
    blobs: history.blobs + pinned.blobs + garbage.blobs,
    storedBytes: history.stored + pinned.stored + garbage.stored,
    logicalBytes: history.logical + pinned.logical + garbage.logical,
    historyBlobs: history.blobs,
    historyBytes: history.stored,
    pinnedOnlyBlobs: pinned.blobs,
    pinnedOnlyBytes: pinned.stored,
    garbageBlobs: garbage.blobs,
    garbageBytes: garbage.stored,
    matchedSessions: Number(counts[3]),
    pagedSessions: Number(counts[4]),
  };
}

/** Folds the (blob, reacher) rows, in blob order, into one entry per blob. */
function largestRows(rows: readonly Row[]): LargeBlobRow[] {
  type Entry = { -readonly [K in keyof LargeBlobRow]: LargeBlobRow[K] } & { sessions: string[]; pins: string[] };
  const out: Entry[] = [];
  for (const row of rows) {
    const ref = refFromBytes(toBytes(row[0]));
    let entry = out.at(-1);
    if (entry?.ref !== ref) {
      entry = { ref, kind: String(row[1]), encoding: Number(row[2]), size: Number(row[3]), storedSize: Number(row[4]), sessions: [], sessionCount: 0, pins: [], pinCount: 0 };
      out.push(entry);
    }
    if (row[5] === null) continue;
    if (Number(row[5]) === 0) {
      entry.sessions.push(String(row[6]));
      entry.sessionCount = Number(row[7]);
    } else {
      entry.pins.push(String(row[6]));
      entry.pinCount = Number(row[7]);
    }
  }
  return out;
}
