// Lint for every TypeScript package. Type-aware rules catch the mistakes that matter in async
// service code: floating promises, misused promises, awaiting non-promises. The import rules keep
// the tiers apart (ARCHITECTURE.md): libraries use only libraries, services use libraries (and,
// in their tests, the testing tier), and nobody reaches into another package's files.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const SERVICES = ["@taskflow/scheduler", "@taskflow/history", "@taskflow/worker", "@taskflow/dashboard"];
const TESTING = ["@taskflow/testkit", "@taskflow/test-stack", "@taskflow/e2e", "@taskflow/test-helpers"];
const TOOLS = ["@taskflow/devstack", "@taskflow/bench", "@taskflow/chaos", "@taskflow/cli"];

/** Imports of another package's files instead of its public entry, by name or by relative path. */
const deepImports = {
  group: ["@taskflow/*/src", "@taskflow/*/src/**", "@taskflow/*/dist", "@taskflow/*/dist/**"],
  message: "Import a package by its public entry, not its files.",
};
const crossTier = (tiers) => ({
  group: tiers.flatMap((t) => [`**/${t}/**`, `../${t}/**`]),
  message: "A package reaches another package through its name and public entry, never a path.",
});
/** no-restricted-imports forbidding these packages (with why), deep imports and paths into the tiers. */
const forbid = (names, why, tiers = ["packages", "services", "testing", "tools"]) => [
  "error",
  { paths: names.map((name) => ({ name, message: why })), patterns: [deepImports, crossTier(tiers)] },
];

const TEST_FILES = ["**/*.test.ts", "**/test/**/*.ts"];

export default tseslint.config(
  // The examples are plain JavaScript meant to be copied, and are linted as such (see the end).
  { ignores: ["**/dist/**", "**/src/gen/**", "**/node_modules/**", "**/*.js", "**/*.mjs", "!examples/**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-floating-promises": "error",
      "no-restricted-imports": forbid([], ""),
    },
  },
  {
    files: ["packages/**/*.ts"],
    ignores: TEST_FILES,
    rules: {
      "no-restricted-imports": forbid([...SERVICES, ...TESTING, ...TOOLS], "A library uses only other libraries."),
    },
  },
  {
    // A library's tests may use the helpers that depend on nothing else of the testing tier.
    files: TEST_FILES.map((f) => `packages/${f}`),
    rules: {
      "no-restricted-imports": forbid(
        [...SERVICES, ...TESTING.filter((t) => t !== "@taskflow/test-helpers"), ...TOOLS],
        "A library's tests use only libraries and @taskflow/test-helpers, so they need no service built.",
      ),
    },
  },
  {
    files: ["services/**/*.ts"],
    ignores: TEST_FILES,
    rules: {
      "no-restricted-imports": forbid([...SERVICES, ...TESTING, ...TOOLS], "A service uses only libraries; tests may use the testing tier."),
    },
  },
  {
    // Tests read loosely typed wire data (grpc-js, JSON answers) on purpose.
    files: [...TEST_FILES, "testing/e2e/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // Examples of the protocol in plain JavaScript for Node: no types to check, and they use no
    // TaskFlow package at all (the point of them is what a worker needs without one).
    files: ["examples/**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", console: "readonly", URL: "readonly", AbortController: "readonly" },
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      "no-restricted-imports": ["error", { patterns: [{ group: ["@taskflow/*"], message: "An example uses no TaskFlow package." }] }],
    },
  },
);
