import { describe, expect, it } from "vitest";
import { nearestRank, summarize } from "./percentiles.js";

describe("nearestRank", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it("returns the smallest value with at least q of the sample at or below it", () => {
    expect(nearestRank(hundred, 0.5)).toBe(50);
    expect(nearestRank(hundred, 0.95)).toBe(95);
    expect(nearestRank(hundred, 0.99)).toBe(99);
    expect(nearestRank(hundred, 1)).toBe(100);
    expect(nearestRank(hundred, 0.001)).toBe(1);
  });

  it("reports an observed value, never an interpolation", () => {
    expect(nearestRank([10, 20], 0.5)).toBe(10);
    expect(nearestRank([10, 20], 0.51)).toBe(20);
  });

  it("makes p99 of 200 samples the second largest", () => {
    const sample = Array.from({ length: 200 }, (_, i) => i);
    expect(nearestRank(sample, 0.99)).toBe(197);
  });

  it("refuses an empty sample and a quantile outside (0, 1]", () => {
    expect(() => nearestRank([], 0.5)).toThrow("no samples");
    expect(() => nearestRank([1], 0)).toThrow("(0, 1]");
    expect(() => nearestRank([1], 1.5)).toThrow("(0, 1]");
  });
});

describe("summarize", () => {
  it("sorts the sample, leaves the input alone and rounds to hundredths", () => {
    const sample = [5.555, 1.111, 3.333, 4.444, 2.222];
    expect(summarize(sample)).toEqual({ count: 5, p50: 3.33, p95: 5.56, p99: 5.56, max: 5.56 });
    expect(sample[0]).toBe(5.555);
  });

  it("lets one slow call in a hundred set p99 but not p95", () => {
    const sample = [...Array.from({ length: 98 }, () => 2), 40, 300];
    expect(summarize(sample)).toMatchObject({ p50: 2, p95: 2, p99: 40, max: 300 });
  });
});
