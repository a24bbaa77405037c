/**
 * One checkpoint: metadata with parent/next links, the conversation (when the
 * server recognised one) and the raw state as trees, slot by slot. In write
 * mode: "Fork from here" and "Pin".
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, postJson, query, useJson, type CheckpointData, type Timeline } from "../api";
import { Conversation } from "../conversation";
import { bytes, count } from "../format";
import { useKeys } from "../keys";
import { href, navigate } from "../router";
import { Tree } from "../tree";
import { ErrorView, Loading, RefText, Time } from "../ui";

/** `/s/<id>/<seq>`: finds the row's ref through the timeline, then shows it. */
export function SessionCheckpointPage({ session, seq, search, writeMode }: { session: string; seq: number; search: URLSearchParams; writeMode: boolean }) {
  const row = useJson<Timeline>(`/api/sessions/${encodeURIComponent(session)}/timeline${query({ before: seq + 1, limit: 1 })}`);
  const found = row.data?.rows[0];
  const ref = found !== undefined && found.seq === seq ? found.ref : null;
  if (row.error !== null) return <ErrorView error={row.error} />;
  if (row.loading) return <Loading what="checkpoint" />;
  if (ref === null) return <ErrorView error={new ApiError(404, "NOT_FOUND", `session ${session} has no checkpoint at seq ${seq}`)} />;
  return <CheckpointView cpRef={ref} session={session} seq={seq} search={search} writeMode={writeMode} />;
}

/** `/c/<ref>`. */
export function RefCheckpointPage({ cpRef, search, writeMode }: { cpRef: string; search: URLSearchParams; writeMode: boolean }) {
  return <CheckpointView cpRef={cpRef} session={null} seq={null} search={search} writeMode={writeMode} />;
}

