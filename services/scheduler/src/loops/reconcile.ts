import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { SchedulerMetrics } from "../metrics.js";
import type { ReconcileLock } from "../redis/reconcile-lock.js";
import { PeriodicLoop } from "@taskflow/service-kit";
import { dropFinishedJobs } from "./reconcile-redis.js";
import { emptyReport, type ReconcileContext, type ReconcileReport, type ReconcileRun } from "./reconcile-run.js";
import { requeueLostJobs } from "./reconcile-unfinished.js";

export type { ReconcileReport } from "./reconcile-run.js";

export interface ReconcilerDeps extends ReconcileContext {
  lock: ReconcileLock;
  /** Period of the loop, in ms; the first run comes one period after start. */
  intervalMs: number;
  /** How old a discrepancy must be before it is repaired, in ms (see {@link ReconcileRun.cutoffMs}). */
  graceMs: number;
  metrics?: Pick<SchedulerMetrics, "reconcileRequeued" | "reconcileDropped">;
}

export interface ReconcileOptions {
  /** Report what differs without changing anything (takes no lock). */
  dryRun?: boolean;
  /** How long to wait for another replica's run to end, in ms; default 0 (skip). */
  waitForLockMs?: number;
}

/**
 * Makes PostgreSQL and Redis agree: unfinished jobs Redis lost are put back (pass one), and
 * jobs Redis holds that history finished, or never knew, are dropped (pass two). Only one
 * replica runs at a time (a Redis lock with a random token, renewed while running); every write
 * is idempotent anyway (restore only where the hash is absent, drop by id), so a run cut short or
 * repeated does no harm. Changes nothing in the audit trail except LEASE_EXPIRED for jobs that
 * were running when Redis lost them.
 */
export class Reconciler {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();

  constructor(private readonly d: ReconcilerDeps) {
    this.logger = d.logger.child({ component: "reconcile" });
    this.loop = new PeriodicLoop({
      intervalMs: d.intervalMs,
      initialDelayMs: d.intervalMs,
      logger: this.logger,
      run: () => this.runOnce().catch((err: unknown) => {
        if (!this.stopping.signal.aborted) throw err;
      }),
    });
  }

  /**
   * One reconciliation.
   * @returns what was found and repaired; undefined when another replica holds the lock.
   * @throws unavailable when history or Redis fails, the lock was lost meanwhile, or the
   *   reconciler is stopping.
   */
  async runOnce(opts: ReconcileOptions = {}): Promise<ReconcileReport | undefined> {
    this.stopping.signal.throwIfAborted();
    const dryRun = opts.dryRun ?? false;
    // A dry run writes nothing, so it may run beside another replica's run.
    const lock = dryRun ? undefined : await this.d.lock.acquire(opts.waitForLockMs ?? 0);
    if (!dryRun && lock === undefined) {
      this.logger.debug("reconcile skipped: another replica is reconciling");
      return undefined;
    }
    try {
      const signals = lock === undefined ? [this.stopping.signal] : [this.stopping.signal, lock.signal];
      const run: ReconcileRun = {
        ...this.d,
        logger: this.logger,
        dryRun,
        signal: AbortSignal.any(signals),
        cutoffMs: (await this.d.recovery.now()) - this.d.graceMs,
        report: emptyReport(dryRun),
      };
      await requeueLostJobs(run);
      await dropFinishedJobs(run, new Set());
      this.conclude(run.report);
      return run.report;
    } finally {
      await lock?.release();
    }
  }

  start(): void {
    this.loop.start();
  }

  /** Stops the loop, cutting a run in progress short at its next step. */
  async stop(): Promise<void> {
    this.stopping.abort(new ConnectError("scheduler is shutting down", Code.Unavailable));
    await this.loop.stop();
  }

  private conclude(r: ReconcileReport): void {
    const fields = {
      dry_run: r.dryRun,
      unfinished_checked: r.unfinishedChecked,
      redis_checked: r.redisChecked,
      requeued: r.requeuedJobIds.length,
      failed: r.failedJobIds.length,
      dropped: r.droppedJobIds.length,
      skipped: r.skippedJobIds.length,
    };
    const changed = fields.requeued + fields.failed + fields.dropped + fields.skipped > 0;
    if (changed) this.logger.info(fields, "reconciled");
    else this.logger.debug(fields, "reconciled");
    if (r.dryRun) return;
    this.d.metrics?.reconcileRequeued.inc(fields.requeued);
    this.d.metrics?.reconcileDropped.inc(fields.dropped);
  }
}
