import { defineConfig } from "vitest/config";

// One vitest run over every package: faster on two cores than one vitest per package.
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "e2e", "deploy"],
  },
});