function CheckpointView({ cpRef, session, seq, search, writeMode }: { cpRef: string; session: string | null; seq: number | null; search: URLSearchParams; writeMode: boolean }) {
  const { data, error, loading } = useJson<CheckpointData>(`/api/checkpoints/${encodeURIComponent(cpRef)}${query({ session, seq })}`);
  const ctxSession = session ?? data?.session ?? null;
  const ctxSeq = seq ?? data?.seq ?? null;
  const inSession = ctxSession !== null && ctxSeq !== null;
  const linkTo = (target: { seq: number; ref: string }) => (ctxSession !== null && typeof target.seq === "number" ? href.checkpoint(ctxSession, target.seq) : href.checkpointRef(target.ref));
  const parentDiff = data?.parent ? (inSession ? href.parentDiff(ctxSession, ctxSeq) : href.diff(data.parent.ref, data.ref)) : null;

  useEffect(() => {
    document.title = `${inSession ? `${ctxSession} @ ${ctxSeq}` : cpRef.slice(0, 12)} · cairn`;
  }, [cpRef, ctxSession, ctxSeq]);
  useKeys({
    next: () => data?.next && navigate(linkTo(data.next)),
    prev: () => data?.parent && navigate(linkTo(data.parent)),
    diff: () => parentDiff !== null && navigate(parentDiff),
    up: () => navigate(ctxSession !== null ? href.session(ctxSession) : href.sessions()),
  });

  const hasConversation = data !== null && Array.isArray(data.conversation);
  const tab = search.get("tab") === "state" || !hasConversation ? "state" : "conversation";
  const tabHref = (name: string) => {
    const q = new URLSearchParams(search);
    if (name === "conversation") q.delete("tab");
    else q.set("tab", name);
    const s = q.toString();
    return window.location.pathname + (s === "" ? "" : `?${s}`);
  };

  return (
    <div class="page checkpoint-page" data-testid="checkpoint-page">
      <nav class="crumbs">
        <a href={href.sessions()}>Sessions</a>
        {ctxSession !== null ? (
          <>
            {" / "}
            <a href={href.session(ctxSession)}>{ctxSession}</a>
          </>
        ) : null}
        {" / "}
        <span>{ctxSeq !== null ? `seq ${ctxSeq}` : cpRef.slice(0, 12)}</span>
      </nav>
      <header class="page-head">
        <h1>
          Checkpoint {ctxSeq !== null ? <span data-testid="checkpoint-seq">#{ctxSeq}</span> : <RefText value={cpRef} />}
        </h1>
        {data !== null ? (
          <nav class="step-links">
            {data.parent ? (
              <a href={linkTo(data.parent)} data-testid="parent-link" rel="prev">
                ← parent{typeof data.parent.seq === "number" ? ` (#${data.parent.seq})` : ""}
              </a>
            ) : (
              <span class="muted">no parent</span>
            )}
            {parentDiff !== null ? (
              <a href={parentDiff} data-testid="parent-diff-link">
                diff against parent
              </a>
            ) : null}
            {data.next ? (
              <a href={linkTo(data.next)} data-testid="next-link" rel="next">
                next{typeof data.next.seq === "number" ? ` (#${data.next.seq})` : ""} →
              </a>
            ) : (
              <span class="muted">newest</span>
            )}
          </nav>
        ) : null}
      </header>
      {error !== null ? <ErrorView error={error} /> : null}
      {loading ? <Loading what="checkpoint" /> : null}
      {data !== null ? (
        <>
          <dl class="meta-list" data-testid="checkpoint-meta">
            <dt>Ref</dt>
            <dd>
              <code class="ref full" data-testid="checkpoint-ref">{data.ref}</code>
            </dd>
            {ctxSession !== null ? (
              <>
                <dt>Session</dt>
                <dd>
                  <a href={href.session(ctxSession)}>{ctxSession}</a>
                  {ctxSeq !== null ? <span class="muted"> seq {ctxSeq}</span> : null}
                </dd>
              </>
            ) : null}
            <dt>Turn</dt>
            <dd data-testid="checkpoint-turn">{data.turn}</dd>
            <dt>Label</dt>
            <dd data-testid="checkpoint-label">{data.label ?? <span class="muted">–</span>}</dd>
            <dt>Created</dt>
            <dd>
              <Time iso={data.createdAt} />
            </dd>
            {data.pluginRevision !== null && data.pluginRevision !== undefined ? (
              <>
                <dt>Plugin revision</dt>
                <dd>{String(data.pluginRevision)}</dd>
              </>
            ) : null}
            {data.format ? (
              <>
                <dt>Format</dt>
                <dd>{data.format}</dd>
              </>
            ) : null}
            {data.meta !== null && data.meta !== undefined && !(typeof data.meta === "object" && Object.keys(data.meta).length === 0) ? (
              <>
                <dt>Meta</dt>
                <dd>
                  <Tree value={data.meta} ctx={{ ref: null, slot: null }} openDepth={1} testId="checkpoint-meta-tree" />
                </dd>
              </>
            ) : null}
            {data.historyMeta !== null && data.historyMeta !== undefined && !(typeof data.historyMeta === "object" && Object.keys(data.historyMeta).length === 0) ? (
              <>
                <dt>Commit meta</dt>
                <dd>
                  <Tree value={data.historyMeta} ctx={{ ref: null, slot: null }} openDepth={1} testId="checkpoint-history-meta" />
                </dd>
              </>
            ) : null}
          </dl>
          {data.conversationError ? (
            <p class="error" data-testid="conversation-error">
              The conversation could not be read: {data.conversationError.code}: {data.conversationError.message}
            </p>
          ) : null}
          {writeMode ? <WriteActions cpRef={data.ref} session={ctxSession} seq={ctxSeq} /> : null}
          {hasConversation ? (
            <nav class="tabs" role="tablist">
              <a href={tabHref("conversation")} role="tab" aria-selected={tab === "conversation"} class={tab === "conversation" ? "active" : undefined} data-testid="tab-conversation">
                Conversation ({count(data.conversation!.length)})
              </a>
              <a href={tabHref("state")} role="tab" aria-selected={tab === "state"} class={tab === "state" ? "active" : undefined} data-testid="tab-state">
                Raw state
              </a>
            </nav>
          ) : null}
          {tab === "conversation" && hasConversation ? <Conversation messages={data.conversation!} /> : <RawState data={data} />}
          <p class="keys-help muted">Keys: j/k or ↓/↑ next/previous checkpoint, d diff against parent, Esc up.</p>
        </>
      ) : null}
    </div>
  );
}

function RawState({ data }: { data: CheckpointData }) {
  const names = [...new Set([...Object.keys(data.slots ?? {}), ...Object.keys(data.state ?? {})])].sort();
  return (
    <div class="raw-state" data-testid="raw-state">
      <table class="grid slots" data-testid="slots-table">
        <thead>
          <tr>
            <th>Slot</th>
            <th>Ref</th>
            <th>Kind</th>
            <th class="num">Size</th>
            <th class="num">Stored</th>
            <th>Raw</th>
          </tr>
        </thead>
        <tbody>
          {names.map((name) => {
            const slot = data.slots?.[name];
            return (
              <tr key={name} data-testid="slot-row" data-slot={name}>
                <td class="id">{name}</td>
                <td>{slot ? <RefText value={slot.ref} /> : null}</td>
                <td>{slot?.kind ?? ""}</td>
                <td class="num" title={slot ? `${count(slot.size)} bytes` : ""}>{slot ? bytes(slot.size) : ""}</td>
                <td class="num" title={slot ? `${count(slot.storedSize)} bytes` : ""}>{slot ? bytes(slot.storedSize) : ""}</td>
                <td>
                  {slot ? (
                    <a href={href.rawBlob(slot.ref)} target="_blank" rel="noopener" data-testid="raw-link">
                      raw
                    </a>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {names.length === 0 ? <p class="muted">No slots.</p> : null}
      {names.map((name) =>
        data.state && name in data.state ? (
          <section class="slot-state" key={name} data-testid="slot-state" data-slot={name}>
            <h3>{name}</h3>
            <Tree value={data.state[name]} ctx={{ ref: data.ref, slot: name }} openDepth={2} />
          </section>
        ) : null,
      )}
    </div>
  );
}

function WriteActions({ cpRef, session, seq }: { cpRef: string; session: string | null; seq: number | null }) {
  const [open, setOpen] = useState<"fork" | "pin" | null>(null);
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const start = (what: "fork" | "pin") => {
    setOpen(what);
    setResult(null);
    setValue(what === "fork" ? `${session ?? "session"}-fork-${seq ?? 0}` : session !== null && seq !== null ? `${session}@${seq}` : `checkpoint-${cpRef.slice(0, 12)}`);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const name = value.trim();
    if (name === "" || open === null) return;
    setBusy(true);
    setResult(null);
    try {
      if (open === "fork") {
        if (session === null || seq === null) return;
        const answer = await postJson<{ session: string }>(`/api/sessions/${encodeURIComponent(session)}/fork`, { at: seq, newId: name });
        setOpen(null);
        navigate(href.session(answer.session ?? name));
      } else {
        const pin = await postJson<{ name: string; ref: string }>(`/api/pins`, { name, ref: cpRef });
        setOpen(null);
        setResult({ ok: true, text: `Pinned as "${pin.name ?? name}".` });
      }
    } catch (error) {
      setResult({ ok: false, text: error instanceof ApiError ? `${error.code}: ${error.message}` : String(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="actions" data-testid="write-actions">
      {session !== null && seq !== null ? (
        <button type="button" data-testid="fork-button" onClick={() => start("fork")} aria-expanded={open === "fork"}>
          Fork from here
        </button>
      ) : null}
      <button type="button" data-testid="pin-button" onClick={() => start("pin")} aria-expanded={open === "pin"}>
        Pin
      </button>
      {open !== null ? (
        <form class="action-form" onSubmit={submit} data-testid={`${open}-form`}>
          <label>
            {open === "fork" ? "New session id" : "Pin name"}{" "}
            <input
              type="text"
              data-testid={`${open}-input`}
              value={value}
              spellcheck={false}
              autoFocus
              required
              onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" disabled={busy} data-testid={`${open}-submit`}>
            {open === "fork" ? "Create fork" : "Pin"}
          </button>
          <button type="button" class="secondary" onClick={() => setOpen(null)}>
            Cancel
          </button>
        </form>
      ) : null}
      {result !== null ? (
        <span class={result.ok ? "ok-inline" : "error-inline"} data-testid="action-result" role="status">
          {result.text}
        </span>
      ) : null}
    </div>
  );
}
