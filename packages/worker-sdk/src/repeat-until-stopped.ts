import { sleep } from "./backoff.js";

/**
 * A round of a background loop: does its work (or fails, having logged why) and answers how long
 * to wait before the next round, in ms, or `null` to end the loop. `signal` aborts when the loop stops.
 */
export type Round = (signal: AbortSignal) => Promise<number | null>;

/**
 * The background loop of the lease and heartbeat loops: runs `round` again and again, after
 * `firstWaitMs`, waiting between rounds as each asks, until `stop()`, which aborts the round in
 * flight (its signal) and resolves once it ended.
 */
export class RepeatUntilStopped {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** Aborts to cut the current wait short (see wake). */
  private waking: AbortController | undefined;
  private woken = false;

  constructor(
    private readonly round: Round,
    private readonly firstWaitMs = 0,
  ) {}

  /** Aborts when the loop stops. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Starts the next round now: cuts the wait under way short, or skips the next one when a round is running. */
  wake(): void {
    this.woken = true;
    this.waking?.abort();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    let waitMs: number | null = this.firstWaitMs;
    while (!signal.aborted && waitMs !== null) {
      // Even a round that asks for no wait yields to the event loop first: a round that ends
      // at once (a call refused without I/O) must not starve everything else.
      // The wait ends on stop or on wake (AbortSignal.any needs Node 20.3; engines allow 20.0).
      const waking = (this.waking = new AbortController());
      const onStop = (): void => waking.abort();
      signal.addEventListener("abort", onStop, { once: true });
      await sleep(this.woken ? 0 : waitMs, waking.signal);
      signal.removeEventListener("abort", onStop);
      this.waking = undefined;
      this.woken = false;
      if (signal.aborted) return;
      waitMs = await this.round(signal);
    }
  }
}
