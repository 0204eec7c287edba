import type { Logger } from "pino";
import type { HistoryClient } from "../history-client.js";
import type { LeaseWaiters } from "../redis/lease-waiters.js";
import type { QueueStore } from "../redis/queue-store.js";
import type { RecoveryStore } from "../redis/recovery-store.js";

/** What one reconciliation found and (unless a dry run) repaired. */
export interface ReconcileReport {
  dryRun: boolean;
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
  waiters: LeaseWaiters;
  logger: Logger;
  /** Timeout of a restored job whose history row names none, in ms. */
  defaultTimeoutMs: number;
  /** Called when transitions were written to an outbox. */
  eventsWritten: () => void;
}

/** One run in progress. */
export interface ReconcileRun extends ReconcileContext {
  dryRun: boolean;
  /** Aborts when the run must stop: the process is stopping or the lock was lost. */
  signal: AbortSignal;
  /**
   * Redis's clock minus the grace period, ms since the Unix epoch: only history rows that
   * changed before it, and Redis jobs history does not know that were created before it, are
   * repaired, so a submit in flight is never taken for a lost job or for debris.
   */
  cutoffMs: number;
  report: ReconcileReport;
}

export function emptyReport(dryRun: boolean): ReconcileReport {
  return {
    dryRun,
    unfinishedChecked: 0,
    redisChecked: 0,
    requeuedJobIds: [],
    failedJobIds: [],
    droppedJobIds: [],
    skippedJobIds: [],
  };
}
