import type { SubmitInput } from "@taskflow/client";
import { createPrng } from "@taskflow/testkit";
import { describe, expect, it } from "vitest";
import { emptyTally, jobInput, runBatchLoad } from "./batch-load.js";

const never = new AbortController().signal;
/** Each job's number, as jobInput puts it in the payload. */
const numberOf = (input: SubmitInput): number => (input.payload as { n: number }).n;

describe("runBatchLoad", () => {
  it("offers rate × duration jobs in batches of a tenth of the rate, and tallies what was answered and what not", async () => {
    const calls: { n: number[]; atMs: number }[] = [];
    const start = performance.now();
    // Every third call fails, as a call to a scheduler being killed does.
    const submit = (inputs: SubmitInput[]): Promise<string[]> => {
      calls.push({ n: inputs.map(numberOf), atMs: performance.now() - start });
      if (calls.length % 3 === 0) return Promise.reject(new Error("unavailable"));
      return Promise.resolve(inputs.map((i) => `job-${numberOf(i)}`));
    };
    const tally = await runBatchLoad({ submit, rate: 100, durationMs: 600, prng: createPrng(1), signal: never });

    // 100 jobs/s for 0.6 s, in batches of 10: six calls, each job offered once.
    expect(calls.map((c) => c.n.length)).toEqual([10, 10, 10, 10, 10, 10]);
    expect(calls.flatMap((c) => c.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(tally.submitted).toBe(60);
    expect(tally.unanswered).toBe(20);
    expect(tally.acknowledged).toHaveLength(40);
    expect(new Set(tally.acknowledged).size).toBe(40);
    // Batch b goes no earlier than b × 100 ms in (timers and the clock read here may differ by a few ms).
    const sent = calls.map((c) => c.atMs).sort((a, b) => a - b);
    sent.forEach((atMs, b) => expect(atMs).toBeGreaterThanOrEqual(b * 100 - 5));
  });

  it("sends one job per call at a low rate, and counts into the tally it is given", async () => {
    const sizes: number[] = [];
    const submit = (inputs: SubmitInput[]): Promise<string[]> => {
      sizes.push(inputs.length);
      return Promise.resolve(inputs.map(() => "id"));
    };
    const tally = emptyTally();
    const returned = await runBatchLoad({ submit, rate: 4, durationMs: 1_000, prng: createPrng(1), signal: never }, tally);
    expect(returned).toBe(tally);
    expect(sizes).toEqual([1, 1, 1, 1]);
    expect(tally).toEqual({ submitted: 4, acknowledged: ["id", "id", "id", "id"], unanswered: 0 });
  });

  it("stops offering once its signal aborts", async () => {
    const stop = new AbortController();
    const submit = (inputs: SubmitInput[]): Promise<string[]> => Promise.resolve(inputs.map(() => "id"));
    const load = runBatchLoad({ submit, rate: 100, durationMs: 60_000, prng: createPrng(1), signal: stop.signal });
    setTimeout(() => stop.abort(), 150);
    const tally = await load;
    // About 150 ms of a 60 s load went out: a couple of batches, far from 6,000 jobs.
    expect(tally.submitted).toBeGreaterThanOrEqual(10);
    expect(tally.submitted).toBeLessThan(1_000);
    expect(tally.acknowledged).toHaveLength(tally.submitted);
  });
});

describe("jobInput", () => {
  it("mixes about 60 % echo, 25 % short sleeps and 15 % flaky jobs, each with ten attempts", () => {
    const prng = createPrng(3);
    const inputs = Array.from({ length: 10_000 }, (_, n) => jobInput(n, prng));
    const share = (type: string): number => inputs.filter((i) => i.type === type).length / inputs.length;
    expect(share("echo")).toBeCloseTo(0.6, 1);
    expect(share("sleep")).toBeCloseTo(0.25, 1);
    expect(share("flaky")).toBeCloseTo(0.15, 1);
    expect(inputs.every((i) => i.maxAttempts === 10)).toBe(true);
    const sleeps = inputs.filter((i) => i.type === "sleep").map((i) => (i.payload as { ms: number }).ms);
    expect([Math.min(...sleeps), Math.max(...sleeps)]).toEqual([50, 300]);
    const failures = new Set(inputs.filter((i) => i.type === "flaky").map((i) => (i.payload as { failures: number }).failures));
    expect([...failures].sort()).toEqual([1, 2]);
    expect(inputs.map((i) => numberOf(i))).toEqual(Array.from({ length: 10_000 }, (_, n) => n));
  });

  it("gives the same jobs for the same seed", () => {
    const mix = (seed: number) => {
      const prng = createPrng(seed);
      return Array.from({ length: 50 }, (_, n) => jobInput(n, prng));
    };
    expect(mix(5)).toEqual(mix(5));
    expect(mix(6)).not.toEqual(mix(5));
  });
});
