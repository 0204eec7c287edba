import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { parseRateOverrides, submitRateOf } from "./submit-rate.js";

describe("submit rate settings", () => {
  it("limit nothing by default", () => {
    const { submitRates } = loadConfig({});
    expect(submitRates.default.ratePerS).toBe(0);
    expect(submitRates.overrides.size).toBe(0);
  });

  it("default the burst to ten seconds of the rate, never below the largest batch", () => {
    expect(loadConfig({ SUBMIT_RATE_PER_S: "500" }).submitRates.default).toEqual({ ratePerS: 500, burst: 5_000 });
    expect(loadConfig({ SUBMIT_RATE_PER_S: "5" }).submitRates.default).toEqual({ ratePerS: 5, burst: 1_000 });
    expect(loadConfig({ SUBMIT_RATE_PER_S: "5", MAX_SUBMIT_BATCH: "20" }).submitRates.default).toEqual({ ratePerS: 5, burst: 50 });
    expect(loadConfig({ SUBMIT_RATE_PER_S: "5", SUBMIT_BURST: "10" }).submitRates.default).toEqual({ ratePerS: 5, burst: 10 });
  });

  it("read per-identity overrides, which win over the default", () => {
    const { submitRates } = loadConfig({ SUBMIT_RATE_PER_S: "100", SUBMIT_RATE_OVERRIDES: "billing=500:5000, etl=2000,svc:a@b/c=0" });
    expect(submitRateOf(submitRates, "billing")).toEqual({ ratePerS: 500, burst: 5_000 });
    expect(submitRateOf(submitRates, "etl")).toEqual({ ratePerS: 2_000, burst: 20_000 });
    expect(submitRateOf(submitRates, "svc:a@b/c")).toEqual({ ratePerS: 0, burst: 1_000 });
    expect(submitRateOf(submitRates, "other")).toEqual({ ratePerS: 100, burst: 1_000 });
    expect(submitRateOf(submitRates, "")).toEqual({ ratePerS: 100, burst: 1_000 });
  });

  it.each([
    ["billing", "must be name=rate or name=rate:burst"],
    ["billing=5:x", "must be name=rate or name=rate:burst"],
    ["billing=-5", "must be name=rate or name=rate:burst"],
    ["billing=5:0", "billing: the burst must be from 1 to"],
    ["billing=2000000", "billing: the rate must be at most 1000000"],
    ["a=1,a=2", "a is listed twice"],
  ])("refuse the override %j", (text, problem) => {
    expect(parseRateOverrides(text, 1_000)).toContain(problem);
  });

  it("report every bad setting together", () => {
    expect(() => loadConfig({ SUBMIT_RATE_PER_S: "-1", SUBMIT_BURST: "0", SUBMIT_RATE_OVERRIDES: "x" })).toThrow(
      /SUBMIT_RATE_PER_S: .*SUBMIT_BURST: .*SUBMIT_RATE_OVERRIDES: "x" must be/,
    );
  });
});
