import { PeriodicLoop } from "@taskflow/service-kit";
import type pg from "pg";
import type { Logger } from "pino";
import {
  purgeTableSizeSamples,
  recordTableSizes,
  SAMPLE_RETENTION_DAYS,
  withSizeLockTimeout,
} from "../db/queries/relation-sizes.js";
import type { StatementTimings } from "../db/statements.js";

/** Longest pause after repeated failures, in milliseconds. */
const MAX_BACKOFF_MS = 3_600_000;

export interface SampleTableSizesOptions {
  /** Pool on the primary: samples are written there. */
  pool: pg.Pool;
  /** Where the loop's statements are timed. */
  timings: StatementTimings;
  /** Period between runs, in milliseconds (PARTITION_MAINTENANCE_INTERVAL_MS). */
  intervalMs: number;
  logger: Logger;
}

/** What one run did. */
export interface SampleResult {
  /** Relations sampled (those being locked are skipped until the next run). */
  sampled: number;
  /** Samples older than {@link SAMPLE_RETENTION_DAYS} days deleted. */
  purged: number;
}

/**
 * Records the size of every table and partition, so GetDatabaseStats can tell how fast each
 * grows, and deletes samples too old to matter. A sample is one row per relation and hour, so
 * several replicas sampling, or a short interval, add nothing but an update of that hour's row.
 */
export class SampleTableSizes {
  private readonly logger: Logger;
  private readonly loop: PeriodicLoop;

  constructor(private readonly opts: SampleTableSizesOptions) {
    this.logger = opts.logger.child({ component: "sample-table-sizes" });
    this.loop = new PeriodicLoop({
      intervalMs: opts.intervalMs,
      maxBackoffMs: MAX_BACKOFF_MS,
      logger: this.logger,
      run: () => this.runOnce(),
    });
  }

  /** Samples every relation once and purges old samples, in one transaction. */
  async runOnce(): Promise<SampleResult> {
    const result = await withSizeLockTimeout(this.opts.pool, this.opts.timings, async (db) => ({
      sampled: await recordTableSizes(db),
      purged: await purgeTableSizeSamples(db, SAMPLE_RETENTION_DAYS),
    }));
    this.logger.debug({ sampled: result.sampled, purged: result.purged }, "table sizes sampled");
    return result;
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
