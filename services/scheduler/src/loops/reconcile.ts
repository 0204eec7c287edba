import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { SchedulerMetrics } from "../metrics.js";
import type { HeldLock, ReconcileLock } from "../redis/reconcile-lock.js";
import { idFloor, type ReconcileState, type ReconcileStateStore, type StoredState } from "../redis/reconcile-state.js";
import { PeriodicLoop } from "@taskflow/service-kit";
import { dropFinishedJobs } from "./reconcile-redis.js";
import {
  emptyReport,
  type ReconcileContext,
  type ReconcileMode,
  type ReconcileReport,
  type ReconcileRun,
} from "./reconcile-run.js";
import { requeueStoppedRetries } from "./reconcile-retries.js";
import { syncSchedules } from "./reconcile-schedules.js";
import { requeueLostJobs } from "./reconcile-unfinished.js";
import { restoreQueueControls } from "./restore-queue-controls.js";

export type { ReconcileReport } from "./reconcile-run.js";

export interface ReconcilerDeps extends ReconcileContext {
  lock: ReconcileLock;
  state: ReconcileStateStore;
  /** Period of the incremental run, in ms; the first comes one period after start. */
  intervalMs: number;
  /** Period of the check that Redis still holds its data, in ms. */
  watchIntervalMs: number;
  /** How old a discrepancy must be before it is repaired, in ms (see {@link ReconcileRun.cutoffMs}). */
  graceMs: number;
  metrics?: Pick<SchedulerMetrics, "reconcileRequeued" | "reconcileDropped" | "redisDataLost">;
}

export interface ReconcileOptions {
  /** Report what differs without changing anything (takes no lock). */
  dryRun?: boolean;
  /** Compare everything, not only what changed since the previous run (an operator's run). */
  full?: boolean;
  /** How long to wait for another replica's run to end, in ms; default 0 (skip). */
  waitForLockMs?: number;
}

/** Longest pause of the data watch after failed checks, in ms. */
const WATCH_MAX_BACKOFF_MS = 1_000;

/** Leaves the lock free for a restore another replica may finish, and skips. */
const NO_WAIT = 0;

/**
 * Makes PostgreSQL and Redis agree: unfinished jobs Redis lost are put back (pass one), and jobs
 * Redis holds that history finished, or never knew, are dropped (pass two). Only one replica
 * runs at a time (a Redis lock with a random token, renewed while running); every write is
 * idempotent anyway (restore only where the hash is absent, drop by id), so a run cut short or
 * repeated does no harm. Changes nothing in the audit trail except LEASE_EXPIRED for jobs that
 * were running when Redis lost them.
 *
 * Its cost is bounded: the periodic run reads only what can disagree (see ReconcileMode), and
 * its progress lives in Redis. That progress is also the marker of Redis's data: a watch checks
 * every `watchIntervalMs` that it is there, and when it is not, Redis lost its data and a
 * restore runs at once, bringing every unfinished job back within seconds.
 */
export class Reconciler {
  private readonly loop: PeriodicLoop;
  private readonly watch: PeriodicLoop;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();

  constructor(private readonly d: ReconcilerDeps) {
    this.logger = d.logger.child({ component: "reconcile" });
    const ignoreStopping = (err: unknown): void => {
      if (!this.stopping.signal.aborted) throw err;
    };
    this.loop = new PeriodicLoop({
      intervalMs: d.intervalMs,
      initialDelayMs: d.intervalMs,
      logger: this.logger,
      run: () => this.runOnce().then(() => undefined, ignoreStopping),
    });
    this.watch = new PeriodicLoop({
      intervalMs: d.watchIntervalMs,
      // While Redis restarts every check fails; the first after it is back must come within a
      // second or so, not after a backoff grown during the outage.
      maxBackoffMs: Math.max(d.watchIntervalMs, WATCH_MAX_BACKOFF_MS),
      logger: this.logger,
      run: () => this.checkData().catch(ignoreStopping),
    });
  }

