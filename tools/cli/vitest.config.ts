import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "cli",
    include: ["src/**/*.test.ts"],
    // An end-to-end test runs a dozen commands, each a new Node process: a fraction of a second
    // on an idle machine, several seconds while the full suite keeps both cores busy.
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
