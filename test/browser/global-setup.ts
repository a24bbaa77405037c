/**
 * The browser tests run the compiled command (`node dist/cli/bin.js ui`), so
 * dist/ must be built from the current sources: this runs `npm run build` when
 * dist/ui/web/app.js (the build's last output) is missing or older than any
 * file under src/. In CI, `npm ci` has just built it (the package's prepare
 * script), so this finds it fresh and builds nothing.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

function builtAt(): number {
  try {
    return Math.min(statSync(join(ROOT, "dist/ui/web/app.js")).mtimeMs, statSync(join(ROOT, "dist/cli/bin.js")).mtimeMs);
  } catch {
    return 0;
  }
}

export function setup(): void {
  const built = builtAt();
  const changed = newest(join(ROOT, "src"));
  if (built >= changed) return;
  console.log(built === 0 ? "browser tests: dist/ is not built: npm run build" : "browser tests: src/ changed since the last build: npm run build");
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
}
