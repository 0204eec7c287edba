import { PeriodicLoop } from "@taskflow/service-kit";
import type pg from "pg";
import type { Logger } from "pino";
import { ensurePartitions } from "../db/queries/partitions.js";
import type { StatementTimings } from "../db/statements.js";
import { inTransaction, isLockConflict, setLocalLockTimeout } from "../db/transaction.js";

/** Longest pause after repeated failures, in milliseconds. */
const MAX_BACKOFF_MS = 300_000;

export interface PartitionMaintenanceOptions {
  /** Pool on the primary. */
  pool: pg.Pool;
  timings: StatementTimings;
  /** Days of partitions kept created after today. */
  premakeDays: number;
  /** Longest wait for the parent's lock, in milliseconds. */
  lockTimeoutMs: number;
  /** Period between runs, in milliseconds. */
  intervalMs: number;
  logger: Logger;
}

/** What one run did. */
export interface PartitionUpkeepResult {
  /** Days whose jobs and job_events partitions were created. */
  created: number;
  /** The run gave up waiting for a lock; the next run tries again. */
  lockTimedOut: boolean;
  /** WARNINGs PostgreSQL raised: days skipped because their rows sit in a DEFAULT partition. */
  warnings: string[];
}

/**
 * Keeps day partitions of `jobs` and `job_events` created from today to `premakeDays` ahead,
 * so new jobs land in a day partition (cheap to query by time and to drop) rather than in
 * DEFAULT. Creating a partition locks the parent: the run waits at most `lockTimeoutMs` for it,
 * so it never queues behind a long query with every other statement queued behind it; on a
 * timeout it gives up quietly and the next run tries again, days before the partition is
 * needed. Safe on several replicas: the SQL function serialises them on an advisory lock and
 * creates only what is missing.
 */
export class PartitionMaintenance {
  private readonly logger: Logger;
  private readonly loop: PeriodicLoop;

  constructor(private readonly opts: PartitionMaintenanceOptions) {
    this.logger = opts.logger.child({ component: "partition-maintenance" });
    this.loop = new PeriodicLoop({
      intervalMs: opts.intervalMs,
      maxBackoffMs: MAX_BACKOFF_MS,
      logger: this.logger,
      run: () => this.runOnce(),
    });
  }

  /**
   * Ensures the partitions once. A lock timeout resolves (`lockTimedOut`); any other database
   * error rejects.
   */
  async runOnce(): Promise<PartitionUpkeepResult> {
    const warnings: string[] = [];
    try {
      const created = await inTransaction(this.opts.pool, this.opts.timings, async ({ db, client }) => {
        const onNotice = (n: { severity?: string; message?: string }) => {
          if (n.severity === "WARNING" && n.message !== undefined) warnings.push(n.message);
        };
        client.on("notice", onNotice);
        try {
          await setLocalLockTimeout(db, this.opts.lockTimeoutMs);
          return await ensurePartitions(db, this.opts.premakeDays);
        } finally {
          client.off("notice", onNotice);
        }
      });
      this.report(created, warnings);
      return { created, lockTimedOut: false, warnings };
    } catch (err) {
      if (!isLockConflict(err)) throw err;
      this.logger.warn({ lock_timeout_ms: this.opts.lockTimeoutMs }, "partition upkeep gave up waiting for a lock");
      return { created: 0, lockTimedOut: true, warnings };
    }
  }

  private report(created: number, warnings: readonly string[]): void {
    for (const warning of warnings) this.logger.warn({ detail: warning }, "day partition not created");
    if (created > 0) this.logger.info({ days: created, premake_days: this.opts.premakeDays }, "day partitions created");
    else this.logger.debug({ premake_days: this.opts.premakeDays }, "day partitions present");
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
