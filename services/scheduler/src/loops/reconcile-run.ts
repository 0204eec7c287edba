import type { Logger } from "pino";
import type { HistoryClient } from "../history-client.js";
import type { DueTimer } from "./due-timer.js";
import type { LeaseWaiters } from "../redis/lease-waiters.js";
import type { QueueStore } from "../redis/queue-store.js";
import type { RecoveryStore } from "../redis/recovery-store.js";
import type { ScheduleStore } from "../redis/schedule-store.js";
import type { SetWalk } from "../redis/reconcile-state.js";
import type { ChildSettler } from "../settle-children.js";

/**
 * What a run compares.
 * - `restore`: Redis lost its data (the marker is gone): every unfinished job in history comes
 *   back at once, without waiting out a grace period.
 * - `full`: every unfinished job created before the grace period, and every job in Redis
 *   (an operator's on-demand run).
 * - `incremental`: the periodic run: only what can disagree, bounded: the unfinished jobs created
 *   since the previous run (a submit that crashed between history's commit and the enqueue), and
 *   the next stretch of a walk of Redis's queue sets that resumes where the previous run stopped.
 */
export type ReconcileMode = "restore" | "full" | "incremental";

/** What one reconciliation found and (unless a dry run) repaired. */
export interface ReconcileReport {
  dryRun: boolean;
  mode: ReconcileMode;
  /** Unfinished jobs of history checked against Redis. */
  unfinishedChecked: number;
  /** Jobs of Redis's ready, delayed and leased sets checked against history. */
  redisChecked: number;
  /** Unfinished jobs Redis had lost, put back as ready or delayed (or that would be). */
  requeuedJobIds: string[];
  /**
   * Jobs history had as running their last attempt when Redis lost them: the lease is gone,
   * so they failed with LEASE_EXPIRED as an expired lease would (or would fail).
   */
  failedJobIds: string[];
  /** Jobs dropped from Redis: finished in history, or unknown to it (or that would be). */
  droppedJobIds: string[];
  /** Jobs that could not be repaired (logged with the reason); the run went on without them. */
  skippedJobIds: string[];
}

/** What both passes of a run use. */
export interface ReconcileContext {
  store: QueueStore;
  recovery: RecoveryStore;
  history: HistoryClient;
  /** The schedules' firing state, rebuilt from history's schedules by every run; none: not reconciled. */
  schedules?: ScheduleStore;
  waiters: LeaseWaiters;
  logger: Logger;
  /** Timeout of a restored job whose history row names none, in ms. */
  defaultTimeoutMs: number;
  /** Most jobs each pass of an incremental run checks. */
  maxJobsPerRun: number;
  /** Called when transitions were written to an outbox. */
  eventsWritten: () => void;
  /** Arms delayed promotion for restored jobs that wait for their run time; none: the sweep finds them. */
  dueTimer?: Pick<DueTimer, "delayed">;
  /**
   * Releases or ends flows' children whose parents settled; none: lost children are left to a
   * process that has it (they are never restored as plain jobs, which would run them early).
   */
  flows?: Pick<ChildSettler, "settleIds">;
}

/** One run in progress. */
export interface ReconcileRun extends ReconcileContext {
  dryRun: boolean;
  mode: ReconcileMode;
  /** Aborts when the run must stop: the process is stopping or the lock was lost. */
  signal: AbortSignal;
  /**
   * Redis's clock minus the grace period (Redis's clock itself when restoring), ms since the Unix
   * epoch: only jobs created before it are repaired, so a submit in flight is never taken for a
   * lost job or for debris.
   */
  cutoffMs: number;
  report: ReconcileReport;
}

/** Where pass one stopped: the last id it checked, and whether it reached the cutoff. */
export interface UnfinishedProgress {
  lastId: string;
  done: boolean;
}

/** Where pass two stopped: the position to resume from, undefined when the walk went round. */
export interface WalkProgress {
  next: SetWalk | undefined;
}

export function emptyReport(dryRun: boolean, mode: ReconcileMode): ReconcileReport {
  return {
    dryRun,
    mode,
    unfinishedChecked: 0,
    redisChecked: 0,
    requeuedJobIds: [],
    failedJobIds: [],
    droppedJobIds: [],
    skippedJobIds: [],
  };
}
