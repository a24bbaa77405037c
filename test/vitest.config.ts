import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    // npm run test:consumer and npm run test:browser; the fault tests run after this suite, one file at a time (test/fault/vitest.config.ts)
    exclude: ["**/node_modules/**", "**/.git/**", "test/consumer/**", "test/fault/**", "test/browser/**"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globals: true,
  },
});
