/**
 * The diff of two checkpoints: per slot status (unchanged slots folded away),
 * the JSON Patch operations of changed slots as a before / after table, and
 * red / green line diffs of long strings.
 */
import { useEffect } from "preact/hooks";
import { ApiError, query, useJson, type DiffData, type DiffOp, type DiffSide, type Hunk, type LineDiffData, type SlotDiffData, type Timeline } from "../api";
import { count } from "../format";
import { useKeys } from "../keys";
import { href, navigate } from "../router";
import { InlineValue, type TreeContext } from "../tree";
import { ErrorView, Loading, RefText } from "../ui";

export interface SideContext {
  session: string;
  aSeq: number;
  bSeq: number;
}

/** `/s/<id>/<seq>/diff`: the row and the one before it in the session, through the timeline. */
export function ParentDiffPage({ session, seq }: { session: string; seq: number }) {
  const rows = useJson<Timeline>(`/api/sessions/${encodeURIComponent(session)}/timeline${query({ before: seq + 1, limit: 2 })}`);
  if (rows.error !== null) return <ErrorView error={rows.error} />;
  if (rows.loading || rows.data === null) return <Loading what="diff" />;
  const [b, a] = rows.data.rows;
  if (b === undefined || b.seq !== seq) return <ErrorView error={new ApiError(404, "NOT_FOUND", `session ${session} has no checkpoint at seq ${seq}`)} />;
  if (a === undefined)
    return (
      <div class="page diff-page" data-testid="diff-page">
        <p data-testid="diff-no-parent">
          <a href={href.checkpoint(session, seq)}>Checkpoint #{seq}</a> is the first of <a href={href.session(session)}>{session}</a>: it has no parent to diff against.
        </p>
      </div>
    );
  return <DiffPage a={a.ref} b={b.ref} context={{ session, aSeq: a.seq, bSeq: b.seq }} />;
}

function sideLink(side: DiffSide, context: SideContext | null, which: "a" | "b"): string {
  if (context !== null) return href.checkpoint(context.session, which === "a" ? context.aSeq : context.bSeq);
  if (side.session && typeof side.seq === "number") return href.checkpoint(side.session, side.seq);
  return href.checkpointRef(side.ref);
}

function Side({ side, context, which }: { side: DiffSide; context: SideContext | null; which: "a" | "b" }) {
  const seq = context !== null ? (which === "a" ? context.aSeq : context.bSeq) : null;
  return (
    <div class={`diff-side side-${which}`} data-testid={`diff-side-${which}`}>
      <a href={sideLink(side, context, which)}>{seq !== null ? `#${seq}` : <RefText value={side.ref} />}</a>
      <span class="muted">
        {" "}
        turn {side.turn}
        {side.label ? ` · ${side.label}` : ""}
      </span>
    </div>
  );
}

