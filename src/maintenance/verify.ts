/**
 * verify(): a read-only check of everything the store holds. It re-hashes every
 * row and every chunked blob, checks every edge, manifest, history row and pin,
 * and returns every finding. It never stops at the first, and never repairs.
 */
import { checkChunkTree, describeProblem } from "../blob/chunk-tree.js";
import type { BlobContext } from "../blob/context.js";
import { Encoding, materializeRow } from "../blob/encoding.js";
import { decodeChunkList } from "../codec/chunk-list.js";
import { readManifest } from "../checkpoint/dehydrate.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import { reasonOf, type BlobRow } from "./blob-rows.js";
import { optionalCallback, optionsObject, since } from "./options.js";

/** One thing verify found wrong. */
export type VerifyFinding =
  /** A row whose bytes do not hash to its ref, or cannot be read back at all (bad DEFLATE, wrong length, unknown encoding). */
  | { readonly type: "corrupt-blob"; readonly ref: Ref; readonly kind: string; readonly expected: Ref; readonly actual: Ref | undefined; readonly reason: string }
  /** A chunked blob (or list node) whose chunk list does not parse, nests too deep, or whose sizes do not add up. */
  | { readonly type: "malformed-chunk-list"; readonly ref: Ref; readonly reason: string }
  /** A blob another one needs (a chunk of a chunked blob, a slot value of a manifest) that is not stored. */
  | { readonly type: "missing-blob"; readonly ref: Ref; readonly referencedBy: Ref; readonly role: "chunk" | "slot" }
  /** A stored link with no edge recorded for it: gc would not see it. */
  | { readonly type: "missing-edge"; readonly src: Ref; readonly dst: Ref }
  /** An edge whose source or target row is not stored (ids as stored; refs of the ends that exist). */
  | { readonly type: "dangling-edge"; readonly srcId: number; readonly dstId: number; readonly src: Ref | undefined; readonly dst: Ref | undefined }
  /** A blob of kind `manifest`, or one a history row names, that does not decode as a checkpoint manifest. */
  | { readonly type: "undecodable-manifest"; readonly ref: Ref; readonly reason: string }
  /** A history row whose manifest blob is not stored. */
  | { readonly type: "missing-manifest"; readonly session: string; readonly seq: number }
  /** A pin whose blob is not stored. */
  | { readonly type: "dangling-pin"; readonly name: string }
  /** A session row whose head is not its newest history row (or history with no session row: head 0). */
  | { readonly type: "inconsistent-session"; readonly session: string; readonly head: number; readonly actualHead: number };

