/**
 * The storage floor's maintenance operations on libSQL: the SQL of verify, gc's
 * mark and sweep, stats, pins and bundles, and the translation of their
 * constraint failures into typed outcomes.
 *
 * As in libsql-storage.ts, the database checks what it can inside a transaction:
 * a pin and an imported history row look their blob up by ref into a NOT NULL
 * column, and an imported session's head is NULL (aborting the write) when a row
 * the store holds differs from the bundle's.
 */
import { refFromBytes, refToBytes, type Ref } from "../../hash/ref.js";
import type {
  BlobId,
  BlobRefRow,
  CountsQuery,
  DanglingEdge,
  EdgeCheck,
  ExportSnapshot,
  GarbageRow,
  HistoryCheck,
  ImportHistoryRow,
  LinkedBlobRow,
  MaintenanceStorage,
  MarkResult,
  PinCheck,
  PinOutcome,
  PinRow,
  ReclaimMethod,
  RetentionRule,
  ScannedBlobRow,
  SessionHistoryRow,
  SessionImport,
  SessionImportOutcome,
  SpaceUsage,
  StoredPolicy,
  StoreCounts,
  SweepBatch,
} from "../maintenance-storage.js";
import { existsSync, statSync } from "node:fs";
import { toBytes, type Database, type InStatement, type Row } from "./database.js";
import { notNullColumn } from "./libsql-storage.js";

/**
 * The common table expressions that decide retention, ending in `decided`:
 * every history row (of the sessions `where` selects) with its rank (1 = the
 * head), the scope of the policy applied (NULL for the call's rules), `drops`
 * and `expired`. ?1 = the call's keepLast, ?2 = its olderThan (either NULL),
 * ?3 = 1 to apply stored policies where the call gives neither, ?4 = now.
 *
 * A session's policy is the most specific that matches it: its own ('s:<id>'),
 * else the longest matching prefix ('p:<prefix>'), else the default (''). A row
 * is dropped when its session expired (its newest row older than now minus
 * expire_after, and for a fork the fork itself, whose copied rows keep their
 * source's times: every row goes), or when it is not the head, some rule is
 * given, no given rule keeps it (keepLast keeps the newest N rows, olderThan,
 * or now minus keep_for, keeps rows created at or after it), and no session was
 * forked from it.
 */
const RETENTION = (where: string) => `
  ranked AS (
    SELECT session, seq, manifest, created_at,
           ROW_NUMBER() OVER (PARTITION BY session ORDER BY seq DESC) AS rank,
           MAX(created_at) OVER (PARTITION BY session) AS last
    FROM history ${where}),
  scoped AS (
    SELECT s.session, (SELECT CASE WHEN forked_from IS NOT NULL THEN created_at END FROM sessions WHERE id = s.session) AS born, CASE WHEN ?1 IS NULL AND ?2 IS NULL AND ?3 THEN (
        SELECT p.scope FROM retention p
        WHERE p.scope = '' OR p.scope = 's:' || s.session
           OR (substr(p.scope, 1, 2) = 'p:' AND substr(s.session, 1, length(p.scope) - 2) = substr(p.scope, 3))
        ORDER BY CASE WHEN p.scope = '' THEN 2 WHEN substr(p.scope, 1, 2) = 's:' THEN 0 ELSE 1 END, length(p.scope) DESC
        LIMIT 1) END AS scope
    FROM (SELECT DISTINCT session FROM ranked) AS s),
  ruled AS (
    SELECT r.*, sc.scope, MAX(r.last, COALESCE(sc.born, 0)) AS active,
      CASE WHEN ?1 IS NOT NULL OR ?2 IS NOT NULL THEN ?1 ELSE p.keep_last END AS k,
      CASE WHEN ?1 IS NOT NULL OR ?2 IS NOT NULL THEN ?2 ELSE ?4 - p.keep_for END AS o,
      CASE WHEN ?1 IS NOT NULL OR ?2 IS NOT NULL THEN NULL ELSE ?4 - p.expire_after END AS e
    FROM ranked r JOIN scoped sc ON sc.session = r.session LEFT JOIN retention p ON p.scope = sc.scope),
  decided AS (
    SELECT session, seq, manifest, created_at, rank, scope,
      (e IS NOT NULL AND active < e) AS expired,
      ((e IS NOT NULL AND active < e)
        OR (rank > 1 AND (k IS NOT NULL OR o IS NOT NULL) AND (k IS NULL OR rank > k) AND (o IS NULL OR created_at < o)
            AND NOT EXISTS (SELECT 1 FROM sessions f WHERE f.forked_from = ruled.session AND f.forked_at = ruled.seq))) AS drops
    FROM ruled)`;

