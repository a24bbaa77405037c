/**
 * A session's timeline: header with fork links, a chart of the page's rows
 * (stored bytes added per commit as bars; cumulative logical bytes against
 * cumulative stored bytes as lines: the gap between them is what dedup saves),
 * and the table of rows, newest first, with "older" paging.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import uPlot from "uplot";
import { query, useJson, type Timeline, type TimelineRow } from "../api";
import { byteTicks, Chart, type ThemeColors } from "../chart";
import { bytes, count } from "../format";
import { useKeys } from "../keys";
import { href, navigate } from "../router";
import { ErrorView, Loading, Time } from "../ui";

const PAGE = 100;

function chartData(rows: TimelineRow[]): uPlot.AlignedData {
  const chronological = [...rows].reverse();
  const x: number[] = [];
  const added: number[] = [];
  const cumLogical: number[] = [];
  const cumStored: number[] = [];
  let logical = 0;
  let stored = 0;
  for (const row of chronological) {
    logical += row.logicalBytes;
    stored += row.addedBytes;
    x.push(row.seq);
    added.push(row.addedBytes);
    cumLogical.push(logical);
    cumStored.push(stored);
  }
  return [x, added, cumLogical, cumStored];
}

function chartOptions(colors: ThemeColors): Omit<uPlot.Options, "width" | "height"> {
  const [c1, c2, c3] = colors.series;
  const axis = { stroke: colors.muted, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } };
  return {
    scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }, added: { auto: true, range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }, cumulative: { auto: true, range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
    axes: [
      { ...axis, label: "seq", values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) },
      { ...axis, scale: "added", label: "added per commit", size: 80, values: byteTicks(bytes) },
      { ...axis, scale: "cumulative", side: 1, label: "cumulative", size: 80, grid: { show: false }, values: byteTicks(bytes) },
    ],
    series: [
      { label: "seq" },
      { label: "added (stored)", scale: "added", stroke: c1, fill: `${c1}88`, width: 1, paths: uPlot.paths.bars!({ size: [0.7, 40], align: 0 }), points: { show: false }, value: (_u, v) => bytes(v) },
      { label: "cumulative logical", scale: "cumulative", stroke: c2, width: 2, points: { show: false }, value: (_u, v) => bytes(v) },
      { label: "cumulative stored", scale: "cumulative", stroke: c3, fill: `${c3}33`, width: 2, points: { show: false }, value: (_u, v) => bytes(v) },
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { show: true },
  };
}

export function TimelinePage({ session, search }: { session: string; search: URLSearchParams }) {
  const beforeText = search.get("before");
  const before = beforeText !== null && /^\d+$/.test(beforeText) ? Number(beforeText) : null;
  const { data, error, loading } = useJson<Timeline>(`/api/sessions/${encodeURIComponent(session)}/timeline${query({ before, limit: PAGE })}`);
  const [selected, setSelected] = useState(-1);
  useEffect(() => setSelected(-1), [session, before]);
  useEffect(() => {
    document.title = `${session} · cairn`;
  }, [session]);
  const rows = data?.rows ?? [];
  const plotData = useMemo(() => chartData(rows), [data]);

  const hasParent = (i: number) => i + 1 < rows.length || (data?.next ?? null) !== null;
  useKeys({
    next: () => {
      if (rows.length === 0) return;
      if (selected + 1 < rows.length) setSelected(selected + 1);
      else if (data?.next !== null && data?.next !== undefined) navigate(href.session(session, data.next));
    },
    prev: () => {
      if (rows.length === 0) return;
      setSelected(Math.max(0, selected - 1));
    },
    open: () => {
      const row = rows[Math.max(0, selected)];
      if (row) navigate(href.checkpoint(session, row.seq));
    },
    diff: () => {
      const i = Math.max(0, selected);
      const row = rows[i];
      if (row && hasParent(i)) navigate(href.parentDiff(session, row.seq));
    },
    up: () => navigate(href.sessions()),
  });
  useEffect(() => {
    const row = rows[selected];
    if (row) document.querySelector(`[data-testid="timeline-row"][data-seq="${row.seq}"]`)?.scrollIntoView({ block: "nearest" });
  }, [selected]);

  return (
    <div class="page timeline-page" data-testid="timeline-page">
      <nav class="crumbs">
        <a href={href.sessions()}>Sessions</a> / <span>{session}</span>
      </nav>
      <header class="page-head" data-testid="timeline-header">
        <h1 class="id" data-testid="timeline-session">
          {session}
        </h1>
        {data !== null ? (
          <span class="muted">
            head <a href={href.checkpoint(session, data.head)} data-testid="timeline-head">{data.head}</a>
          </span>
        ) : null}
      </header>
      {error !== null ? <ErrorView error={error} /> : null}
      {loading ? <Loading what="timeline" /> : null}
      {data !== null ? (
        <>
          {data.forkedFrom !== null || data.forks.length > 0 ? (
            <div class="forks">
              {data.forkedFrom !== null ? (
                <p data-testid="forked-from">
                  Forked from <a href={href.session(data.forkedFrom.session)}>{data.forkedFrom.session}</a> at{" "}
                  <a href={href.checkpoint(data.forkedFrom.session, data.forkedFrom.at)} data-testid="forked-from-checkpoint">
                    seq {data.forkedFrom.at}
                  </a>
                </p>
              ) : null}
              {data.forks.length > 0 ? (
                <div data-testid="forks">
                  Forks of this session{data.forkCount !== undefined ? ` (${count(data.forkCount)})` : ""}:
                  <ul class="inline-list">
                    {data.forks.map((f) => (
                      <li key={f.session}>
                        <a href={href.session(f.session)} data-testid="fork-link">
                          {f.session}
                        </a>{" "}
                        <span class="muted">
                          at <a href={href.checkpoint(session, f.at)}>seq {f.at}</a>
                        </span>
                      </li>
                    ))}
                  </ul>
                  {(data.forkCount ?? 0) > data.forks.length ? <span class="muted"> and {count((data.forkCount ?? 0) - data.forks.length)} more</span> : null}
                </div>
              ) : null}
            </div>
          ) : null}
          {rows.length > 0 ? (
            <figure class="chart-figure">
              <Chart options={chartOptions} data={plotData} testId="timeline-chart" label="Bytes added per commit, cumulative logical and stored bytes" />
              <figcaption class="muted">
                Over the {count(rows.length)} rows of this page: bars are the stored bytes each commit added; the lines are the cumulative logical bytes (a full copy per checkpoint) and the cumulative stored bytes. The gap is what deduplication saves.
              </figcaption>
            </figure>
          ) : (
            <p class="muted">No checkpoints.</p>
          )}
          <table class="grid" data-testid="timeline-table">
            <thead>
              <tr>
                <th class="num">Seq</th>
                <th class="num">Turn</th>
                <th>Label</th>
                <th>Time</th>
                <th class="num">Added</th>
                <th class="num">Reachable</th>
                <th class="num">Logical</th>
                <th>Diff</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => (
                <tr key={row.seq} data-testid="timeline-row" data-seq={row.seq} class={i === selected ? "selected" : undefined} aria-selected={i === selected}>
                  <td class="num">
                    <a href={href.checkpoint(session, row.seq)} data-testid="checkpoint-link">
                      {row.seq}
                    </a>
                  </td>
                  <td class="num">{row.turn}</td>
                  <td class="label">{row.label ?? ""}</td>
                  <td>
                    <Time iso={row.createdAt} />
                  </td>
                  <td class="num" title={`${count(row.addedBytes)} bytes`}>{bytes(row.addedBytes)}</td>
                  <td class="num" title={`${count(row.reachableBytes)} bytes`}>{bytes(row.reachableBytes)}</td>
                  <td class="num" title={`${count(row.logicalBytes)} bytes`}>{bytes(row.logicalBytes)}</td>
                  <td>
                    {hasParent(i) ? (
                      <a href={href.parentDiff(session, row.seq)} data-testid="diff-link">
                        diff
                      </a>
                    ) : (
                      <span class="muted">first</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager">
            {before !== null ? (
              <a href={href.session(session)} data-testid="timeline-newest">
                ⇤ newest
              </a>
            ) : null}
            {data.next !== null ? (
              <a href={href.session(session, data.next)} data-testid="timeline-older" rel="next">
                older →
              </a>
            ) : null}
          </nav>
          <p class="keys-help muted">Keys: j/k or ↓/↑ select, Enter open, d diff against parent, Esc sessions.</p>
        </>
      ) : null}
    </div>
  );
}