export function DiffPage({ a, b, context = null }: { a: string; b: string; context?: SideContext | null }) {
  const { data, error, loading } = useJson<DiffData>(`/api/diff${query({ a, b })}`);
  useEffect(() => {
    document.title = `diff ${context !== null ? `${context.session} #${context.aSeq} → #${context.bSeq}` : `${a.slice(0, 8)} → ${b.slice(0, 8)}`} · cairn`;
  }, [a, b]);
  useKeys({
    up: () => navigate(context !== null ? href.checkpoint(context.session, context.bSeq) : href.checkpointRef(b)),
  });
  const slots = data?.slots ?? [];
  const shown = slots.filter((s) => s.status !== "unchanged");
  const unchanged = slots.filter((s) => s.status === "unchanged");
  const metaOps = data?.meta ? (data.meta.ops ?? data.meta.patch ?? []) : [];
  return (
    <div class="page diff-page" data-testid="diff-page">
      <nav class="crumbs">
        <a href={href.sessions()}>Sessions</a>
        {context !== null ? (
          <>
            {" / "}
            <a href={href.session(context.session)}>{context.session}</a>
            {" / "}
            <a href={href.checkpoint(context.session, context.bSeq)}>seq {context.bSeq}</a>
          </>
        ) : null}
        {" / diff"}
      </nav>
      <h1>Diff</h1>
      {error !== null ? <ErrorView error={error} /> : null}
      {loading ? <Loading what="diff" /> : null}
      {data !== null ? (
        <>
          <div class="diff-head">
            <Side side={data.a} context={context} which="a" />
            <span class="arrow">→</span>
            <Side side={data.b} context={context} which="b" />
          </div>
          <ul class="diff-summary" data-testid="diff-summary">
            {data.turn ? (
              <li data-testid="diff-turn">
                turn {data.turn.from} → {data.turn.to}
              </li>
            ) : null}
            <li>
              {count(shown.length)} slot{shown.length === 1 ? "" : "s"} differ, {count(unchanged.length)} unchanged
            </li>
            {data.equal === true || (shown.length === 0 && !data.turn && metaOps.length === 0) ? <li data-testid="diff-equal">the two checkpoints hold the same state</li> : null}
          </ul>
          {metaOps.length > 0 ? (
            <section class="diff-slot" data-testid="diff-meta">
              <h3>
                meta <span class="badge status-changed">changed</span>
              </h3>
              <OpsTable ops={metaOps} slot={null} a={data.a.ref} b={data.b.ref} lineDiffPaths={new Set((data.meta?.lineDiffs ?? []).map((d) => d.path))} />
              {(data.meta?.lineDiffs ?? []).map((d, i) => (
                <LineDiffView key={i} diff={d} slot={null} />
              ))}
            </section>
          ) : null}
          {shown.map((slot) => (
            <SlotDiffView key={slot.name} slot={slot} a={data.a.ref} b={data.b.ref} />
          ))}
          {unchanged.length > 0 ? (
            <details class="unchanged" data-testid="unchanged-slots">
              <summary>
                {count(unchanged.length)} unchanged slot{unchanged.length === 1 ? "" : "s"}
              </summary>
              <ul>
                {unchanged.map((slot) => (
                  <li key={slot.name} data-testid="diff-slot" data-slot={slot.name} data-status="unchanged">
                    {slot.name} <span class="badge status-unchanged">unchanged</span>
                  </li>
                ))}
              </ul>
            </details>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function escapeToken(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The path relative to its slot (the store's paths are under `/snapshots/<slot>`). */
function shortPath(path: string, slot: string | null): string {
  const prefix = slot === null ? "/meta" : `/snapshots/${escapeToken(slot)}`;
  if (path === prefix) return "(whole value)";
  if (path.startsWith(`${prefix}/`)) return path.slice(prefix.length);
  return path === "" ? "(whole value)" : path;
}

/** A long string's length, when `value` is one (plain or elided). */
function stringLength(value: unknown): number | null {
  if (typeof value === "string") return value.length;
  if (typeof value === "object" && value !== null && (value as { $?: unknown }).$ === "string") {
    const length = (value as { length?: unknown }).length;
    return typeof length === "number" ? length : null;
  }
  return null;
}

/** Before / after of an op whose string has a line diff below: its length only. */
function LineDiffed({ value }: { value: unknown }) {
  const length = stringLength(value);
  return <span class="muted">{length !== null ? `string (${count(length)} chars): ` : ""}see the line diff below</span>;
}

function OpsTable({ ops, slot, a, b, lineDiffPaths }: { ops: DiffOp[]; slot: string | null; a: string; b: string; lineDiffPaths: Set<string> }) {
  const before: TreeContext = { ref: slot === null ? null : a, slot };
  const after: TreeContext = { ref: slot === null ? null : b, slot };
  return (
    <table class="grid ops" data-testid="diff-ops">
      <thead>
        <tr>
          <th>Op</th>
          <th>Path</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {ops.map((op, i) => (
          <tr key={i} data-testid="diff-op" data-op={op.op} class={`op-${op.op}`}>
            <td>
              <span class={`badge op op-${op.op}`}>{op.op}</span>
            </td>
            <td class="path">
              <code title={op.path}>{shortPath(op.path, slot)}</code>
              {op.from !== undefined ? <div class="muted small-text">from {op.from}</div> : null}
            </td>
            <td class="before">
              {"old" in op ? (
                lineDiffPaths.has(op.path) ? <LineDiffed value={op.old} /> : <InlineValue value={op.old} ctx={before} />
              ) : (
                <span class="muted">{op.op === "add" ? "–" : "(not kept)"}</span>
              )}
            </td>
            <td class="after">
              {"value" in op ? lineDiffPaths.has(op.path) ? <LineDiffed value={op.value} /> : <InlineValue value={op.value} ctx={after} /> : <span class="muted">–</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SlotDiffView({ slot, a, b }: { slot: SlotDiffData; a: string; b: string }) {
  const ops = slot.ops ?? [];
  const lineDiffs = slot.lineDiffs ?? [];
  return (
    <section class={`diff-slot slot-${slot.status}`} data-testid="diff-slot" data-slot={slot.name} data-status={slot.status}>
      <h3>
        {slot.name} <span class={`badge status-${slot.status}`}>{slot.status}</span>
      </h3>
      {ops.length > 0 ? <OpsTable ops={ops} slot={slot.name} a={a} b={b} lineDiffPaths={new Set(lineDiffs.map((d) => d.path))} /> : slot.status === "changed" ? <p class="muted">No operations.</p> : null}
      {lineDiffs.map((d, i) => (
        <LineDiffView key={i} diff={d} slot={slot.name} />
      ))}
    </section>
  );
}

type LineKind = "same" | "add" | "del" | "note";

function hunkLines(hunk: Hunk): { kind: LineKind; text: string }[] {
  const lines = Array.isArray(hunk.lines) ? hunk.lines : [];
  if (hunk.kind === "same" || hunk.kind === "add" || hunk.kind === "del") {
    const kind = hunk.kind;
    return lines.map((text) => ({ kind, text }));
  }
  return lines.map((line) => {
    const mark = line.charAt(0);
    if (mark === "+") return { kind: "add" as const, text: line.slice(1) };
    if (mark === "-") return { kind: "del" as const, text: line.slice(1) };
    if (mark === "\\") return { kind: "note" as const, text: line };
    return { kind: "same" as const, text: mark === " " ? line.slice(1) : line };
  });
}

const MARK: Record<LineKind, string> = { same: " ", add: "+", del: "-", note: " " };

function LineDiffView({ diff, slot }: { diff: LineDiffData; slot: string | null }) {
  const hunks = Array.isArray(diff.hunks) ? diff.hunks : [];
  return (
    <div class="line-diff" data-testid="line-diff" data-path={diff.path}>
      <div class="line-diff-head">
        <code title={diff.path}>{shortPath(diff.path, slot)}</code>
        {typeof diff.aLength === "number" && typeof diff.bLength === "number" ? (
          <span class="muted">
            {" "}
            {count(diff.aLength)} → {count(diff.bLength)} chars
          </span>
        ) : null}
      </div>
      {diff.complete === false ? <p class="muted">The texts differ in too many lines for a line diff.</p> : null}
      <div class="lines">
        {hunks.map((hunk, h) => (
          <div class="hunk" key={h}>
            {typeof hunk.oldStart === "number" && typeof hunk.newStart === "number" ? (
              <div class="line hunk-head">
                @@ -{hunk.oldStart} +{hunk.newStart} @@
              </div>
            ) : null}
            {hunkLines(hunk).map((line, i) => (
              <div key={i} class={`line ${line.kind}`} data-testid="diff-line" data-kind={line.kind}>
                <span class="mark">{MARK[line.kind]}</span>
                {line.text}
              </div>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