/** ?1-?4 of {@link RETENTION}. */
const retentionArgs = (rule: RetentionRule) => [rule.keepLast ?? null, rule.olderThan ?? null, rule.policies ? 1 : 0, rule.now];

/**
 * The delete of one sweep batch, in one statement inside the write transaction:
 * a blob of the batch is deleted only if, at this instant, no history row or pin
 * names it, it is not younger than the cutoff, and every edge into it comes from
 * a blob deleted with it. `kept` is the fixpoint: the batch members that fail a
 * check, and every batch member reachable from them along edges.
 * ?1 = the batch's ids (JSON), ?2 = the cutoff (created_at above it is young).
 */
const DELETE_BATCH = `WITH RECURSIVE
  batch(id) AS (SELECT value FROM json_each(?1)),
  kept(id) AS (
    SELECT b.id FROM blobs b WHERE b.id IN (SELECT id FROM batch) AND b.created_at > ?2
    UNION SELECT h.manifest FROM history h WHERE h.manifest IN (SELECT id FROM batch)
    UNION SELECT p.blob FROM pins p WHERE p.blob IN (SELECT id FROM batch)
    UNION SELECT e.dst FROM edges e WHERE e.dst IN (SELECT id FROM batch) AND e.src NOT IN (SELECT id FROM batch)
    UNION SELECT e.dst FROM kept k JOIN edges e ON e.src = k.id WHERE e.dst IN (SELECT id FROM batch))
DELETE FROM blobs WHERE id IN (SELECT id FROM batch) AND id NOT IN (SELECT id FROM kept)
RETURNING id, kind, size, stored_size`;

/** The edges of the batch's deleted blobs (by source id: a key range each). */
const DELETE_EDGES = `DELETE FROM edges WHERE src IN (SELECT value FROM json_each(?1)) AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = edges.src)`;

/** Source ids per statement when verify looks for dangling edges. */
const EDGE_SOURCES_PER_PAGE = 20_000;
/** Ids per statement when gc reads the edges among garbage. */
const EDGE_PAGE = 2000;
/** Imported history rows per INSERT. */
const HISTORY_PER_STATEMENT = 1000;

/** The libSQL implementation of {@link MaintenanceStorage}. */
export class LibsqlMaintenance implements MaintenanceStorage {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async pendingRepairs(): Promise<string[]> {
    const result = await this.#db.execute("SELECT name FROM repairs ORDER BY name");
    return result.rows.map((row) => String(row[0]));
  }

