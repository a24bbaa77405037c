/** Picks the checkpoint page for `/s/<id>/<seq>` or `/c/<ref>` (keyed, so a new checkpoint starts fresh). */
import type { Route } from "../router";
import { RefCheckpointPage, SessionCheckpointPage } from "./checkpoint";

export function CheckpointRoutes({ route, search, writeMode }: { route: Extract<Route, { page: "checkpoint" | "checkpoint-ref" }>; search: URLSearchParams; writeMode: boolean }) {
  if (route.page === "checkpoint")
    return <SessionCheckpointPage key={`${route.session}/${route.seq}`} session={route.session} seq={route.seq} search={search} writeMode={writeMode} />;
  return <RefCheckpointPage key={route.ref} cpRef={route.ref} search={search} writeMode={writeMode} />;
}
