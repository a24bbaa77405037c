/** Small shared components. */
import type { ComponentChildren } from "preact";
import { ApiError } from "./api";
import { exactTime, relativeTime, shortRef } from "./format";

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">–</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso)}
    </time>
  );
}

export function KindBadge({ kind }: { kind: string }) {
  const known = kind === "langgraph" || kind === "openai-agents" || kind === "cairn";
  return (
    <span class={`badge kind kind-${known ? kind : "other"}`} data-testid="kind-badge">
      {kind}
    </span>
  );
}

/** A ref, shortened, with the whole ref in its title (and selectable). */
export function RefText({ value }: { value: string | null | undefined }) {
  return (
    <code class="ref" title={value ?? ""}>
      {shortRef(value)}
    </code>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p class="loading muted" data-testid="loading" aria-busy="true">
      Loading{what ? ` ${what}` : ""}…
    </p>
  );
}

export function ErrorView({ error }: { error: Error }) {
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div class="error" data-testid="error" role="alert">
      <strong>{code === "NOT_FOUND" || (error instanceof ApiError && error.status === 404) ? "Not found" : "Error"}</strong>
      {code !== null ? <code class="error-code">{code}</code> : null}
      <div>{error.message}</div>
    </div>
  );
}

export function Section({ title, children, testId }: { title: ComponentChildren; children: ComponentChildren; testId?: string }) {
  return (
    <section class="section" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