/** Options for {@link verify}. */
export interface VerifyOptions {
  /** Called after each page of work: `done` of `total` units (one per blob row, one more per chunked blob). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link verify} checked and found. */
export interface VerifyReport {
  /** True when there is no finding. */
  readonly ok: boolean;
  /** Every finding, in the order of the steps. */
  readonly findings: readonly VerifyFinding[];
  readonly counts: {
    /** Blob rows re-hashed. */
    readonly blobs: number;
    /** Chunked blobs reassembled and hashed whole. */
    readonly chunkedBlobs: number;
    /** Logical bytes hashed, rows and reassembled blobs together. */
    readonly bytesHashed: number;
    readonly manifests: number;
    readonly historyRows: number;
    readonly sessions: number;
    readonly pins: number;
    readonly edges: number;
  };
  /** Milliseconds per step. */
  readonly timings: { readonly blobs: number; readonly chunkTrees: number; readonly manifests: number; readonly history: number; readonly pins: number; readonly edges: number; readonly total: number };
}

const ROWS_PER_PAGE = 64;
const MANIFESTS_PER_PAGE = 128;

/**
 * Checks the whole store, reading only.
 *
 * Guarantee: writes nothing; holds at most a page of rows (64) and a window of
 * chunks at a time, whatever the store's size; reports every finding it meets.
 * Each problem is reported once, where it is: a chunked blob with a corrupt or
 * missing part is reported through that part, not again as a corrupt whole.
 * Run beside writers it stays correct: a finding about a blob that a concurrent
 * gc removed while verify ran is dropped before returning.
 * @throws CairnError INVALID_ARGUMENT (bad options), CLOSED, DATABASE.
 */
export async function verify(ctx: BlobContext, options?: VerifyOptions): Promise<VerifyReport> {
  const opts = optionsObject<VerifyOptions>(options, "verify", ["onProgress"]);
  const onProgress = optionalCallback<(done: number, total: number) => void>("onProgress", opts.onProgress);
  const floor = ctx.maintenance;
  const started = performance.now();
  const findings: VerifyFinding[] = [];
  /** Refs with a finding: their owners are not reported again. */
  const bad = new Set<Ref>();
  const counts = { blobs: 0, chunkedBlobs: 0, bytesHashed: 0, manifests: 0, historyRows: 0, sessions: 0, pins: 0, edges: 0 };

  const totals = await floor.countBlobRows(Encoding.CHUNKED);
  const total = totals.rows + totals.withEncoding;
  let done = 0;
  const progress = () => onProgress?.(Math.min(done, total), total);
  progress();

  // 1. Rows: re-hash every raw or deflated row; parse every chunk list; check the edges of chunk lists.
  let t = performance.now();
  for (let after = 0; ; ) {
    const page = await floor.blobRowPage(after, ROWS_PER_PAGE);
    if (page.length === 0) break;
    const lists = new Map<Ref, Ref[]>();
    for (const row of page) {
      after = row.id;
      const storedSize = row.storedSize;
      counts.blobs++;
      done++;
      const report = (finding: VerifyFinding) => {
        findings.push(finding);
        bad.add(row.ref);
      };
      if (storedSize !== row.data.byteLength) {
        report({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual: undefined, reason: `row records ${storedSize} stored bytes but holds ${row.data.byteLength}` });
        continue;
      }
      if (row.encoding === Encoding.CHUNKED) {
        try {
          lists.set(row.ref, decodeChunkList(row.data, row.ref).map((e) => e.ref));
        } catch (error) {
          report({ type: "malformed-chunk-list", ref: row.ref, reason: reasonOf(error) });
        }
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = materializeRow(row, ctx.maxBlobBytes);
      } catch (error) {
        report({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual: undefined, reason: reasonOf(error) });
        continue;
      }
      const actual = hashBytes(bytes);
      counts.bytesHashed += bytes.byteLength;
      if (actual !== row.ref) {
        report({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual, reason: "bytes do not hash to the ref" });
        continue;
      }
      if (row.kind === "chunk-list") {
        try {
          lists.set(row.ref, decodeChunkList(bytes, row.ref).map((e) => e.ref));
        } catch (error) {
          report({ type: "malformed-chunk-list", ref: row.ref, reason: reasonOf(error) });
        }
      }
    }
    await checkEdges(ctx, lists, findings);
    progress();
  }
  const blobsMs = since(t);

  // 2. Chunk trees: reassemble every chunked blob (a window of parts at a time) and hash it whole.
  t = performance.now();
  const fetch = (refs: readonly Ref[]) => ctx.storage.blobRows(refs);
  for (let after = 0; ; ) {
    const page = await floor.blobRowPage(after, ROWS_PER_PAGE, Encoding.CHUNKED);
    if (page.length === 0) break;
    for (const scanned of page) {
      after = scanned.id;
      done++;
      const row: BlobRow = { ref: scanned.ref, kind: scanned.kind, encoding: scanned.encoding, size: scanned.size, data: scanned.data };
      if (bad.has(row.ref)) continue;
      counts.chunkedBlobs++;
      // The one walker in report mode: every problem found, bad parts skipped. Parts are not
      // hashed one by one here (step 1 re-hashed every row); the whole is.
      const tree = await checkChunkTree(row, { fetch, maxBlobBytes: ctx.maxBlobBytes, isBad: (ref) => bad.has(ref), verifyParts: false });
      counts.bytesHashed += tree.bytes;
      for (const problem of tree.found) {
        if (problem.type === "missing") findings.push({ type: "missing-blob", ref: problem.chunk, referencedBy: row.ref, role: "chunk" });
        else if (problem.type === "malformed") findings.push({ type: "malformed-chunk-list", ref: row.ref, reason: problem.reason });
        else findings.push({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual: undefined, reason: describeProblem(problem) });
      }
      if (tree.found.length > 0 || tree.tainted) {
        bad.add(row.ref);
      } else if (tree.actual !== row.ref) {
        findings.push({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual: tree.actual, reason: "the reassembled chunks do not hash to the ref" });
        bad.add(row.ref);
      }
    }
    progress();
  }
  const chunkTreesMs = since(t);

  // 3. Manifests: every blob of kind manifest, and every blob a history row names, decodes as one;
  //    its slot values are stored and linked by edges.
  t = performance.now();
  const checkManifests = async (refs: readonly Ref[]) => {
    const slots = new Map<Ref, Ref[]>();
    for (const ref of refs) {
      if (bad.has(ref)) continue;
      counts.manifests++;
      try {
        slots.set(ref, Object.values((await readManifest(ctx, ref)).slots));
      } catch (error) {
        findings.push({ type: "undecodable-manifest", ref, reason: reasonOf(error) });
        bad.add(ref);
      }
    }
    const present = await ctx.storage.storedRefs([...slots.values()].flat());
    for (const [manifest, refs] of slots) {
      for (const ref of new Set(refs)) if (!present.has(ref)) findings.push({ type: "missing-blob", ref, referencedBy: manifest, role: "slot" });
    }
    await checkEdges(ctx, slots, findings);
  };
  // Blobs of kind manifest, by id range (one pass over the table in all).
  for (let after = 0; ; ) {
    const page = await floor.blobRefPage("manifest", after, MANIFESTS_PER_PAGE);
    if (page.length === 0) break;
    after = page.at(-1)!.id;
    await checkManifests(page.map((row) => row.ref));
  }
  // Blobs of another kind that a history row names (the same bytes stored first under another kind): usually none.
  const otherRefs = await floor.historyManifestsNotOfKind("manifest");
  for (let i = 0; i < otherRefs.length; i += MANIFESTS_PER_PAGE) await checkManifests(otherRefs.slice(i, i + MANIFESTS_PER_PAGE));
  const manifestsMs = since(t);

  // 4. History and sessions: every row's manifest is stored; every session's head is its newest row.
  t = performance.now();
  const history = await floor.checkHistory();
  for (const row of history.missingManifests) findings.push({ type: "missing-manifest", session: row.session, seq: row.seq });
  for (const row of history.inconsistentSessions) findings.push({ type: "inconsistent-session", session: row.session, head: row.head, actualHead: row.actualHead });
  counts.historyRows = history.historyRows;
  counts.sessions = history.sessions;
  const historyMs = since(t);

  // 5. Pins name stored blobs.
  t = performance.now();
  const pins = await floor.checkPins();
  for (const name of pins.dangling) findings.push({ type: "dangling-pin", name });
  counts.pins = pins.pins;
  const pinsMs = since(t);

  // 6. Edges: both ends of every edge are stored. The floor filters, a range of
  //    source ids at a time (bounded statements); only dangling edges come back.
  t = performance.now();
  const edges = await floor.checkEdges();
  counts.edges = edges.edges;
  for (const edge of edges.dangling) findings.push({ type: "dangling-edge", srcId: edge.srcId, dstId: edge.dstId, src: edge.src, dst: edge.dst });
  const edgesMs = since(t);

  // 7. Drop findings about blobs that a concurrent gc removed while verify ran.
  const final = await dropVanished(ctx, findings);
  done = total;
  progress();
  return {
    ok: final.length === 0,
    findings: final,
    counts,
    timings: { blobs: blobsMs, chunkTrees: chunkTreesMs, manifests: manifestsMs, history: historyMs, pins: pinsMs, edges: edgesMs, total: since(started) },
  };
}

/**
 * Reports a missing-edge finding for each link in `links` (source ref to the
 * refs it links to) that has no edge, where the target is stored (a target
 * that is not stored is reported as missing elsewhere).
 */
async function checkEdges(ctx: BlobContext, links: Map<Ref, Ref[]>, findings: VerifyFinding[]): Promise<void> {
  if (links.size === 0) return;
  const have = new Set((await ctx.maintenance.edgesFrom([...links.keys()])).map(([src, dst]) => `${src}>${dst}`));
  const lacking: Array<[Ref, Ref]> = [];
  for (const [src, dsts] of links) {
    for (const dst of new Set(dsts)) if (!have.has(`${src}>${dst}`)) lacking.push([src, dst]);
  }
  if (lacking.length === 0) return;
  const stored = await ctx.storage.storedRefs(lacking.map(([, dst]) => dst));
  for (const [src, dst] of lacking) if (stored.has(dst)) findings.push({ type: "missing-edge", src, dst });
}

/** Findings whose referring blob is still stored (a gc may have removed it, with its parts, meanwhile). */
async function dropVanished(ctx: BlobContext, findings: VerifyFinding[]): Promise<VerifyFinding[]> {
  const referrers = findings.flatMap((f) => (f.type === "missing-blob" ? [f.referencedBy] : f.type === "missing-edge" ? [f.src] : []));
  if (referrers.length === 0) return findings;
  const still = await ctx.storage.storedRefs(referrers);
  return findings.filter((f) => (f.type === "missing-blob" ? still.has(f.referencedBy) : f.type === "missing-edge" ? still.has(f.src) : true));
}
