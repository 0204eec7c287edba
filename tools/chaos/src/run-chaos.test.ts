import { describe, expect, it } from "vitest";
import { summarizeRestores } from "./run-chaos.js";

describe("summarizeRestores", () => {
  it("reports no loss as none, with no median or worst", () => {
    expect(summarizeRestores([])).toEqual({ losses: 0, median: null, max: null, not_restored: 0 });
  });

  it("takes the median and the worst of the restored losses, and counts those never restored", () => {
    expect(summarizeRestores([300, null, 100, 200, null])).toEqual({ losses: 5, median: 200, max: 300, not_restored: 2 });
  });

  it("takes the lower middle of an even count as the median", () => {
    expect(summarizeRestores([400, 100, 300, 200])).toEqual({ losses: 4, median: 200, max: 400, not_restored: 0 });
  });

  it("has no median when nothing was restored", () => {
    expect(summarizeRestores([null, null])).toEqual({ losses: 2, median: null, max: null, not_restored: 2 });
  });
});
