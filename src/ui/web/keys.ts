/** Page keyboard shortcuts (j/k, arrows, d, Escape, Enter), ignored while typing. */
import { useEffect, useRef } from "preact/hooks";

export type KeyMap = Partial<Record<"next" | "prev" | "diff" | "up" | "open", () => void>>;

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

export function useKeys(keys: KeyMap): void {
  const ref = useRef(keys);
  ref.current = keys;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const map = ref.current;
      let action: (() => void) | undefined;
      switch (event.key) {
        case "j":
        case "ArrowDown":
          action = map.next;
          break;
        case "k":
        case "ArrowUp":
          action = map.prev;
          break;
        case "d":
          action = map.diff;
          break;
        case "Escape":
          action = map.up;
          break;
        case "Enter":
          if (event.target instanceof HTMLAnchorElement || event.target instanceof HTMLButtonElement) return;
          action = map.open;
          break;
      }
      if (action === undefined) return;
      event.preventDefault();
      action();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
