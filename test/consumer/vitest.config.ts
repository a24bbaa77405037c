import { defineConfig } from "vitest/config";

/** `npm run test:consumer`: the package as a user installs it (see consumer.test.ts). */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/consumer/consumer.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    reporters: ["verbose"],
  },
});
