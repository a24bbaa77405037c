/** The app shell: the top bar and the page the location names. */
import { useJson, writeToken, type Meta } from "./api";
import { CheckpointRoutes } from "./pages/checkpoint-routes";
import { DiffPage, ParentDiffPage } from "./pages/diff";
import { SessionsPageView } from "./pages/sessions";
import { StorePage } from "./pages/store";
import { TimelinePage } from "./pages/timeline";
import { href, matchRoute, useLocation } from "./router";

function TopBar({ meta, writeMode, page }: { meta: Meta | null; writeMode: boolean; page: string }) {
  return (
    <header class="topbar" data-testid="topbar">
      <a class="brand" href={href.sessions()}>
        cairn
      </a>
      <nav class="topnav">
        <a href={href.sessions()} data-testid="nav-sessions" class={page !== "store" ? "active" : undefined}>
          Sessions
        </a>
        <a href={href.store()} data-testid="nav-store" class={page === "store" ? "active" : undefined}>
          Store
        </a>
      </nav>
      <span class="store-url" data-testid="store-url" title={meta ? `${meta.backend} · cairn ${meta.version}` : ""}>
        {meta?.url ?? ""}
      </span>
      <span class={`badge mode ${writeMode ? "write" : "read-only"}`} data-testid="mode-badge">
        {writeMode ? "write mode" : "read-only"}
      </span>
    </header>
  );
}

export function App() {
  const location = useLocation();
  const meta = useJson<Meta>("/api/meta");
  // Write mode: a token, and a server that says it takes writes (a token kept from an earlier --write server is ignored by a read-only one).
  const writeMode = writeToken() !== "" && meta.data !== null && meta.data.readOnly === false;
  const route = matchRoute(location.path);
  let page;
  switch (route.page) {
    case "sessions":
      page = <SessionsPageView search={location.search} />;
      break;
    case "timeline":
      page = <TimelinePage key={route.session} session={route.session} search={location.search} />;
      break;
    case "checkpoint":
    case "checkpoint-ref":
      page = <CheckpointRoutes route={route} search={location.search} writeMode={writeMode} />;
      break;
    case "diff":
      page = <DiffPage key={`${route.a}/${route.b}`} a={route.a} b={route.b} />;
      break;
    case "parent-diff":
      page = <ParentDiffPage key={`${route.session}/${route.seq}`} session={route.session} seq={route.seq} />;
      break;
    case "store":
      page = <StorePage />;
      break;
    default:
      page = (
        <div class="page" data-testid="not-found">
          <h1>Not found</h1>
          <p>
            No page at this address. <a href={href.sessions()}>Sessions</a>
          </p>
        </div>
      );
  }
  return (
    <>
      <TopBar meta={meta.data} writeMode={writeMode} page={route.page} />
      {meta.error !== null ? (
        <div class="error banner" role="alert" data-testid="meta-error">
          Cannot reach the cairn server: {meta.error.message}
        </div>
      ) : null}
      <main class="main">{page}</main>
    </>
  );
}
