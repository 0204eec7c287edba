import { PeriodicLoop } from "@taskflow/service-kit";
import type { Queryable } from "../db/queryable.js";
import type { Logger } from "pino";
import { purgeIdempotencyKeys } from "../db/queries/purge-idempotency-keys.js";

/** Keys deleted per statement; bounds how long one statement holds its locks. */
export const PURGE_BATCH_SIZE = 1_000;
/** Statements per run; a backlog larger than this is worked off over several runs. */
export const PURGE_MAX_BATCHES_PER_RUN = 100;
/** Longest pause after repeated failures, in milliseconds. */
const MAX_BACKOFF_MS = 300_000;

export interface PurgeIdempotencyKeysOptions {
  pool: Queryable;
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
  private readonly loop: PeriodicLoop;

  constructor(private readonly opts: PurgeIdempotencyKeysOptions) {
    this.logger = opts.logger.child({ component: "purge-idempotency-keys" });
    this.batchSize = opts.batchSize ?? PURGE_BATCH_SIZE;
    this.loop = new PeriodicLoop({
      intervalMs: opts.intervalMs,
      maxBackoffMs: MAX_BACKOFF_MS,
      logger: this.logger,
      run: () => this.runOnce(),
    });
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
    this.loop.start();
  }

  /** Stops scheduling runs and waits for the current one to end. */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}
