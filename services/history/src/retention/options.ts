import type pg from "pg";
import type { Logger } from "pino";
import type { StatementTimings } from "../db/statements.js";
import type { HistoryDeps } from "../rpc/deps.js";

/** Row batches one pass deletes at most; a larger backlog is worked off over several passes. */
export const RETENTION_MAX_BATCHES_PER_PASS = 100;

/** What a retention pass works with; {@link retentionOptions} builds it from the service's settings. */
export interface RetentionOptions {
  /** Pool on the primary. */
  pool: pg.Pool;
  timings: StatementTimings;
  logger: Logger;
  /** Finished jobs older than this many days go; 0 keeps everything. */
  retentionDays: number;
  /** Jobs per row batch, at least 1. */
  batchSize: number;
  /** Directory of the gzipped NDJSON archives; empty means no archive. */
  archiveDir: string;
  /** Longest wait for the parents' lock when dropping a day, in milliseconds. */
  lockTimeoutMs: number;
  /** Row batches per pass (default {@link RETENTION_MAX_BATCHES_PER_PASS}). */
  maxBatches?: number;
}

/** Retention's options from the service's settings, logging as component `retention`. */
export function retentionOptions(d: HistoryDeps): RetentionOptions {
  return {
    pool: d.pool,
    timings: d.timings,
    logger: d.logger.child({ component: "retention" }),
    retentionDays: d.config.retentionDays,
    batchSize: d.config.retentionBatchSize,
    archiveDir: d.config.retentionArchiveDir,
    lockTimeoutMs: d.config.partitionLockTimeoutMs,
  };
}
