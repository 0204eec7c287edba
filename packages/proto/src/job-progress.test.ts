import { describe, expect, it } from "vitest";
import { MAX_PROGRESS_DETAILS_BYTES, progressProblem } from "./job-progress.js";

describe("progressProblem", () => {
  it("accepts 0 to 100 with a small object", () => {
    expect(progressProblem(0, {})).toBeUndefined();
    expect(progressProblem(42.5, { rows: 10 })).toBeUndefined();
    expect(progressProblem(100, { note: "x".repeat(MAX_PROGRESS_DETAILS_BYTES - 12) })).toBeUndefined();
  });

  it("names what is wrong", () => {
    expect(progressProblem(-1, {})).toMatch(/percent/);
    expect(progressProblem(100.5, {})).toMatch(/percent/);
    expect(progressProblem(Number.NaN, {})).toMatch(/percent/);
    expect(progressProblem(1, [1])).toMatch(/JSON object/);
    expect(progressProblem(1, { note: "é".repeat(MAX_PROGRESS_DETAILS_BYTES / 2) })).toMatch(/at most 4096 bytes/);
  });
});
