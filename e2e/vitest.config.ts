import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    include: ["**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end files mostly wait on other processes (a 30 s outage, lease expiries), so more
    // files than cores run at once; vitest's default on two cores would run them one by one.
    maxWorkers: 3,
  },
});
