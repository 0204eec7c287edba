import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "dashboard",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // A page follows an action once the services answered it: seconds when CI's other test files load both cores.
    expect: { poll: { timeout: 15_000 } },
  },
});
