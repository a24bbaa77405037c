import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: the `cairn ui` inspector in a real Chromium
 * (playwright-core, which never downloads a browser: it drives the system's,
 * /usr/bin/chromium or $CAIRN_CHROMIUM), against the compiled command started as
 * a child process on store files the tests write. The global setup builds dist/
 * first when it is stale. One file at a time: each starts its own servers and a
 * browser, and a 2-core machine has no room for two.
 */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["test/browser/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["verbose"],
    globals: true,
  },
});
