import { describe, expect, it } from "vitest";
import { createPrng } from "./prng.js";

const draws = (seed: number, n: number): number[] => {
  const prng = createPrng(seed);
  return Array.from({ length: n }, () => prng.next());
};

describe("createPrng", () => {
  it("is Mulberry32: a seed gives the reference sequence, so a printed seed repeats a run", () => {
    // From the published reference implementation of Mulberry32.
    expect(draws(42, 3)).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    expect(draws(0, 2)).toEqual([0.26642920868471265, 0.0003297457005828619]);
  });

  it("takes the seed modulo 2^32, and different seeds give different runs", () => {
    expect(draws(2 ** 32 + 42, 5)).toEqual(draws(42, 5));
    expect(draws(43, 5)).not.toEqual(draws(42, 5));
  });

  it("draws numbers in [0, 1), and integers from min to max with both ends included", () => {
    const prng = createPrng(7);
    const numbers = Array.from({ length: 5_000 }, () => prng.next());
    expect(numbers.every((x) => x >= 0 && x < 1)).toBe(true);
    const counts = new Map<number, number>();
    for (let i = 0; i < 3_000; i++) {
      const n = prng.int(1, 3);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 3]);
    // Each value about a third of the time.
    for (const n of counts.values()) expect(Math.abs(n - 1_000)).toBeLessThan(150);
    expect(prng.int(5, 5)).toBe(5);
  });

  it("picks every element of an array, and refuses an empty one", () => {
    const prng = createPrng(9);
    const picked = new Set(Array.from({ length: 200 }, () => prng.pick(["a", "b", "c", "d"])));
    expect([...picked].sort()).toEqual(["a", "b", "c", "d"]);
    expect(() => prng.pick([])).toThrow("pick from an empty array");
  });
});
