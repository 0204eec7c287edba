import type pg from "pg";
import type { Logger } from "pino";
import { purgeIdempotencyKeys } from "../db/queries/purge-idempotency-keys.js";

/** Keys deleted per statement; bounds how long one statement holds its locks. */
export const PURGE_BATCH_SIZE = 1_000;
/** Statements per run; a backlog larger than this is worked off over several runs. */
export const PURGE_MAX_BATCHES_PER_RUN = 100;
/** Longest pause after repeated failures, in milliseconds. */
const MAX_BACKOFF_MS = 300_000;

export interface PurgeIdempotencyKeysOptions {
  pool: pg.Pool;
  /** Period between runs, in milliseconds. */
  intervalMs: number;
  logger: Logger;
  /** Keys per statement (default {@link PURGE_BATCH_SIZE}). */
  batchSize?: number;
}

/**
 * Deletes expired idempotency keys so that `idempotency_keys` holds about one window of
 * submits, not every key ever used. An expired key that is still there does no harm (a submit
 * takes it over), so the purge may lag. Safe on several replicas: each batch skips rows another
 * one has locked.
 */
export class PurgeIdempotencyKeys {
  private readonly logger: Logger;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failures = 0;

  constructor(private readonly opts: PurgeIdempotencyKeysOptions) {
    this.logger = opts.logger.child({ component: "purge-idempotency-keys" });
    this.batchSize = opts.batchSize ?? PURGE_BATCH_SIZE;
  }

  /** Deletes expired keys batch by batch, at most {@link PURGE_MAX_BATCHES_PER_RUN} batches; resolves to the count. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < PURGE_MAX_BATCHES_PER_RUN; batch++) {
      const deleted = await purgeIdempotencyKeys(this.opts.pool, this.batchSize);
      total += deleted;
      if (deleted < this.batchSize) break;
    }
    if (total > 0) this.logger.info({ deleted: total }, "expired idempotency keys purged");
    return total;
  }

  /** Runs now, then every interval (backing off after failures) until {@link stop}. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
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
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.runOnce();
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      this.logger.warn({ err, failures: this.failures }, "idempotency key purge failed");
    }
    if (this.stopped) return;
    const interval = this.opts.intervalMs;
    this.schedule(this.failures === 0 ? interval : Math.min(interval * 2 ** this.failures, Math.max(interval, MAX_BACKOFF_MS)));
  }
}
