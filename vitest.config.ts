import { defineConfig } from "vitest/config";

// One vitest run over every package: faster on two cores than one vitest per package.
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "testing/*", "tools/*", "deploy"],
    // Most test files wait on other processes and stores (a 30 s outage, lease expiries), so
    // more files than cores run at once; vitest's default on two cores runs them one by one.
    maxWorkers: 3,
  },
});
