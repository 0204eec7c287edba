import { setTimeout as delay } from "node:timers/promises";

/** Exponential backoff with full jitter between `baseMs` and `maxMs`. */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** Delay before the next retry, in ms; grows with each call until reset. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 20));
    this.failures += 1;
    // Jitter keeps many workers that lost the scheduler together from retrying in lockstep.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Waits `ms`, or less when `signal` aborts first; never throws. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await delay(ms, undefined, { signal }).catch(() => undefined);
}
