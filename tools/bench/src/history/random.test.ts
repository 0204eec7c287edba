import { describe, expect, it } from "vitest";
import { hex32, Random, WeightedTable, zipfWeights } from "./random.js";

const draws = (rng: Random, n: number) => Array.from({ length: n }, () => rng.u32());

describe("Random", () => {
  it("repeats its sequence for the same seed and stream", () => {
    expect(draws(new Random(42, 7), 1_000)).toEqual(draws(new Random(42, 7), 1_000));
  });

  it("gives unrelated sequences for other seeds and streams", () => {
    const base = draws(new Random(42, 7), 100);
    for (const other of [new Random(43, 7), new Random(42, 8), new Random(0, 0)]) {
      const seq = draws(other, 100);
      expect(seq.filter((x, i) => x === base[i]).length).toBeLessThan(2);
    }
  });

  it("draws floats in [0, 1) with a mean near one half", () => {
    const rng = new Random(1);
    const xs = Array.from({ length: 20_000 }, () => rng.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it("draws integers in [min, max], reaching both ends", () => {
    const rng = new Random(2);
    const seen = new Set(Array.from({ length: 2_000 }, () => rng.int(3, 7)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it("draws log-normal values around the median", () => {
    const rng = new Random(3);
    const xs = Array.from({ length: 20_001 }, () => rng.logNormal(40, 1.6)).sort((a, b) => a - b);
    expect(xs[10_000]).toBeGreaterThan(36);
    expect(xs[10_000]).toBeLessThan(44);
    expect(xs[19_800]).toBeGreaterThan(40 * 20);
  });

  it("formats hex digits", () => {
    expect(hex32(0)).toBe("00000000");
    expect(hex32(0xdeadbeef)).toBe("deadbeef");
    expect(new Random(4).hex(19)).toMatch(/^[0-9a-f]{19}$/);
  });
});

describe("WeightedTable", () => {
  it("draws items in proportion to their weights", () => {
    const table = new WeightedTable(["a", "b", "c"], [70, 20, 10]);
    const rng = new Random(5);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 50_000; i++) counts[table.draw(rng) as "a" | "b" | "c"] += 1;
    expect(counts.a / 50_000).toBeCloseTo(0.7, 1);
    expect(counts.b / 50_000).toBeCloseTo(0.2, 1);
    expect(counts.c / 50_000).toBeCloseTo(0.1, 1);
    expect(table.probability(1)).toBeCloseTo(0.2, 10);
  });

  it("never draws an item of weight zero", () => {
    const table = new WeightedTable(["never", "always"], [0, 1]);
    const rng = new Random(6);
    expect(new Set(Array.from({ length: 1_000 }, () => table.draw(rng)))).toEqual(new Set(["always"]));
  });

  it("refuses tables that cannot be drawn from", () => {
    expect(() => new WeightedTable([], [])).toThrow();
    expect(() => new WeightedTable(["a"], [1, 2])).toThrow();
    expect(() => new WeightedTable(["a"], [0])).toThrow();
    expect(() => new WeightedTable(["a", "b"], [1, -1])).toThrow();
  });

  it("zipfWeights falls off as 1/rank^s", () => {
    expect(zipfWeights(4)).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
    expect(zipfWeights(2, 2)).toEqual([1, 1 / 4]);
  });
});
