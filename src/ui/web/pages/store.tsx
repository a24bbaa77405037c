/** The store overview: stats, bytes by kind, the largest blobs and who reaches them, and verify. */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, getJson, postJson, useJson, type StoreData, type VerifyFinding, type VerifyStatus } from "../api";
import { bytes, count, exactTime, ratio } from "../format";
import { href } from "../router";
import { ErrorView, Loading, RefText, Section, Time } from "../ui";

function Stat({ label, value, title, testId }: { label: string; value: string; title?: string; testId?: string }) {
  return (
    <div class="stat" data-testid={testId ?? "stat"} title={title}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

export function StorePage() {
  const { data, error, loading } = useJson<StoreData>("/api/store");
  useEffect(() => {
    document.title = "Store · cairn";
  }, []);
  return (
    <div class="page store-page" data-testid="store-page">
      <h1>Store</h1>
      {error !== null ? <ErrorView error={error} /> : null}
      {loading ? <Loading what="store" /> : null}
      {data !== null ? <StoreView data={data} /> : null}
      <Verify />
    </div>
  );
}

function StoreView({ data }: { data: StoreData }) {
  const { stats, usage } = data;
  const totals = usage?.totals;
  const kinds = Object.entries(stats.byKind ?? {}).sort((x, y) => y[1].storedBytes - x[1].storedBytes || x[0].localeCompare(y[0]));
  const max = Math.max(1, ...kinds.map(([, k]) => Math.max(k.storedBytes, k.logicalBytes)));
  return (
    <>
      <div class="stats" data-testid="store-stats">
        <Stat label="sessions" value={count(stats.sessions)} testId="stat-sessions" />
        <Stat label="checkpoints" value={count(stats.checkpoints)} testId="stat-checkpoints" />
        <Stat label="blobs" value={count(stats.blobs?.count)} testId="stat-blobs" />
        <Stat label="stored" value={bytes(stats.storedBytes)} title={`${count(stats.storedBytes)} bytes`} testId="stat-stored" />
        <Stat label="logical" value={bytes(stats.logicalBytes)} title={`${count(stats.logicalBytes)} bytes: every distinct blob once`} testId="stat-logical" />
        <Stat label="referenced" value={bytes(stats.referencedBytes)} title={`${count(stats.referencedBytes)} bytes: a full copy per checkpoint`} testId="stat-referenced" />
        <Stat label="dedup ratio" value={ratio(stats.dedupRatio)} title="referenced / stored bytes" testId="stat-dedup" />
        <Stat label="compression ratio" value={ratio(stats.compressionRatio)} title="logical / stored bytes of raw and deflated rows" testId="stat-compression" />
        <Stat label="pins" value={count(stats.pins)} testId="stat-pins" />
        <Stat label="edges" value={count(stats.edges)} testId="stat-edges" />
      </div>
      {totals ? (
        <p class="muted" data-testid="store-usage">
          Of {bytes(totals.storedBytes)} stored: {bytes(totals.historyBytes)} reached by history, {bytes(totals.pinnedOnlyBytes)} kept by pins only, {bytes(totals.garbageBytes)} garbage ({count(totals.garbageBlobs)} blobs).
        </p>
      ) : null}
      <Section title="Bytes by kind" testId="kind-section">
        <div class="bar-chart" data-testid="kind-chart" role="table" aria-label="Stored and logical bytes by blob kind">
          <div class="bar-legend muted">
            <span class="swatch stored" /> stored <span class="swatch logical" /> logical
          </div>
          {kinds.map(([kind, k]) => (
            <div class="bar-row" key={kind} data-testid="kind-bar" data-kind={kind} role="row">
              <div class="bar-label" role="cell">
                {kind}
                <span class="muted small-text"> {count(k.count)} blobs</span>
              </div>
              <div class="bars" role="cell">
                <div class="bar stored" style={{ width: `${(100 * k.storedBytes) / max}%` }} title={`stored ${count(k.storedBytes)} bytes`} />
                <div class="bar logical" style={{ width: `${(100 * k.logicalBytes) / max}%` }} title={`logical ${count(k.logicalBytes)} bytes`} />
              </div>
              <div class="bar-values num" role="cell">
                {bytes(k.storedBytes)} / {bytes(k.logicalBytes)}
              </div>
            </div>
          ))}
          {kinds.length === 0 ? <p class="muted">No blobs.</p> : null}
        </div>
      </Section>
      <Section title="Largest blobs" testId="largest-section">
        <table class="grid" data-testid="largest-table">
          <thead>
            <tr>
              <th>Ref</th>
              <th>Kind</th>
              <th class="num">Stored</th>
              <th class="num">Logical</th>
              <th>Reached by</th>
              <th>Raw</th>
            </tr>
          </thead>
          <tbody>
            {(usage?.largest ?? []).map((blob) => (
              <tr key={blob.ref} data-testid="largest-row" data-ref={blob.ref}>
                <td>
                  <RefText value={blob.ref} />
                </td>
                <td>
                  {blob.kind}
                  {blob.encoding ? <span class="muted small-text"> {blob.encoding}</span> : null}
                </td>
                <td class="num" title={`${count(blob.storedBytes)} bytes`}>{bytes(blob.storedBytes)}</td>
                <td class="num" title={`${count(blob.logicalBytes)} bytes`}>{bytes(blob.logicalBytes)}</td>
                <td class="reachers">
                  {blob.sessions.map((s) => (
                    <a key={s} href={href.session(s)} class="chip" data-testid="blob-session-link">
                      {s}
                    </a>
                  ))}
                  {blob.sessionCount > blob.sessions.length ? <span class="muted"> +{count(blob.sessionCount - blob.sessions.length)} more sessions</span> : null}
                  {blob.pins.map((p) => (
                    <span key={`pin:${p}`} class="chip pin" title="pin" data-testid="blob-pin">
                      pin {p}
                    </span>
                  ))}
                  {blob.pinCount > blob.pins.length ? <span class="muted"> +{count(blob.pinCount - blob.pins.length)} more pins</span> : null}
                  {blob.sessionCount === 0 && blob.pinCount === 0 ? <span class="muted">nothing (garbage)</span> : null}
                </td>
                <td>
                  <a href={href.rawBlob(blob.ref)} target="_blank" rel="noopener">
                    raw
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {(usage?.largest ?? []).length === 0 ? <p class="muted">No blobs.</p> : null}
      </Section>
    </>
  );
}

function findingText(finding: VerifyFinding): string {
  return Object.entries(finding)
    .filter(([key]) => key !== "type")
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

function Verify() {
  const [status, setStatus] = useState<VerifyStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  const alive = useRef(true);

  const poll = () => {
    window.clearTimeout(timer.current);
    getJson<VerifyStatus>("/api/verify").then(
      (s) => {
        if (!alive.current) return;
        setStatus(s);
        setError(null);
        if (s.running) timer.current = window.setTimeout(poll, 400);
      },
      (e: unknown) => {
        if (!alive.current) return;
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  };
  useEffect(() => {
    alive.current = true;
    poll();
    return () => {
      alive.current = false;
      window.clearTimeout(timer.current);
    };
  }, []);

  const start = async () => {
    setStarting(true);
    setError(null);
    try {
      await postJson("/api/verify", {});
      poll();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    } finally {
      setStarting(false);
    }
  };

  const running = status?.running === true;
  const report = status?.report ?? null;
  const jobError = status?.error ? `${status.error.code}: ${status.error.message}` : null;
  const state = error !== null || (jobError !== null && !running) ? "error" : running || starting ? "running" : report === null ? "idle" : report.ok ? "ok" : "failed";
  const pct = status && status.total > 0 ? Math.min(100, (100 * status.done) / status.total) : 0;
  return (
    <Section title="Verify" testId="verify-section">
      <p class="muted">Re-hashes every blob and checks every edge, manifest, history row and pin. Read-only.</p>
      <div class="verify-controls">
        <button type="button" data-testid="verify-button" disabled={running || starting} onClick={start}>
          {running ? "Verifying…" : report !== null ? "Verify again" : "Verify"}
        </button>
        <span class={`verify-status state-${state}`} data-testid="verify-status" data-state={state} role="status">
          {state === "idle" ? "not run" : null}
          {state === "running" ? (status && status.total > 0 ? `checking ${count(status.done)} of ${count(status.total)}` : "starting…") : null}
          {state === "ok" && report !== null ? `OK: no findings (${count(report.counts?.blobs)} blobs, ${bytes(report.counts?.bytesHashed)} hashed)` : null}
          {state === "failed" && report !== null ? `${count(report.findings.length)} finding${report.findings.length === 1 ? "" : "s"}` : null}
          {state === "error" ? (error ?? jobError) : null}
        </span>
      </div>
      {running ? <progress data-testid="verify-progress" max={100} value={pct} /> : null}
      {status?.finishedAt && !running ? (
        <p class="muted small-text">
          Last run finished <Time iso={status.finishedAt} /> <span title={exactTime(status.startedAt)}>{report?.timings?.total !== undefined ? `in ${Math.round(report.timings.total)} ms` : ""}</span>
        </p>
      ) : null}
      {report !== null && report.findings.length > 0 ? (
        <ul class="findings" data-testid="verify-findings">
          {report.findings.map((f, i) => (
            <li key={i} data-testid="verify-finding" data-type={f.type}>
              <span class="badge status-removed">{f.type}</span> <code>{findingText(f)}</code>
            </li>
          ))}
        </ul>
      ) : null}
    </Section>
  );
}
