import { describe, expect, it } from "vitest";
import { effectiveArgs, effectiveEnv, execForm, parseDockerfile, stageChain } from "./parse-dockerfile.js";

const text = [
  "# syntax=docker/dockerfile:1",
  "ARG IGNORED=1",
  "FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build",
  "RUN echo a \\",
  "    # a comment inside a continuation",
  "    && echo b",
  "FROM node:22-bookworm-slim as base",
  "ENV NODE_ENV=production \\",
  '    GREETING="hello world"',
  "USER 1000:1000",
  "FROM base AS app",
  "ENV LEGACY value with spaces",
  "ENTRYPOINT [\"node\", \"main.js\"]",
].join("\n");

describe("parseDockerfile", () => {
  it("splits stages, joins continuations and drops comments", () => {
    const stages = parseDockerfile(text);
    expect(stages.map((s) => [s.name, s.base])).toEqual([
      ["build", "node:22-bookworm-slim"],
      ["base", "node:22-bookworm-slim"],
      ["app", "base"],
    ]);
    expect(stages[0]?.instructions).toEqual([{ keyword: "RUN", args: "echo a && echo b", line: 4 }]);
  });

  it("resolves what a target inherits", () => {
    const stages = parseDockerfile(text);
    expect(stageChain(stages, "app").map((s) => s.name)).toEqual(["app", "base"]);
    expect(effectiveArgs(stages, "app", "USER")).toBe("1000:1000");
    expect(effectiveArgs(stages, "build", "USER")).toBeUndefined();
    expect(effectiveEnv(stages, "app")).toEqual({ NODE_ENV: "production", GREETING: "hello world", LEGACY: "value with spaces" });
    expect(execForm(effectiveArgs(stages, "app", "ENTRYPOINT"))).toEqual(["node", "main.js"]);
    expect(execForm("node main.js")).toBeUndefined();
  });
});
