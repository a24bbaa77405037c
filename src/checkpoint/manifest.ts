/**
 * The checkpoint manifest: part of the on-disk format, and its one home.
 *
 * A manifest is an encoded value (src/codec/value-codec.ts) of the shape
 * `{ format: 1, turn, slots: { name: BlobLink(VALUE, ref) }, pluginRevision?, meta? }`.
 * {@link manifestValue} gives the value a writer encodes; {@link parseManifest}
 * checks a decoded one and gives the {@link Manifest} back. Every reader (the
 * checkpoint store, verify, import) goes through it, so a new manifest format is
 * one change here.
 */
import { BlobLink, LinkTag, type DecodedValue, type LinkSite } from "../codec/value-codec.js";
import { CairnError } from "../errors.js";
import type { Ref } from "../hash/ref.js";
import type { Manifest } from "./checkpoint.js";

/** The manifest format this cairn writes and reads. */
export const MANIFEST_FORMAT = 1;

/** The value a writer encodes for `manifest`: its slots as value links. */
export function manifestValue(manifest: Manifest): Record<string, unknown> {
  const linked: Record<string, BlobLink> = {};
  for (const [name, ref] of Object.entries(manifest.slots)) linked[name] = new BlobLink(LinkTag.VALUE, ref);
  return { ...manifest, slots: linked };
}

/** A decoded manifest, checked. */
export interface ParsedManifest {
  readonly manifest: Manifest;
  /**
   * The links in it other than its slots (a large meta value moved out), still
   * unresolved. Resolving them (replacing in place) updates `manifest`.
   */
  readonly pending: readonly LinkSite[];
}

/**
 * Checks that `decoded` (the decoded bytes of blob `ref`) is a manifest of the
 * format this cairn reads, and returns it. Nothing is read: slot values and
 * other links stay refs.
 * @throws CairnError INTEGRITY (`details.ref`) when it is not one: another
 *   format, a turn that is not an integer, no slots, a slot that is not a value link.
 */
export function parseManifest(decoded: DecodedValue, ref: Ref): ParsedManifest {
  const raw = decoded.value as Record<string, unknown> | null;
  const notManifest = (why: string) => new CairnError("INTEGRITY", `blob ${ref} is not a checkpoint manifest: ${why}`, { ref });
  if (typeof raw !== "object" || raw === null || raw.format !== MANIFEST_FORMAT) throw notManifest(`no format ${MANIFEST_FORMAT} marker`);
  if (!Number.isSafeInteger(raw.turn)) throw notManifest("turn is not an integer");
  const rawSlots = raw.slots as Record<string, unknown> | null;
  if (typeof rawSlots !== "object" || rawSlots === null) throw notManifest("no slots");
  const slots: Record<string, Ref> = {};
  const slotLinks = new Set<unknown>();
  for (const [name, link] of Object.entries(rawSlots)) {
    if (!(link instanceof BlobLink) || link.tag !== LinkTag.VALUE) throw notManifest(`slot ${name} is not a value link`);
    slots[name] = link.ref;
    slotLinks.add(link);
  }
  const build = (): Manifest => ({
    format: MANIFEST_FORMAT,
    turn: raw.turn as number,
    slots,
    ...("pluginRevision" in raw ? { pluginRevision: raw.pluginRevision as string | number } : {}),
    ...("meta" in raw ? { meta: raw.meta } : {}),
  });
  const parsed = { manifest: build(), pending: [] as LinkSite[] };
  for (const site of decoded.links) {
    if (slotLinks.has(site.link)) continue;
    parsed.pending.push({
      link: site.link,
      replace: (resolved) => {
        site.replace(resolved);
        parsed.manifest = build();
      },
    });
  }
  return parsed;
}
