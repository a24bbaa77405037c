/**
 * verify(): a read-only check of everything the store holds. It re-hashes every
 * row and every chunked blob, checks every edge, manifest, history row and pin,
 * and returns every finding. It never stops at the first, and never repairs.
 */
import { readBlob } from "../blob/blob-reader.js";
import { checkChunkTree, describeProblem, LIST_KIND } from "../blob/chunk-tree.js";
import { LinkHeaderScanner, logicalContent, MANIFEST_KIND, MAX_LIST_NODE_BYTES, rootListLinks, uniqueLinks, VALUE_KINDS, type ContentLink, type ContentStructure } from "../blob/content-links.js";
import type { BlobContext } from "../blob/context.js";
import { Encoding, materializeRow } from "../blob/encoding.js";
import { readManifest } from "../checkpoint/dehydrate.js";
import { decodeValue } from "../codec/value-codec.js";
import { hashBytes, type Ref } from "../hash/ref.js";
import { reasonOf, type BlobRow } from "./blob-rows.js";
import { optionalCallback, optionsObject, since } from "./options.js";

/** One thing verify found wrong. */
export type VerifyFinding =
  /** A row whose bytes do not hash to its ref, or cannot be read back at all (bad DEFLATE, wrong length, unknown encoding). */
  | { readonly type: "corrupt-blob"; readonly ref: Ref; readonly kind: string; readonly expected: Ref; readonly actual: Ref | undefined; readonly reason: string }
  /** A chunked blob (or list node) whose chunk list does not parse, nests too deep, or whose sizes do not add up. */
  | { readonly type: "malformed-chunk-list"; readonly ref: Ref; readonly reason: string }
  /**
   * A blob another one needs that is not stored: a chunk of a chunked blob, a
   * slot value of a manifest, or a blob a stored value links to (`link`).
   */
  | { readonly type: "missing-blob"; readonly ref: Ref; readonly referencedBy: Ref; readonly role: "chunk" | "slot" | "link" }
  /** A link the blob's content implies with no edge recorded for it: gc would not see it. */
  | { readonly type: "missing-edge"; readonly src: Ref; readonly dst: Ref }
  /** An edge the blob's content does not imply (links come from content): it keeps `dst` alive for nothing. */
  | { readonly type: "extra-edge"; readonly src: Ref; readonly dst: Ref }
  /** A blob of a kind cairn writes values under (`value`, `tool-state`, ...) whose bytes do not decode as a value. */
  | { readonly type: "undecodable-value"; readonly ref: Ref; readonly kind: string; readonly reason: string }
  /** A blob a stored value links to as a value (a slot, an `unchanged(ref)`) whose bytes do not decode as one: reading it fails. */
  | { readonly type: "not-a-value"; readonly ref: Ref; readonly referencedBy: Ref; readonly reason: string }
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
/** Chunked blobs up to this size keep their bytes from the walk (their content is read from them); larger ones are read again when needed. */
const COLLECT_BYTES = 64 * 1024 * 1024;

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

  /** Blobs whose bytes decoded as a value (or a manifest): a value link to one of them reads. */
  const values = new Set<Ref>();
  /** Targets of value links, and one blob linking to each: each must decode as a value. */
  const linkedAsValue = new Map<Ref, Ref>();
  /**
   * The links a blob's content implies (src/blob/content-links.ts), checked
   * against its edges; a kind that carries structure must parse as it.
   * Returns undefined (and reports) when the kind does not parse.
   */
  const contentOfRow = (row: { ref: Ref; kind: string }, bytes: Uint8Array): { links: readonly ContentLink[]; structure: ContentStructure } | undefined => {
    try {
      const content = logicalContent(row.ref, row.kind, bytes);
      if (content.structure === "value" || content.structure === "manifest") values.add(row.ref);
      for (const link of content.links) if (link.role === "value" && !linkedAsValue.has(link.ref)) linkedAsValue.set(link.ref, row.ref);
      return content;
    } catch (error) {
      if (row.kind === LIST_KIND) findings.push({ type: "malformed-chunk-list", ref: row.ref, reason: reasonOf(error) });
      else if (row.kind !== MANIFEST_KIND) findings.push({ type: "undecodable-value", ref: row.ref, kind: row.kind, reason: reasonOf(error) });
      // A manifest that does not parse is reported by step 3, with the reader's own message.
      bad.add(row.ref);
      return undefined;
    }
  };

  // 1. Rows: re-hash every raw or deflated row; parse every chunk list; check each single row's links
  //    (from its content) against its edges.
  let t = performance.now();
  for (let after = 0; ; ) {
    const page = await floor.blobRowPage(after, ROWS_PER_PAGE);
    if (page.length === 0) break;
    const links = new Map<Ref, LinkCheck>();
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
          rootListLinks(row);
        } catch (error) {
          report({ type: "malformed-chunk-list", ref: row.ref, reason: reasonOf(error) });
        }
        continue; // its links are checked in step 2, once its logical bytes are known
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
      const content = contentOfRow(row, bytes);
      if (content) links.set(row.ref, { links: content.links, structure: content.structure, complete: true });
    }
    await checkLinks(ctx, links, findings);
    progress();
  }
  const blobsMs = since(t);

  // 2. Chunk trees: reassemble every chunked blob (a window of parts at a time) with the one walker,
  //    every size checked as a read checks it, and hash it whole; then check its links against its edges.
  t = performance.now();
  const fetch = (refs: readonly Ref[]) => ctx.storage.blobRows(refs);
  for (let after = 0; ; ) {
    const page = await floor.blobRowPage(after, ROWS_PER_PAGE, Encoding.CHUNKED);
    if (page.length === 0) break;
    const links = new Map<Ref, LinkCheck>();
    for (const scanned of page) {
      after = scanned.id;
      done++;
      const row: BlobRow = { ref: scanned.ref, kind: scanned.kind, encoding: scanned.encoding, size: scanned.size, data: scanned.data };
      if (bad.has(row.ref)) continue;
      counts.chunkedBlobs++;
      const keep = row.size <= COLLECT_BYTES;
      const parts: Uint8Array[] = [];
      const scanner = new LinkHeaderScanner();
      // The one walker in report mode: every problem found, bad parts skipped. Parts are not
      // hashed one by one here (step 1 re-hashed every row); the whole is.
      const tree = await checkChunkTree(row, { fetch, maxBlobBytes: ctx.maxBlobBytes, isBad: (ref) => bad.has(ref), verifyParts: false }, (bytes) => {
        scanner.push(bytes);
        if (keep) parts.push(bytes);
      });
      counts.bytesHashed += tree.bytes;
      for (const problem of tree.found) {
        if (problem.type === "missing") findings.push({ type: "missing-blob", ref: problem.chunk, referencedBy: row.ref, role: "chunk" });
        else if (problem.type === "malformed") findings.push({ type: "malformed-chunk-list", ref: row.ref, reason: problem.reason });
        else findings.push({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual: undefined, reason: describeProblem(problem) });
      }
      const root = rootListLinks(row);
      if (tree.found.length > 0 || tree.tainted) {
        bad.add(row.ref);
        links.set(row.ref, { links: root, structure: "bytes", complete: false });
        continue;
      }
      if (tree.actual !== row.ref) {
        findings.push({ type: "corrupt-blob", ref: row.ref, kind: row.kind, expected: row.ref, actual: tree.actual, reason: "the reassembled chunks do not hash to the ref" });
        bad.add(row.ref);
        links.set(row.ref, { links: root, structure: "bytes", complete: false });
        continue;
      }
      if (VALUE_KINDS.has(row.kind) || row.kind === LIST_KIND || scanner.found || row.size <= MAX_LIST_NODE_BYTES) {
        const bytes = keep ? Buffer.concat(parts) : await readBlob(ctx, row.ref);
        const content = contentOfRow(row, bytes);
        links.set(row.ref, content ? { links: uniqueLinks([...root, ...content.links]), structure: content.structure, complete: true } : { links: root, structure: "bytes", complete: false });
      } else {
        links.set(row.ref, { links: root, structure: "bytes", complete: true });
      }
    }
    await checkLinks(ctx, links, findings);
    progress();
  }
  const chunkTreesMs = since(t);

  // 3. Manifests: every blob of kind manifest, and every blob a history row names, reads as one
  //    (the reader's own path: the blob, the one manifest parser, its other links resolved).
  //    Its slots and other links were checked against its edges in steps 1 and 2.
  t = performance.now();
  const checkManifests = async (refs: readonly Ref[]) => {
    for (const ref of refs) {
      if (bad.has(ref) && !findings.some((f) => f.type === "undecodable-value" && f.ref === ref)) continue;
      counts.manifests++;
      try {
        await readManifest(ctx, ref);
      } catch (error) {
        findings.push({ type: "undecodable-manifest", ref, reason: reasonOf(error) });
        bad.add(ref);
      }
    }
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

  // Every blob a value links to as a value (a slot, an unchanged(ref)) decodes as one, as a read needs it to.
  for (const [ref, by] of linkedAsValue) {
    if (values.has(ref) || bad.has(ref)) continue;
    let bytes: Uint8Array;
    try {
      bytes = await readBlob(ctx, ref);
    } catch {
      continue; // not stored (reported as a missing blob) or damaged (reported where it is)
    }
    try {
      decodeValue(bytes);
    } catch (error) {
      findings.push({ type: "not-a-value", ref, referencedBy: by, reason: reasonOf(error) });
    }
  }
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

/** A blob's links as its content implies them, and whether that is all of them (its content was read whole). */
interface LinkCheck {
  readonly links: readonly ContentLink[];
  readonly structure: ContentStructure;
  readonly complete: boolean;
}

/**
 * Checks each blob's content links against its edges: a link with no edge is a
 * missing-edge finding where the target is stored; a value's link to a blob that
 * is not stored is a missing-blob finding (`slot` from a manifest, `link`
 * otherwise: a missing part of a chunk tree is reported by the walker); an edge
 * the content does not imply (when the content was read whole) is an extra-edge finding.
 */
async function checkLinks(ctx: BlobContext, checks: Map<Ref, LinkCheck>, findings: VerifyFinding[]): Promise<void> {
  if (checks.size === 0) return;
  const edges = await ctx.maintenance.edgesFrom([...checks.keys()]);
  const have = new Set(edges.map(([src, dst]) => `${src}>${dst}`));
  const lacking: Array<[Ref, ContentLink]> = [];
  for (const [src, check] of checks) {
    const seen = new Set<Ref>();
    for (const link of check.links) {
      if (seen.has(link.ref)) continue;
      seen.add(link.ref);
      if (!have.has(`${src}>${link.ref}`)) lacking.push([src, link]);
    }
  }
  for (const [src, dst] of edges) {
    const check = checks.get(src)!;
    if (check.complete && !check.links.some((l) => l.ref === dst)) findings.push({ type: "extra-edge", src, dst });
  }
  if (lacking.length === 0) return;
  const stored = await ctx.storage.storedRefs(lacking.map(([, link]) => link.ref));
  for (const [src, link] of lacking) {
    if (stored.has(link.ref)) findings.push({ type: "missing-edge", src, dst: link.ref });
    else if (link.role !== "chunk" && link.role !== "list") {
      findings.push({ type: "missing-blob", ref: link.ref, referencedBy: src, role: checks.get(src)!.structure === "manifest" && link.role === "value" ? "slot" : "link" });
    }
  }
}

/** Findings whose referring blob is still stored (a gc may have removed it, with its parts, meanwhile). */
async function dropVanished(ctx: BlobContext, findings: VerifyFinding[]): Promise<VerifyFinding[]> {
  const referrers = findings.flatMap((f) => (f.type === "missing-blob" || f.type === "not-a-value" ? [f.referencedBy] : f.type === "missing-edge" || f.type === "extra-edge" ? [f.src] : []));
  if (referrers.length === 0) return findings;
  const still = await ctx.storage.storedRefs(referrers);
  return findings.filter((f) =>
    f.type === "missing-blob" || f.type === "not-a-value" ? still.has(f.referencedBy) : f.type === "missing-edge" || f.type === "extra-edge" ? still.has(f.src) : true,
  );
}
