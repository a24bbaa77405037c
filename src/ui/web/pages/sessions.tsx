/** Sessions: one page of sessions (by id), a debounced prefix filter kept in the URL, "next page" paging. */
import { useEffect, useRef, useState } from "preact/hooks";
import { query, useJson, type SessionsPage } from "../api";
import { count } from "../format";
import { href, navigate } from "../router";
import { ErrorView, KindBadge, Loading, Time } from "../ui";

const PAGE = 100;

export function SessionsPageView({ search }: { search: URLSearchParams }) {
  const prefix = search.get("prefix") ?? "";
  const after = search.get("after");
  const [input, setInput] = useState(prefix);
  const typed = useRef(prefix);
  const timer = useRef<number | undefined>(undefined);

  // Back/forward or a link changed the prefix: show it in the input.
  useEffect(() => {
    if (prefix !== typed.current) {
      typed.current = prefix;
      setInput(prefix);
    }
  }, [prefix]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const onInput = (value: string) => {
    setInput(value);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      typed.current = value;
      navigate(href.sessions(value), { replace: true });
    }, 250);
  };

  const { data, error, loading } = useJson<SessionsPage>(`/api/sessions${query({ prefix, after, limit: PAGE })}`);
  useEffect(() => {
    document.title = prefix ? `Sessions "${prefix}" · cairn` : "Sessions · cairn";
  }, [prefix]);

  return (
    <div class="page sessions-page" data-testid="sessions-page">
      <div class="page-head">
        <h1>Sessions</h1>
        <label class="filter">
          <span>Prefix</span>
          <input
            type="search"
            data-testid="sessions-filter"
            placeholder="filter by id prefix"
            value={input}
            spellcheck={false}
            autocomplete="off"
            onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        {data !== null && data.total !== null ? (
          <span class="muted" data-testid="sessions-total">
            {count(data.total)} session{data.total === 1 ? "" : "s"}
          </span>
        ) : null}
      </div>
      {error !== null ? <ErrorView error={error} /> : null}
      {loading ? <Loading what="sessions" /> : null}
      {data !== null ? (
        <>
          <table class="grid" data-testid="sessions-table">
            <thead>
              <tr>
                <th>Session</th>
                <th>Kind</th>
                <th class="num">Head</th>
                <th class="num">Checkpoints</th>
                <th>Last commit</th>
              </tr>
            </thead>
            <tbody>
              {data.sessions.map((s) => (
                <tr key={s.id} data-testid="session-row" data-session={s.id}>
                  <td class="id">
                    <a href={href.session(s.id)} data-testid="session-link">
                      {s.id}
                    </a>
                    {s.forkedFrom ? (
                      <span class="muted small-text" data-testid="session-fork-of">
                        {" "}
                        fork of {s.forkedFrom.session} @ {s.forkedFrom.at}
                      </span>
                    ) : null}
                  </td>
                  <td>
                    <KindBadge kind={s.kind} />
                  </td>
                  <td class="num">
                    <a href={href.checkpoint(s.id, s.head)}>{s.head}</a>
                  </td>
                  <td class="num">{count(s.checkpoints)}</td>
                  <td>
                    <Time iso={s.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.sessions.length === 0 ? (
            <p class="muted" data-testid="sessions-empty">
              {prefix ? `No session id starts with "${prefix}".` : "No sessions."}
            </p>
          ) : null}
          <nav class="pager">
            {after !== null ? (
              <a href={href.sessions(prefix)} data-testid="sessions-first">
                ⇤ first page
              </a>
            ) : null}
            {data.next !== null ? (
              <a href={href.sessions(prefix, data.next)} data-testid="sessions-next" rel="next">
                next page →
              </a>
            ) : null}
          </nav>
        </>
      ) : null}
    </div>
  );
}
