import { describe, expect, it } from "vitest";
import { findTextProblem, nestsDeeperThan, textProblem } from "./check-json.js";

describe("nestsDeeperThan", () => {
  it.each([
    [1, 0, false],
    [{}, 0, true],
    [{}, 1, false],
    [[1, [2]], 1, true],
    [[1, [2]], 2, false],
    [{ a: [{ b: {} }] }, 4, false],
    [{ a: [{ b: {} }] }, 3, true],
  ])("%j nests deeper than %i: %s", (value, max, deeper) => {
    expect(nestsDeeperThan(value, max)).toBe(deeper);
  });
});

describe("findTextProblem", () => {
  it("finds NUL and lone surrogates in values and keys, naming the path", () => {
    expect(findTextProblem({ a: [1, "ok", { b: "\u0000" }] }, "payload")).toEqual({
      field: "payload.a[2].b",
      problem: "must not contain U+0000 (NUL)",
    });
    expect(findTextProblem({ ok: { "\uDFFF": 1 } }, "p")).toEqual({ field: "p.ok key", problem: "must be valid Unicode (lone surrogate)" });
  });

  it("accepts emoji, quotes, wildcards and backslashes", () => {
    expect(findTextProblem({ "😀": ["'; DROP TABLE jobs; --", "%", "_", "\\"], n: null, t: true }, "payload")).toBeUndefined();
    expect(textProblem("naïve 😀")).toBeUndefined();
  });
});
