/**
 * Client-side routing with the History API. Links are plain `<a href>`: a click
 * on a same-origin app link (no modifier key, main button, no target) becomes a
 * pushState, so middle-click, "open in new tab" and deep links all work, and
 * back/forward come through popstate.
 */
import { useEffect, useState } from "preact/hooks";

export interface Location {
  path: string;
  search: URLSearchParams;
  href: string;
}

type Listener = () => void;
const listeners = new Set<Listener>();

function current(): Location {
  return { path: window.location.pathname, search: new URLSearchParams(window.location.search), href: window.location.pathname + window.location.search };
}

function notify(): void {
  for (const listener of [...listeners]) listener();
}

/** Goes to `href` (a path with an optional query) without reloading the page. */
export function navigate(href: string, options: { replace?: boolean } = {}): void {
  const target = new URL(href, window.location.href);
  if (target.origin !== window.location.origin) {
    window.location.assign(target.href);
    return;
  }
  const next = target.pathname + target.search + target.hash;
  const here = window.location.pathname + window.location.search + window.location.hash;
  if (next === here) return;
  if (options.replace) window.history.replaceState(null, "", next);
  else {
    window.history.pushState(null, "", next);
    window.scrollTo(0, 0);
  }
  notify();
}

function isAppPath(pathname: string): boolean {
  return !pathname.startsWith("/api/") && !pathname.startsWith("/assets/");
}

function onClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  let node = event.target as Node | null;
  while (node !== null && !(node instanceof HTMLAnchorElement)) node = node.parentNode;
  if (node === null) return;
  const anchor = node;
  if (anchor.target !== "" && anchor.target !== "_self") return;
  if (anchor.hasAttribute("download") || anchor.getAttribute("href") === null) return;
  const url = new URL(anchor.href, window.location.href);
  if (url.origin !== window.location.origin || !isAppPath(url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

let installed = false;

/** Starts listening to link clicks and popstate (once). */
export function installRouter(): void {
  if (installed) return;
  installed = true;
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", notify);
}

/** The current location; re-renders the caller on every navigation. */
export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const listener = () => setLocation(current());
    listeners.add(listener);
    listener();
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return location;
}

/** The route a path names (see CONTRACT.md "Pages"). */
export type Route =
  | { page: "sessions" }
  | { page: "timeline"; session: string }
  | { page: "checkpoint"; session: string; seq: number }
  | { page: "checkpoint-ref"; ref: string }
  | { page: "diff"; a: string; b: string }
  | { page: "parent-diff"; session: string; seq: number }
  | { page: "store" }
  | { page: "not-found" };

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function seqOf(text: string | undefined): number | null {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;
}

export function matchRoute(pathname: string): Route {
  const raw = pathname.replace(/\/+$/, "");
  if (raw === "" || raw === "/sessions") return { page: "sessions" };
  if (raw === "/store") return { page: "store" };
  const parts = raw.split("/").slice(1).map(decode);
  if (parts.some((p) => p === null || p === "")) return { page: "not-found" };
  const seg = parts as string[];
  if (seg[0] === "s" && seg.length >= 2 && seg.length <= 4) {
    const session = seg[1]!;
    if (seg.length === 2) return { page: "timeline", session };
    const seq = seqOf(seg[2]);
    if (seq === null) return { page: "not-found" };
    if (seg.length === 3) return { page: "checkpoint", session, seq };
    if (seg[3] === "diff") return { page: "parent-diff", session, seq };
    return { page: "not-found" };
  }
  if (seg[0] === "c" && seg.length === 2) return { page: "checkpoint-ref", ref: seg[1]! };
  if (seg[0] === "diff" && seg.length === 3) return { page: "diff", a: seg[1]!, b: seg[2]! };
  return { page: "not-found" };
}

/** App URLs. */
export const href = {
  sessions: (prefix?: string, after?: string | null) => {
    const q = new URLSearchParams();
    if (prefix) q.set("prefix", prefix);
    if (after) q.set("after", after);
    const s = q.toString();
    return s === "" ? "/" : `/sessions?${s}`;
  },
  session: (id: string, before?: number | null) => `/s/${encodeURIComponent(id)}${before !== undefined && before !== null ? `?before=${before}` : ""}`,
  checkpoint: (id: string, seq: number) => `/s/${encodeURIComponent(id)}/${seq}`,
  checkpointRef: (ref: string) => `/c/${encodeURIComponent(ref)}`,
  parentDiff: (id: string, seq: number) => `/s/${encodeURIComponent(id)}/${seq}/diff`,
  diff: (a: string, b: string) => `/diff/${encodeURIComponent(a)}/${encodeURIComponent(b)}`,
  store: () => "/store",
  rawBlob: (ref: string) => `/api/blobs/${encodeURIComponent(ref)}/raw`,
};
