/**
 * A collapsible tree of a `Rendered` value (CONTRACT.md): plain JSON as itself,
 * and the tagged forms (`{ "$": ... }`) for long strings, bytes, maps, sets,
 * dates, bigints, undefined, non-finite numbers, wrapped objects and truncated
 * arrays. Long strings and bytes can be fetched whole from the value endpoint.
 * All text is rendered by Preact as text.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { getJson, query, type Rendered } from "./api";
import { count } from "./format";

/** Where a value comes from, for the value endpoint (`ref` null: cannot fetch). */
export interface TreeContext {
  ref: string | null;
  slot: string | null;
}

type Tagged = { $: string; [key: string]: unknown };

function isTagged(v: unknown): v is Tagged {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { $?: unknown }).$ === "string";
}

function isMore(v: unknown): v is { $: "more"; count: number; path?: string } {
  return isTagged(v) && v.$ === "more";
}

function pointer(parent: string | undefined, key: string | number): string | undefined {
  if (parent === undefined) return undefined;
  return `${parent}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

const STRING_FOLD = 400;
/** Containers with more children than this start collapsed. */
const OPEN_MAX = 50;

function StringValue({ text }: { text: string }) {
  const [all, setAll] = useState(false);
  if (text.length <= STRING_FOLD || all) {
    return (
      <span class="v-string">
        "{text}"
        {text.length > STRING_FOLD ? (
          <button type="button" class="link-button" onClick={() => setAll(false)}>
            less
          </button>
        ) : null}
      </span>
    );
  }
  return (
    <span class="v-string">
      "{text.slice(0, STRING_FOLD)}…"{" "}
      <button type="button" class="link-button" onClick={() => setAll(true)}>
        show all {count(text.length)} chars
      </button>
    </span>
  );
}

/** An elided string or bytes: the preview, and an expand button that fetches the whole value. */
function Elided({ value, ctx }: { value: Tagged; ctx: TreeContext }) {
  const [state, setState] = useState<{ loading: boolean; full: string | null; error: string | null }>({ loading: false, full: null, error: null });
  const isBytes = value.$ === "bytes";
  const length = typeof value.length === "number" ? value.length : null;
  const preview = typeof value.preview === "string" ? value.preview : typeof value.hex === "string" ? value.hex : "";
  const path = typeof value.path === "string" ? value.path : null;
  const inlineHex = isBytes && typeof value.hex === "string" ? value.hex : null;
  const canFetch = ctx.ref !== null && ctx.slot !== null && path !== null && inlineHex === null;
  const expand = () => {
    if (!canFetch) return;
    setState({ loading: true, full: null, error: null });
    getJson<{ value: Rendered }>(`/api/checkpoints/${encodeURIComponent(ctx.ref!)}/value${query({ slot: ctx.slot, path })}`).then(
      ({ value: got }) => {
        let full: string;
        if (typeof got === "string") full = got;
        else if (isTagged(got) && typeof got.hex === "string") full = got.hex;
        else if (isTagged(got) && typeof got.preview === "string") full = got.preview;
        else full = JSON.stringify(got);
        setState({ loading: false, full, error: null });
      },
      (error: unknown) => setState({ loading: false, full: null, error: error instanceof Error ? error.message : String(error) }),
    );
  };
  const shown = inlineHex ?? state.full;
  return (
    <span class={isBytes ? "v-bytes" : "v-string"} data-testid="elided">
      <span class="tag">{isBytes ? `bytes(${length === null ? "?" : count(length)})` : `string(${length === null ? "?" : count(length)} chars)`}</span>{" "}
      {shown !== null ? (
        <pre class="full-value" data-testid="expanded-value">
          {shown}
        </pre>
      ) : (
        <>
          <span class="preview">{isBytes ? preview : `"${preview}…"`}</span>{" "}
          {canFetch ? (
            <button type="button" class="small" data-testid="expand-value" disabled={state.loading} onClick={expand}>
              {state.loading ? "loading…" : "expand"}
            </button>
          ) : null}
          {state.error !== null ? <span class="error-inline">{state.error}</span> : null}
        </>
      )}
    </span>
  );
}

interface NodeProps {
  name?: ComponentChildren;
  value: Rendered;
  ctx: TreeContext;
  depth: number;
  path: string | undefined;
  openDepth: number;
}

function Collapsible({
  name,
  summary,
  kind,
  path,
  open: initiallyOpen,
  children,
}: {
  name?: ComponentChildren;
  summary: string;
  kind: string;
  path: string | undefined;
  open: boolean;
  children: () => ComponentChildren;
}) {
  const [open, setOpen] = useState(initiallyOpen);
  return (
    <div class="node" data-testid="tree-node" data-kind={kind} data-path={path}>
      <button type="button" class="toggle" aria-expanded={open} data-testid="tree-toggle" onClick={() => setOpen(!open)}>
        <span class="caret">{open ? "▾" : "▸"}</span>
        {name !== undefined ? <span class="key">{name}</span> : null}
        {name !== undefined ? <span class="colon">: </span> : null}
        <span class="summary">{summary}</span>
      </button>
      {open ? <div class="children">{children()}</div> : null}
    </div>
  );
}

function Leaf({ name, kind, path, children }: { name?: ComponentChildren; kind: string; path: string | undefined; children: ComponentChildren }) {
  return (
    <div class="node leaf" data-testid="tree-node" data-kind={kind} data-path={path}>
      {name !== undefined ? <span class="key">{name}</span> : null}
      {name !== undefined ? <span class="colon">: </span> : null}
      {children}
    </div>
  );
}

function TreeNode({ name, value, ctx, depth, path, openDepth }: NodeProps) {
  const open = depth < openDepth;
  if (value === null) return <Leaf name={name} kind="null" path={path}><span class="v-null">null</span></Leaf>;
  if (typeof value === "boolean") return <Leaf name={name} kind="boolean" path={path}><span class="v-bool">{String(value)}</span></Leaf>;
  if (typeof value === "number") return <Leaf name={name} kind="number" path={path}><span class="v-number">{String(value)}</span></Leaf>;
  if (typeof value === "string") return <Leaf name={name} kind="string" path={path}><StringValue text={value} /></Leaf>;
  if (Array.isArray(value)) {
    const items = value.filter((v) => !isMore(v));
    const more = value.find(isMore);
    const total = items.length + (more !== undefined && typeof more.count === "number" ? more.count : 0);
    return (
      <Collapsible name={name} kind="array" path={path} open={open && total <= OPEN_MAX} summary={`Array(${count(total)})`}>
        {() => (
          <>
            {value.length === 0 ? <span class="empty">empty</span> : null}
            {value.map((item, i) =>
              isMore(item) ? (
                <div class="node more" data-testid="tree-node" data-kind="more" key={`more${i}`}>
                  … {count(item.count)} more item{item.count === 1 ? "" : "s"} not shown
                </div>
              ) : (
                <TreeNode key={i} name={<span class="index">{i}</span>} value={item} ctx={ctx} depth={depth + 1} path={pointer(path, i)} openDepth={openDepth} />
              ),
            )}
          </>
        )}
      </Collapsible>
    );
  }
  if (typeof value !== "object") return <Leaf name={name} kind="unknown" path={path}><span>{String(value)}</span></Leaf>;
  if (isTagged(value)) {
    switch (value.$) {
      case "string":
      case "bytes":
        return <Leaf name={name} kind={value.$} path={path}><Elided value={value} ctx={ctx} /></Leaf>;
      case "map": {
        const entries = Array.isArray(value.entries) ? (value.entries as unknown[]) : [];
        return (
          <Collapsible name={name} kind="map" path={path} open={open && entries.length <= OPEN_MAX} summary={`Map(${count(entries.length)})`}>
            {() => (
              <>
                {entries.length === 0 ? <span class="empty">empty</span> : null}
                {entries.map((entry, i) => {
                  const [k, v] = Array.isArray(entry) ? entry : [undefined, entry];
                  const simpleKey = typeof k === "string" || typeof k === "number" || typeof k === "boolean" || k === null;
                  return simpleKey ? (
                    <TreeNode key={i} name={<span class="map-key">{typeof k === "string" ? JSON.stringify(k) : String(k)} →</span>} value={v as Rendered} ctx={ctx} depth={depth + 1} path={undefined} openDepth={openDepth} />
                  ) : (
                    <TreeNode key={i} name={<span class="index">entry {i}</span>} value={{ key: k, value: v }} ctx={ctx} depth={depth + 1} path={undefined} openDepth={openDepth} />
                  );
                })}
              </>
            )}
          </Collapsible>
        );
      }
      case "set": {
        const values = Array.isArray(value.values) ? (value.values as unknown[]) : [];
        return (
          <Collapsible name={name} kind="set" path={path} open={open && values.length <= OPEN_MAX} summary={`Set(${count(values.length)})`}>
            {() => (
              <>
                {values.length === 0 ? <span class="empty">empty</span> : null}
                {values.map((v, i) => (
                  <TreeNode key={i} value={v as Rendered} ctx={ctx} depth={depth + 1} path={undefined} openDepth={openDepth} />
                ))}
              </>
            )}
          </Collapsible>
        );
      }
      case "date":
        return <Leaf name={name} kind="date" path={path}><span class="v-special">Date {value.iso === null ? "(invalid)" : String(value.iso)}</span></Leaf>;
      case "bigint":
        return <Leaf name={name} kind="bigint" path={path}><span class="v-number">{String(value.value)}n</span></Leaf>;
      case "undefined":
        return <Leaf name={name} kind="undefined" path={path}><span class="v-null">undefined</span></Leaf>;
      case "number":
        return <Leaf name={name} kind="number" path={path}><span class="v-number">{String(value.value)}</span></Leaf>;
      case "object":
        return <ObjectNode name={name} value={(value.value ?? {}) as Record<string, unknown>} ctx={ctx} depth={depth} path={path} openDepth={openDepth} />;
      case "unsupported":
        return <Leaf name={name} kind="unsupported" path={path}><span class="v-special">unsupported {String(value.type)}</span></Leaf>;
      case "more":
        return <Leaf name={name} kind="more" path={path}><span class="more">… {count(Number(value.count))} more</span></Leaf>;
      default:
        break;
    }
  }
  return <ObjectNode name={name} value={value as Record<string, unknown>} ctx={ctx} depth={depth} path={path} openDepth={openDepth} />;
}

function ObjectNode({ name, value, ctx, depth, path, openDepth }: Omit<NodeProps, "value"> & { value: Record<string, unknown> }) {
  const keys = Object.keys(value);
  return (
    <Collapsible name={name} kind="object" path={path} open={depth < openDepth && keys.length <= OPEN_MAX} summary={`{${count(keys.length)} key${keys.length === 1 ? "" : "s"}}`}>
      {() => (
        <>
          {keys.length === 0 ? <span class="empty">empty</span> : null}
          {keys.map((k) => (
            <TreeNode key={k} name={k} value={value[k] as Rendered} ctx={ctx} depth={depth + 1} path={pointer(path, k)} openDepth={openDepth} />
          ))}
        </>
      )}
    </Collapsible>
  );
}

/** The tree of one value. `openDepth`: levels open at first. */
export function Tree({ value, ctx, name, openDepth = 2, testId = "tree" }: { value: Rendered; ctx: TreeContext; name?: string; openDepth?: number; testId?: string }) {
  return (
    <div class="tree" data-testid={testId}>
      <TreeNode name={name} value={value} ctx={ctx} depth={0} path="" openDepth={openDepth} />
    </div>
  );
}

/** A short one-line rendering of a value, for tables (falls back to a tree for containers). */
export function InlineValue({ value, ctx }: { value: Rendered; ctx: TreeContext }) {
  if (value === undefined) return <span class="v-null">–</span>;
  if (value === null || typeof value !== "object") return <Tree value={value} ctx={ctx} openDepth={0} testId="value" />;
  return <Tree value={value} ctx={ctx} openDepth={1} testId="value" />;
}
