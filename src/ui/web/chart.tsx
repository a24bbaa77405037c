/**
 * A uPlot chart in a Preact component: built once per data/theme, resized with
 * its container. uPlot draws on a canvas and styles its elements through the
 * CSSOM, which the CSP (`style-src 'self'`) allows.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";

export interface ThemeColors {
  fg: string;
  muted: string;
  grid: string;
  series: string[];
}

function themeColors(): ThemeColors {
  const style = getComputedStyle(document.documentElement);
  const get = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    fg: get("--fg", "#222"),
    muted: get("--muted", "#666"),
    grid: get("--grid", "rgba(128,128,128,0.2)"),
    series: [get("--c1", "#4a7fd4"), get("--c2", "#e07b39"), get("--c3", "#2f9e6e"), get("--c4", "#b04fc4")],
  };
}

/** Changes when the system switches between light and dark. */
function useColorScheme(): string {
  const query = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  const [dark, setDark] = useState(query?.matches ?? false);
  useEffect(() => {
    if (query === null) return;
    const onChange = () => setDark(query.matches);
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, []);
  return dark ? "dark" : "light";
}

export interface ChartProps {
  /** Options without size: called with the theme's colors. */
  options: (colors: ThemeColors) => Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
  testId?: string;
  label?: string;
}

export function Chart({ options, data, height = 240, testId, label }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const scheme = useColorScheme();
  useEffect(() => {
    const el = container.current;
    if (el === null) return;
    const width = Math.max(200, el.clientWidth);
    const plot = new uPlot({ ...options(themeColors()), width, height }, data, el);
    let observer: ResizeObserver | null = null;
    if (typeof ResizeObserver === "function") {
      observer = new ResizeObserver(() => {
        const w = Math.max(200, el.clientWidth);
        if (w !== plot.width) plot.setSize({ width: w, height });
      });
      observer.observe(el);
    }
    return () => {
      observer?.disconnect();
      plot.destroy();
    };
  }, [data, scheme, height]);
  return <div class="chart" ref={container} data-testid={testId} role="img" aria-label={label} />;
}

/** Axis values as byte sizes. */
export function byteTicks(format: (n: number) => string) {
  return (_u: uPlot, splits: number[]) => splits.map((v) => (v === null || v === undefined ? "" : format(v)));
}
