/**
 * Repairs a migration marks for the blob layer to run (the SQL of a migration
 * cannot read values). Today one: `content-edges`, for stores written before
 * schema 3 by code that recorded no edge from a chunked value to the blobs it
 * links to (schema 1): verify derives every blob's links from its content
 * (src/blob/content-links.ts), and each link to a stored blob that has no edge
 * gets one. Idempotent: an interrupted repair runs again at the next open.
 */
import type { BlobContext } from "../blob/context.js";
import type { Ref } from "../hash/ref.js";
import { verify } from "./verify.js";

/** The repair that adds the edges a store's content implies and its edges lack. */
export const CONTENT_EDGES = "content-edges";

/**
 * Runs every pending repair of the store.
 * Guarantee: each repair's writes and its completion mark are one transaction;
 * a repair adds edges only between blobs that are both stored, never removes anything.
 * @returns how many edges were added.
 */
export async function runRepairs(ctx: BlobContext): Promise<number> {
  let added = 0;
  for (const name of await ctx.maintenance.pendingRepairs()) {
    if (name !== CONTENT_EDGES) continue; // a repair of a newer cairn is left to it
    const report = await verify(ctx);
    const edges: Array<readonly [Ref, Ref]> = [];
    for (const finding of report.findings) if (finding.type === "missing-edge") edges.push([finding.src, finding.dst]);
    added += await ctx.maintenance.finishRepair(name, edges);
  }
  return added;
}
