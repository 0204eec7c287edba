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
      await sleep(waitMs, signal);
      if (signal.aborted) return;
      waitMs = await this.round(signal);
    }
  }
}
