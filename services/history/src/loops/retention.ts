import { PeriodicLoop } from "@taskflow/service-kit";
import type { RetentionOptions } from "../retention/options.js";
import { type RetentionResult, runRetentionPass } from "../retention/run-retention-pass.js";

/** Longest pause after repeated failures (an archive directory that stays unwritable), in milliseconds. */
const MAX_BACKOFF_MS = 3_600_000;

export interface RetentionLoopOptions extends RetentionOptions {
  /** Period between passes, in milliseconds. */
  intervalMs: number;
}

/**
 * Runs a retention pass every `intervalMs` (the same pass as RunRetention), so history holds
 * about `retentionDays` of finished jobs. The first pass comes one interval after start-up,
 * not at once: replicas restarted together by a rollout do not all start a pass at the same
 * moment, and an operator who needs one now has RunRetention. With `retentionDays` 0 it never
 * runs. A failed pass (an archive that cannot be written) is logged and retried with backoff.
 */
export class RetentionLoop {
  private readonly loop: PeriodicLoop;

  constructor(private readonly opts: RetentionLoopOptions) {
    this.loop = new PeriodicLoop({
      intervalMs: opts.intervalMs,
      initialDelayMs: opts.intervalMs,
      maxBackoffMs: MAX_BACKOFF_MS,
      logger: opts.logger,
      run: () => this.runOnce(),
    });
  }

  /** One pass, now; does nothing (no cutoff) when retention is off. */
  runOnce(): Promise<RetentionResult> {
    return runRetentionPass(this.opts, { dryRun: false });
  }

  /** Starts the periodic passes, unless retention is off. */
  start(): void {
    if (this.opts.retentionDays === 0) {
      this.opts.logger.debug("retention is off (RETENTION_DAYS=0)");
      return;
    }
    this.loop.start();
  }

  /** Stops scheduling passes and waits for the current one to end. */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}
