import { describe, expect, it } from "vitest";
import { RepeatUntilStopped } from "./repeat-until-stopped.js";

describe("RepeatUntilStopped", () => {
  it("runs rounds after the first wait, waiting between them as each asks", async () => {
    const starts: number[] = [];
    const t0 = performance.now();
    const loop = new RepeatUntilStopped(() => {
      starts.push(performance.now() - t0);
      return Promise.resolve(starts.length === 1 ? 60 : 0);
    }, 40);
    loop.start();
    while (starts.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await loop.stop();
    expect(starts[0]).toBeGreaterThanOrEqual(39);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(59);
  });

  it("aborts the round in flight on stop and resolves once it ended", async () => {
    let seen: AbortSignal | undefined;
    let rounds = 0;
    const loop = new RepeatUntilStopped(async (signal) => {
      rounds += 1;
      seen = signal;
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      return 0;
    });
    loop.start();
    while (seen === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
    await loop.stop();
    expect(seen.aborted).toBe(true);
    expect(rounds).toBe(1);
  });

  it("ends on its own after a round that answers null", async () => {
    let rounds = 0;
    const loop = new RepeatUntilStopped(() => {
      rounds += 1;
      return Promise.resolve(rounds === 2 ? null : 0);
    });
    loop.start();
    while (rounds < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBe(2);
    expect(loop.signal.aborted).toBe(false);
    await loop.stop();
  });

  it("starts the next round at once when woken, without waiting out the long wait", async () => {
    let rounds = 0;
    const loop = new RepeatUntilStopped(() => {
      rounds += 1;
      return Promise.resolve(60_000);
    });
    loop.start();
    while (rounds < 1) await new Promise((resolve) => setTimeout(resolve, 1));
    const t0 = performance.now();
    loop.wake();
    while (rounds < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(performance.now() - t0).toBeLessThan(1_000);
    await loop.stop();
  });
});