  async finishRepair(name: string, edges: ReadonlyArray<readonly [Ref, Ref]>): Promise<number> {
    const [added] = await this.#db.writeBatch([
      {
        sql: `INSERT INTO edges (src, dst)
              SELECT s.id, d.id FROM json_each(?) AS e
              JOIN blobs s ON s.ref = unhex(e.value ->> 0) JOIN blobs d ON d.ref = unhex(e.value ->> 1)
              WHERE true ON CONFLICT (src, dst) DO NOTHING`,
        args: [JSON.stringify(edges)],
      },
      { sql: "DELETE FROM repairs WHERE name = ?", args: [name] },
    ]);
    return added!.rowsAffected;
  }

  // Verify.

  async countBlobRows(encoding: number): Promise<{ rows: number; withEncoding: number }> {
    const totals = await this.#db.execute("SELECT count(*), coalesce(sum(encoding = ?), 0) FROM blobs", [encoding]);
    return { rows: Number(totals.rows[0]![0]), withEncoding: Number(totals.rows[0]![1]) };
  }

  async blobRowPage(after: BlobId, limit: number, encoding?: number): Promise<ScannedBlobRow[]> {
    const page =
      encoding === undefined
        ? await this.#db.execute("SELECT id, ref, kind, encoding, size, data, stored_size FROM blobs WHERE id > ? ORDER BY id LIMIT ?", [after, limit])
        : await this.#db.execute("SELECT id, ref, kind, encoding, size, data, stored_size FROM blobs WHERE encoding = ? AND id > ? ORDER BY id LIMIT ?", [
            encoding,
            after,
            limit,
          ]);
    return page.rows.map((row) => ({ id: Number(row[0]), ...blobRowFrom(row, 1), storedSize: Number(row[6]) }));
  }

  async blobRefPage(kind: string, after: BlobId, limit: number): Promise<BlobRefRow[]> {
    const page = await this.#db.execute("SELECT id, ref FROM blobs WHERE id > ? AND kind = ? ORDER BY id LIMIT ?", [after, kind, limit]);
    return page.rows.map((row) => ({ id: Number(row[0]), ref: refFromBytes(toBytes(row[1])) }));
  }

  async historyManifestsNotOfKind(kind: string): Promise<Ref[]> {
    const others = await this.#db.execute("SELECT DISTINCT b.ref FROM history h JOIN blobs b ON b.id = h.manifest WHERE b.kind <> ?", [kind]);
    return others.rows.map((row) => refFromBytes(toBytes(row[0])));
  }

  async edgesFrom(srcs: readonly Ref[]): Promise<Array<readonly [Ref, Ref]>> {
    const result = await this.#db.execute(
      `SELECT lower(hex(s.ref)), lower(hex(d.ref)) FROM blobs s JOIN edges e ON e.src = s.id JOIN blobs d ON d.id = e.dst
       WHERE s.ref IN (SELECT unhex(value) FROM json_each(?))`,
      [JSON.stringify(srcs)],
    );
    return result.rows.map((row) => [String(row[0]) as Ref, String(row[1]) as Ref] as const);
  }

  async checkHistory(): Promise<HistoryCheck> {
    const [missingManifests, historyCount, sessions] = await this.#db.readBatch([
      "SELECT h.session, h.seq FROM history h WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = h.manifest) ORDER BY h.session, h.seq",
      "SELECT count(*), count(DISTINCT session) FROM history",
      `SELECT id, head, actual FROM (
         SELECT s.id AS id, s.head AS head, coalesce((SELECT max(seq) FROM history h WHERE h.session = s.id), 0) AS actual FROM sessions s
         UNION ALL
         SELECT h.session, 0, max(h.seq) FROM history h WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = h.session) GROUP BY h.session)
       WHERE head IS NOT actual ORDER BY id`,
    ]);
    return {
      missingManifests: missingManifests!.rows.map((row) => ({ session: String(row[0]), seq: Number(row[1]) })),
      historyRows: Number(historyCount!.rows[0]![0]),
      sessions: Number(historyCount!.rows[0]![1]),
      inconsistentSessions: sessions!.rows.map((row) => ({ session: String(row[0]), head: Number(row[1]), actualHead: Number(row[2]) })),
    };
  }

  async checkPins(): Promise<PinCheck> {
    const [pins, pinCount] = await this.#db.readBatch([
      "SELECT p.name FROM pins p WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = p.blob) ORDER BY p.name",
      "SELECT count(*) FROM pins",
    ]);
    return { dangling: pins!.rows.map((row) => String(row[0])), pins: Number(pinCount!.rows[0]![0]) };
  }

  /** SQLite filters, a range of source ids at a time (bounded statements); only dangling edges come back. */
  async checkEdges(): Promise<EdgeCheck> {
    const span = await this.#db.execute("SELECT coalesce(min(src), 0), coalesce(max(src), 0), count(*) FROM edges");
    const [lowest, highest] = [Number(span.rows[0]![0]), Number(span.rows[0]![1])];
    const dangling: DanglingEdge[] = [];
    for (let from = lowest - 1; from < highest; from += EDGE_SOURCES_PER_PAGE) {
      const page = await this.#db.execute(
        `SELECT e.src, e.dst, s.id IS NOT NULL, d.id IS NOT NULL, s.ref, d.ref FROM edges e
         LEFT JOIN blobs s ON s.id = e.src LEFT JOIN blobs d ON d.id = e.dst
         WHERE e.src > ? AND e.src <= ? AND (s.id IS NULL OR d.id IS NULL) ORDER BY e.src, e.dst`,
        [from, from + EDGE_SOURCES_PER_PAGE],
      );
      for (const row of page.rows) {
        dangling.push({
          srcId: Number(row[0]),
          dstId: Number(row[1]),
          src: Number(row[2]) ? refFromBytes(toBytes(row[4])) : undefined,
          dst: Number(row[3]) ? refFromBytes(toBytes(row[5])) : undefined,
        });
      }
    }
    return { edges: Number(span.rows[0]![2]), dangling };
  }

  // Stats.

  async counts(query: CountsQuery): Promise<StoreCounts> {
    const [counts, byKind, compression, referenced] = await this.#db.readBatch([
      "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM history), (SELECT count(*) FROM pins), (SELECT count(*) FROM edges)",
      "SELECT kind, count(*), coalesce(sum(size), 0), coalesce(sum(stored_size), 0) FROM blobs GROUP BY kind ORDER BY kind",
      {
        sql: "SELECT coalesce(sum(size), 0), coalesce(sum(stored_size), 0) FROM blobs WHERE encoding IN (SELECT value FROM json_each(?))",
        args: [JSON.stringify(query.compressedEncodings)],
      },
      // 1. Each distinct manifest a history row names, with how many rows name it.
      // 2. Walk edges from it into blobs that are not chunk pieces (a chunked blob's
      //    chunks are part of its logical size already).
      // 3. Sum the logical sizes of what each manifest reaches, times its uses.
      {
        sql: `WITH RECURSIVE
                pieces(kind) AS (SELECT value FROM json_each(?)),
                roots(manifest, uses) AS (SELECT manifest, count(*) FROM history GROUP BY manifest),
                reach(root, id) AS (
                  SELECT manifest, manifest FROM roots
                  UNION
                  SELECT r.root, e.dst FROM reach r JOIN edges e ON e.src = r.id JOIN blobs c ON c.id = e.dst
                  WHERE c.kind NOT IN (SELECT kind FROM pieces))
              SELECT coalesce(sum(b.size * ro.uses), 0) FROM reach r JOIN blobs b ON b.id = r.id JOIN roots ro ON ro.manifest = r.root`,
        args: [JSON.stringify(query.pieceKinds)],
      },
    ]);
    const row = counts!.rows[0]!;
    return {
      sessions: Number(row[0]),
      historyRows: Number(row[1]),
      pins: Number(row[2]),
      edges: Number(row[3]),
      byKind: byKind!.rows.map((k) => ({ kind: String(k[0]), count: Number(k[1]), logicalBytes: Number(k[2]), storedBytes: Number(k[3]) })),
      compressed: { logicalBytes: Number(compression!.rows[0]![0]), storedBytes: Number(compression!.rows[0]![1]) },
      referencedBytes: Number(referenced!.rows[0]![0]),
    };
  }

  // Gc.

  async mark(rule: RetentionRule, cutoff: number): Promise<MarkResult> {
    const retention = retentionArgs(rule);
    const [dropped, garbage, all] = await this.#db.readBatch([
      { sql: `WITH ${RETENTION("")} SELECT session, seq, scope, expired FROM decided WHERE drops ORDER BY session, seq`, args: retention },
      {
        sql: `WITH RECURSIVE ${RETENTION("")},
                live(id) AS (
                  SELECT manifest FROM decided WHERE NOT drops
                  UNION SELECT blob FROM pins
                  UNION SELECT id FROM blobs WHERE created_at > ?5
                  UNION SELECT e.dst FROM edges e JOIN live l ON e.src = l.id)
              SELECT b.id, b.kind, b.size, b.stored_size FROM blobs b WHERE b.id NOT IN (SELECT id FROM live) ORDER BY b.id`,
        args: [...retention, cutoff],
      },
      "SELECT count(*) FROM blobs",
    ]);
    const expired = new Set<string>();
    for (const row of dropped!.rows) if (Number(row[3]) === 1) expired.add(String(row[0]));
    return {
      dropRows: dropped!.rows.map((row) => [String(row[0]), Number(row[1])] as const),
      dropScopes: dropped!.rows.map((row) => (row[2] === null ? null : String(row[2]))),
      expired: [...expired],
      garbage: garbage!.rows.map(garbageRow),
      blobs: Number(all!.rows[0]![0]),
    };
  }

  async edgesFromIds(ids: readonly BlobId[]): Promise<Array<readonly [BlobId, BlobId]>> {
    const out: Array<readonly [BlobId, BlobId]> = [];
    for (let i = 0; i < ids.length; i += EDGE_PAGE) {
      const result = await this.#db.execute("SELECT src, dst FROM edges WHERE src IN (SELECT value FROM json_each(?))", [JSON.stringify(ids.slice(i, i + EDGE_PAGE))]);
      for (const row of result.rows) out.push([Number(row[0]), Number(row[1])]);
    }
    return out;
  }

  async dropHistory(rows: ReadonlyArray<readonly [string, number]>, rule: RetentionRule): Promise<{ rows: number; sessions: number }> {
    const [history, sessions] = await this.#db.writeBatch([
      {
        sql: `WITH ${RETENTION("WHERE session IN (SELECT DISTINCT value ->> 0 FROM json_each(?5))")}
              DELETE FROM history WHERE (session, seq) IN (
                SELECT session, seq FROM decided WHERE drops AND (session, seq) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?5)))`,
        args: [...retentionArgs(rule), JSON.stringify(rows)],
      },
      {
        // A session every row of which went (it expired) goes with them.
        sql: `DELETE FROM sessions WHERE id IN (SELECT DISTINCT value ->> 0 FROM json_each(?1))
                AND NOT EXISTS (SELECT 1 FROM history h WHERE h.session = sessions.id)`,
        args: [JSON.stringify(rows)],
      },
      {
        // An expiring session split over two transactions keeps a head that exists meanwhile.
        sql: `UPDATE sessions SET head = (SELECT MAX(seq) FROM history h WHERE h.session = sessions.id)
              WHERE id IN (SELECT DISTINCT value ->> 0 FROM json_each(?1))`,
        args: [JSON.stringify(rows)],
      },
    ]);
    return { rows: history!.rowsAffected, sessions: sessions!.rowsAffected };
  }

  async putPolicy(policy: StoredPolicy): Promise<void> {
    await this.#db.writeBatch([
      {
        sql: `INSERT INTO retention (scope, keep_last, keep_for, expire_after, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
              ON CONFLICT (scope) DO UPDATE SET keep_last = ?2, keep_for = ?3, expire_after = ?4, updated_at = ?5`,
        args: [policy.scope, policy.keepLast ?? null, policy.keepFor ?? null, policy.expireAfter ?? null, policy.updatedAt],
      },
    ]);
  }

  async removePolicy(scope: string): Promise<boolean> {
    const [result] = await this.#db.writeBatch([{ sql: "DELETE FROM retention WHERE scope = ?", args: [scope] }]);
    return result!.rowsAffected > 0;
  }

  async policies(): Promise<StoredPolicy[]> {
    const result = await this.#db.execute("SELECT scope, keep_last, keep_for, expire_after, updated_at FROM retention ORDER BY scope");
    const optional = (value: unknown) => (value === null || value === undefined ? undefined : Number(value));
    return result.rows.map((row) => ({
      scope: String(row[0]),
      keepLast: optional(row[1]),
      keepFor: optional(row[2]),
      expireAfter: optional(row[3]),
      updatedAt: Number(row[4]),
    }));
  }

  async sweepBatch(ids: readonly BlobId[], cutoff: number): Promise<SweepBatch> {
    const json = JSON.stringify(ids);
    const [blobs, edges] = await this.#db.writeBatch([
      { sql: DELETE_BATCH, args: [json, cutoff] },
      { sql: DELETE_EDGES, args: [json] },
    ]);
    return { deleted: blobs!.rows.map(garbageRow), edges: edges!.rowsAffected };
  }

  // Pins.

  /** One statement that finds the blob by ref inside its transaction: a pin never names a blob that is not stored. */
  async spaceUsage(): Promise<SpaceUsage> {
    // PRAGMAs run one by one: a server may refuse them inside a batch.
    const read = async (pragma: string) => Number((await this.#db.execute(`PRAGMA ${pragma}`)).rows[0]?.[0] ?? 0);
    const pageSize = await read("page_size");
    const pageCount = await read("page_count");
    const freePages = await read("freelist_count");
    const vacuum = this.#db.kind !== "file" && this.#db.kind !== "memory" ? "unavailable" : (await read("auto_vacuum")) === 2 ? "incremental" : "none";
    return { pageSize, pageCount, freePages, vacuum, fileBytes: this.#fileBytes() };
  }

  async reclaimSpace(method: ReclaimMethod): Promise<void> {
    if (method === "rebuild") {
      // The setting takes effect in the rebuilt file: from then on a gc returns pages incrementally.
      await this.#db.executeToEnd("PRAGMA auto_vacuum = INCREMENTAL");
      await this.#db.executeToEnd("VACUUM");
    } else {
      await this.#db.executeToEnd("PRAGMA incremental_vacuum");
    }
    // The file shrinks when the WAL is merged; a reader holding an old snapshot defers that to a later checkpoint.
    if (this.#db.kind === "file") await this.#db.executeToEnd("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  /** The database file's bytes and its WAL's, for a local file. */
  #fileBytes(): number | undefined {
    const path = this.#db.path;
    if (this.#db.kind !== "file" || path === undefined) return undefined;
    let total = 0;
    for (const file of [path, `${path}-wal`]) if (existsSync(file)) total += statSync(file).size;
    return total;
  }

  async putPin(name: string, ref: Ref, now: number): Promise<PinOutcome> {
    const result = await this.#db.writeBatch([
      {
        sql: `INSERT INTO pins (name, blob, created_at) SELECT ?, id, ? FROM blobs WHERE ref = ?
              ON CONFLICT (name) DO UPDATE SET created_at = CASE WHEN blob = excluded.blob THEN created_at ELSE excluded.created_at END, blob = excluded.blob
              RETURNING created_at`,
        args: [name, now, refToBytes(ref)],
      },
    ]);
    const row = result[0]!.rows[0];
    return row ? { ok: true, createdAt: Number(row[0]) } : { ok: false, reason: "missing-blob" };
  }

  async removePin(name: string): Promise<boolean> {
    const result = await this.#db.writeBatch([{ sql: "DELETE FROM pins WHERE name = ?", args: [name] }]);
    return result[0]!.rowsAffected > 0;
  }

  async pins(): Promise<PinRow[]> {
    const result = await this.#db.execute("SELECT p.name, b.ref, p.created_at FROM pins p JOIN blobs b ON b.id = p.blob ORDER BY p.name");
    return result.rows.map(pinRow);
  }

  async pinsNamed(names: readonly string[]): Promise<Map<string, Ref | undefined>> {
    const existing = await this.#db.execute("SELECT p.name, lower(hex(b.ref)) FROM pins p LEFT JOIN blobs b ON b.id = p.blob WHERE p.name IN (SELECT value FROM json_each(?))", [
      JSON.stringify(names),
    ]);
    return new Map(existing.rows.map((r) => [String(r[0]), r[1] === null ? undefined : (String(r[1]) as Ref)]));
  }

  async addPins(pins: readonly PinRow[]): Promise<number> {
    if (pins.length === 0) return 0;
    const results = await this.#db.writeBatch(
      pins.map((p) => ({
        sql: "INSERT INTO pins (name, blob, created_at) SELECT ?, id, ? FROM blobs WHERE ref = ? ON CONFLICT (name) DO NOTHING",
        args: [p.name, p.createdAt, refToBytes(p.ref)],
      })),
    );
    return results.reduce((sum, r) => sum + r.rowsAffected, 0);
  }

  // Bundles.

  async exportSnapshot(sessions: readonly string[] | null): Promise<ExportSnapshot> {
    const filter = sessions === null ? null : JSON.stringify(sessions);
    const [sessionRows, historyRows, pinRows, reachable] = await this.#db.readBatch([
      { sql: "SELECT id, head, created_at, updated_at FROM sessions WHERE ?1 IS NULL OR id IN (SELECT value FROM json_each(?1)) ORDER BY id", args: [filter] },
      {
        sql: `SELECT h.session, h.seq, b.ref, h.turn, h.label, h.meta, h.created_at FROM history h LEFT JOIN blobs b ON b.id = h.manifest
              WHERE ?1 IS NULL OR h.session IN (SELECT value FROM json_each(?1)) ORDER BY h.session, h.seq`,
        args: [filter],
      },
      { sql: "SELECT p.name, b.ref, p.created_at FROM pins p JOIN blobs b ON b.id = p.blob WHERE ?1 IS NULL ORDER BY p.name", args: [filter] },
      {
        sql: `WITH RECURSIVE live(id) AS (
                SELECT h.manifest FROM history h WHERE ?1 IS NULL OR h.session IN (SELECT value FROM json_each(?1))
                UNION SELECT p.blob FROM pins p WHERE ?1 IS NULL
                UNION SELECT e.dst FROM edges e JOIN live l ON e.src = l.id)
              SELECT l.id FROM live l JOIN blobs b ON b.id = l.id ORDER BY l.id`,
        args: [filter],
      },
    ]);
    return {
      sessions: sessionRows!.rows.map((r) => ({ id: String(r[0]), head: Number(r[1]), createdAt: Number(r[2]), updatedAt: Number(r[3]) })),
      history: historyRows!.rows.map((r) => historyRow(String(r[0]), r, 1)),
      pins: pinRows!.rows.map(pinRow),
      blobIds: reachable!.rows.map((r) => Number(r[0])),
    };
  }

  async linkedBlobRows(ids: readonly BlobId[]): Promise<LinkedBlobRow[]> {
    const result = await this.#db.execute(
      `SELECT b.ref, b.kind, b.encoding, b.size, b.data,
              (SELECT group_concat(lower(hex(c.ref)), '') FROM edges e JOIN blobs c ON c.id = e.dst WHERE e.src = b.id)
       FROM blobs b WHERE b.id IN (SELECT value FROM json_each(?)) ORDER BY b.id`,
      [JSON.stringify(ids)],
    );
    return result.rows.map((r) => {
      const links = r[5] === null ? "" : String(r[5]);
      return { ...blobRowFrom(r, 0), links: links.match(/.{64}/g)?.map((hex) => hex as Ref) ?? [] };
    });
  }

  async sessionHistory(session: string): Promise<SessionHistoryRow[]> {
    const result = await this.#db.execute(
      "SELECT h.seq, b.ref, h.turn, h.label, h.meta, h.created_at FROM history h LEFT JOIN blobs b ON b.id = h.manifest WHERE h.session = ?",
      [session],
    );
    return result.rows.map((r) => historyRow(session, r, 0));
  }

  async sessionExists(session: string): Promise<boolean> {
    const exists = await this.#db.execute("SELECT 1 FROM sessions WHERE id = ?", [session]);
    return exists.rows.length > 0;
  }

  /**
   * 1. Upsert the session row; its head is NULL (failing NOT NULL, aborting the
   *    transaction) if any row the store now holds differs from the import's.
   * 2. Insert the missing rows; each finds its manifest by ref (a vanished one aborts).
   * 3. Set the head to the newest row.
   */
  async importSession(plan: SessionImport): Promise<SessionImportOutcome> {
    const json = (rows: readonly ImportHistoryRow[]) =>
      JSON.stringify(rows.map((h) => [h.seq, h.manifest, h.turn, h.label ?? null, h.meta === undefined ? null : Buffer.from(h.meta).toString("hex"), h.createdAt]));
    const statements: InStatement[] = [
      {
        sql: `INSERT INTO sessions (id, head, created_at, updated_at)
              SELECT ?1, CASE WHEN EXISTS (
                  SELECT 1 FROM json_each(?2) AS r JOIN history h ON h.session = ?1 AND h.seq = r.value ->> 0
                  LEFT JOIN blobs m ON m.id = h.manifest
                  WHERE m.ref IS NOT unhex(r.value ->> 1) OR h.turn IS NOT (r.value ->> 2) OR h.label IS NOT (r.value ->> 3)
                     OR h.meta IS NOT unhex(r.value ->> 4) OR h.created_at IS NOT (r.value ->> 5))
                THEN NULL ELSE ?3 END, ?4, ?5
              WHERE true
              ON CONFLICT (id) DO UPDATE SET head = max(head, excluded.head), created_at = min(created_at, excluded.created_at),
                updated_at = max(updated_at, excluded.updated_at)`,
        args: [plan.session, json(plan.rows), plan.head, plan.createdAt, plan.updatedAt],
      },
    ];
    for (let i = 0; i < plan.missing.length; i += HISTORY_PER_STATEMENT) {
      statements.push({
        sql: `INSERT INTO history (session, seq, manifest, turn, label, meta, created_at)
              SELECT ?1, r.value ->> 0, (SELECT id FROM blobs WHERE ref = unhex(r.value ->> 1)), r.value ->> 2, r.value ->> 3, unhex(r.value ->> 4), r.value ->> 5
              FROM json_each(?2) AS r WHERE true
              ON CONFLICT (session, seq) DO NOTHING`,
        args: [plan.session, json(plan.missing.slice(i, i + HISTORY_PER_STATEMENT))],
      });
    }
    statements.push({ sql: "UPDATE sessions SET head = (SELECT max(seq) FROM history WHERE session = ?1) WHERE id = ?1", args: [plan.session] });
    try {
      const results = await this.#db.writeBatch(statements);
      return { ok: true, rows: results.slice(1, -1).reduce((sum, r) => sum + r.rowsAffected, 0) };
    } catch (error) {
      const failed = notNullColumn(error);
      if (failed === "sessions.head") return { ok: false, reason: "session-changed" };
      if (failed === "history.manifest") return { ok: false, reason: "missing-manifest" };
      throw error;
    }
  }
}

