import type { Logger } from "pino";

export interface PeriodicLoopOptions {
  /** Period between runs, in ms. */
  intervalMs: number;
  /** Wait before the first run, in ms; default 0 (run at once). */
  initialDelayMs?: number;
  /** Longest pause after repeated failures, in ms. */
  maxBackoffMs?: number;
  logger: Logger;
  run: () => Promise<unknown>;
}

const DEFAULT_MAX_BACKOFF_MS = 30_000;

/**
 * Runs `run` every `intervalMs`, one run at a time. After a failure it waits
 * twice as long each time (up to `maxBackoffMs`), so a store outage is not
 * hammered; `nudge()` asks for a run now, e.g. when new work is known to wait.
 */
export class PeriodicLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = true;
  private nudged = false;

  constructor(private readonly opts: PeriodicLoopOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.opts.initialDelayMs ?? 0);
  }

  /** Runs again as soon as the current run (if any) ends; ignored while backing off. */
  nudge(): void {
    if (this.stopped || this.failures > 0) return;
    if (this.running !== undefined) {
      this.nudged = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops scheduling runs and waits for the current one to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.nudged = false;
    try {
      await this.opts.run();
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      this.opts.logger.warn({ err, failures: this.failures }, "loop run failed");
    }
    if (this.stopped) return;
    const backoff = Math.min(this.opts.intervalMs * 2 ** this.failures, this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    this.schedule(this.failures > 0 ? backoff : this.nudged ? 0 : this.opts.intervalMs);
  }
}
