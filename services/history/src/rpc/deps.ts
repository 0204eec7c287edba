import type pg from "pg";
import type { Logger } from "pino";
import type { HistoryConfig } from "../config.js";
import type { Queryable } from "../db/queryable.js";
import type { StatementTimings } from "../db/statements.js";
import type { HistoryMetrics } from "../metrics.js";
import type { JobFeed } from "../db/job-feed.js";
import type { JobWatchHub } from "../db/job-notifications.js";
import type { PageTokens } from "./page-token.js";

/** What every handler uses. */
export interface HistoryDeps {
  /** Pool on the primary (`DATABASE_URL`): writes, and reads that must see them. */
  pool: pg.Pool;
  /**
   * Pool on the read replica (`DATABASE_READ_URL`), or `pool` itself when none is configured:
   * lists, search, stats and the audit export.
   */
  readPool: pg.Pool;
  /** `pool`, every statement timed into `timings`. */
  db: Queryable;
  /** `readPool`, every statement timed into `timings`. */
  readDb: Queryable;
  timings: StatementTimings;
  /** Served at `GET /metrics`: ingest batches and their write time, pool use. */
  metrics: HistoryMetrics;
  pageTokens: PageTokens;
  /** Wakes WatchJob streams when their job's events are recorded, on any replica. */
  watch: JobWatchHub;
  /** The changed jobs WatchJobs streams share: one read per batch of notifications. */
  feed: JobFeed;
  config: HistoryConfig;
  logger: Logger;
}