/** Result columns `ref, kind, encoding, size, data` from `at` as a blob row. */
function blobRowFrom(row: Row, at: number) {
  return {
    ref: refFromBytes(toBytes(row[at])),
    kind: String(row[at + 1]),
    encoding: Number(row[at + 2]),
    size: Number(row[at + 3]),
    data: toBytes(row[at + 4]),
  };
}

/** Result columns `id, kind, size, stored_size` as a garbage row. */
function garbageRow(row: Row): GarbageRow {
  return { id: Number(row[0]), kind: String(row[1]), size: Number(row[2]), storedSize: Number(row[3]) };
}

/** Result columns `name, ref, created_at` as a pin. */
function pinRow(row: Row): PinRow {
  return { name: String(row[0]), ref: refFromBytes(toBytes(row[1])), createdAt: Number(row[2]) };
}

/** Result columns `seq, manifest ref (or NULL), turn, label, meta, created_at` from `at` as a history row of `session`. */
function historyRow(session: string, row: Row, at: number): SessionHistoryRow {
  return {
    session,
    seq: Number(row[at]),
    manifest: row[at + 1] === null ? undefined : refFromBytes(toBytes(row[at + 1])),
    turn: Number(row[at + 2]),
    label: row[at + 3] === null ? undefined : String(row[at + 3]),
    meta: row[at + 4] === null ? undefined : toBytes(row[at + 4]),
    createdAt: Number(row[at + 5]),
  };
}
