/**
 * cairn ui: the web app (the server half is src/ui/server/; the contract is
 * src/ui/CONTRACT.md). Built by src/ui/web/build.mjs into dist/ui/web/app.js
 * and app.css. Stored data is untrusted: it is only ever rendered as text (no
 * innerHTML, no dangerouslySetInnerHTML, no eval).
 *
 * Stable `data-testid` attributes, for browser tests:
 *
 * Shell
 *   topbar, store-url (text: the store URL from /api/meta), mode-badge ("read-only" | "write mode"),
 *   nav-sessions, nav-store, loading (while a page's data loads), error (an API error; text has the code),
 *   meta-error, not-found
 * Sessions (`/`, `/sessions?prefix=&after=`)
 *   sessions-page, sessions-filter (the prefix input, debounced 250 ms, updates the URL),
 *   sessions-table, session-row (data-session = id), session-link, kind-badge (text: langgraph | openai-agents | cairn),
 *   sessions-total, sessions-empty, sessions-next, sessions-first
 * Timeline (`/s/<id>`, `?before=`)
 *   timeline-page, timeline-header, timeline-session, timeline-head, forked-from, forked-from-checkpoint,
 *   forks, fork-link, timeline-chart (the uPlot container), timeline-table,
 *   timeline-row (data-seq; class "selected" / aria-selected for the keyboard cursor),
 *   checkpoint-link, diff-link, timeline-older, timeline-newest
 * Checkpoint (`/s/<id>/<seq>`, `/c/<ref>`, `?tab=state` for the raw state)
 *   checkpoint-page, checkpoint-seq, checkpoint-meta, checkpoint-ref, checkpoint-turn, checkpoint-label,
 *   parent-link, next-link, parent-diff-link, tab-conversation, tab-state,
 *   conversation, message (data-role, data-index), tool-call, tool-name, tool-args, tool-output (a <details>),
 *   raw-state, slots-table, slot-row (data-slot), raw-link, slot-state (data-slot),
 *   tree (one per value), tree-node (data-kind: object | array | map | set | string | number | boolean | null |
 *   date | bigint | bytes | undefined | more; data-path: JSON pointer within the slot where there is one),
 *   tree-toggle (expands / collapses a node; aria-expanded), elided (a long string or bytes),
 *   expand-value (fetches it whole), expanded-value,
 *   write mode only: write-actions, fork-button, fork-form, fork-input, fork-submit,
 *   pin-button, pin-form, pin-input, pin-submit, action-result
 * Diff (`/diff/<a>/<b>`, `/s/<id>/<seq>/diff`)
 *   diff-page, diff-side-a, diff-side-b, diff-summary, diff-turn, diff-equal, diff-no-parent, diff-meta,
 *   diff-slot (data-slot, data-status: added | removed | changed | unchanged), unchanged-slots (a <details>),
 *   diff-ops, diff-op (data-op), value (a value in an op row: a tree), line-diff (data-path),
 *   diff-line (data-kind: same | add | del | note)
 * Store (`/store`)
 *   store-page, store-stats, stat-sessions, stat-checkpoints, stat-blobs, stat-stored, stat-logical,
 *   stat-referenced, stat-dedup, stat-compression, stat-pins, stat-edges, store-usage,
 *   kind-chart, kind-bar (data-kind), largest-table, largest-row (data-ref), blob-session-link,
 *   verify-section, verify-button, verify-status (data-state: idle | running | ok | failed | error),
 *   verify-progress, verify-findings, verify-finding (data-type)
 *
 * Keyboard (timeline and checkpoint pages): j / ArrowDown next, k / ArrowUp previous, d diff against the parent,
 * Escape up a level (checkpoint -> timeline -> sessions), Enter opens the selected timeline row.
 */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { hideTokenInUrl } from "./api";
import { App } from "./app";
import { installRouter } from "./router";

hideTokenInUrl();
installRouter();
const root = document.getElementById("app");
if (root !== null) render(<App />, root);