  /**
   * One reconciliation: a restore when Redis lost its data, else a full or incremental run.
   * @returns what was found and repaired; undefined when another replica holds the lock.
   * @throws unavailable when history or Redis fails, the lock was lost meanwhile, or the
   *   reconciler is stopping.
   */
  async runOnce(opts: ReconcileOptions = {}): Promise<ReconcileReport | undefined> {
    this.stopping.signal.throwIfAborted();
    const dryRun = opts.dryRun ?? false;
    // A dry run writes nothing, so it may run beside another replica's run.
    const lock = dryRun ? undefined : await this.d.lock.acquire(opts.waitForLockMs ?? NO_WAIT);
    if (!dryRun && lock === undefined) {
      this.logger.debug("reconcile skipped: another replica is reconciling");
      return undefined;
    }
    try {
      const state = await this.d.state.read();
      const mode: ReconcileMode = state === undefined || state.restoring ? "restore" : opts.full ? "full" : "incremental";
      const epoch = mode === "restore" && !dryRun ? await this.d.state.beginRestore() : state?.epoch;
      if (mode === "restore" && !dryRun && epoch === undefined) {
        this.logger.debug("reconcile skipped: another replica completed the restore");
        return undefined;
      }
      const run = await this.newRun(dryRun, mode, lock);
      const started = performance.now();
      if (mode === "restore" && !dryRun) await restoreQueueControls(run);
      const next = await this.compare(run, state);
      // A run that began before Redis lost its data must not put the marker back.
      if (!dryRun && !(await this.d.state.save(epoch ?? "", next))) {
        this.logger.warn({ mode }, "reconcile state not saved: redis lost its data during the run");
      }
      this.conclude(run.report, performance.now() - started);
      return run.report;
    } finally {
      await lock?.release();
    }
  }

  start(): void {
    this.watch.start();
    this.loop.start();
  }

  /** Stops the loops, cutting a run in progress short at its next step. */
  async stop(): Promise<void> {
    this.stopping.abort(new ConnectError("scheduler is shutting down", Code.Unavailable));
    await Promise.all([this.watch.stop(), this.loop.stop()]);
  }

  /** Restores at once when the marker of Redis's data is gone (skipped while another replica restores). */
  private async checkData(): Promise<void> {
    if (await this.d.state.intact()) return;
    this.logger.warn("redis lost its data: restoring unfinished jobs from history");
    const report = await this.runOnce();
    if (report !== undefined && report.mode === "restore") this.d.metrics?.redisDataLost.inc();
  }

  private async newRun(dryRun: boolean, mode: ReconcileMode, lock: HeldLock | undefined): Promise<ReconcileRun> {
    const signals = lock === undefined ? [this.stopping.signal] : [this.stopping.signal, lock.signal];
    const now = await this.d.recovery.now();
    return {
      ...this.d,
      logger: this.logger,
      dryRun,
      mode,
      signal: AbortSignal.any(signals),
      // After a loss nothing in flight can be mistaken: a restored job's submit finds it enqueued.
      cutoffMs: mode === "restore" ? now : now - this.d.graceMs,
      report: emptyReport(dryRun, mode),
    };
  }

  /** Runs both passes as the mode asks; returns the progress to save. */
  private async compare(run: ReconcileRun, state: StoredState | undefined): Promise<ReconcileState> {
    const incremental = run.mode === "incremental" && state !== undefined;
    const budget = incremental ? this.d.maxJobsPerRun : Number.POSITIVE_INFINITY;
    const unfinished = await requeueLostJobs(run, incremental ? state.cursor : "", budget);
    await requeueStoppedRetries(run);
    await syncSchedules(run);
    // The next run checks again from the start of the grace period: a job created within it
    // may still have its submit in flight, and one that crashed before the enqueue is caught then.
    const graceFloor = idFloor(run.cutoffMs - (run.mode === "restore" ? this.d.graceMs : 0));
    const cursor = unfinished.done ? maxId(incremental ? state.cursor : "", graceFloor) : unfinished.lastId;
    if (run.mode === "restore") return { cursor, walk: undefined };
    const walk = await dropFinishedJobs(run, incremental ? state.walk : undefined, budget);
    return { cursor, walk: walk.next };
  }

  private conclude(r: ReconcileReport, elapsedMs: number): void {
    const fields = {
      dry_run: r.dryRun,
      mode: r.mode,
      unfinished_checked: r.unfinishedChecked,
      redis_checked: r.redisChecked,
      requeued: r.requeuedJobIds.length,
      failed: r.failedJobIds.length,
      dropped: r.droppedJobIds.length,
      skipped: r.skippedJobIds.length,
      elapsed_ms: Math.round(elapsedMs),
    };
    const changed = fields.requeued + fields.failed + fields.dropped + fields.skipped > 0;
    if (changed || r.mode === "restore") this.logger.info(fields, "reconciled");
    else this.logger.debug(fields, "reconciled");
    if (r.dryRun) return;
    this.d.metrics?.reconcileRequeued.inc(fields.requeued);
    this.d.metrics?.reconcileDropped.inc(fields.dropped);
  }
}

const maxId = (a: string, b: string): string => (a > b ? a : b);
