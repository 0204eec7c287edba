import { ConnectError } from "@connectrpc/connect";
import { type Job, JobStatus } from "@taskflow/proto";
import { restoreJobOf, RestoreOutcome, type RestoreJob } from "../redis/recovery-store.js";
import { verdictOf } from "../settle-children.js";
import type { ReconcileRun, UnfinishedProgress } from "./reconcile-run.js";

/** Unfinished jobs read from history per call. */
export const UNFINISHED_PAGE_SIZE = 500;

/**
 * First pass: pages through history's unfinished jobs created before the cutoff whose id sorts
 * after `afterId`, in id order, and puts back into Redis those whose hash Redis lacks, one
 * existence pipeline and one restore script per queue per page. Stops after `budget` jobs. A job
 * that cannot be restored is logged and skipped. A flow's child is left waiting while a parent is
 * unfinished, and settled (see ChildSettler) once none is.
 * @returns the last id checked and whether the walk reached the cutoff.
 * @throws unavailable when history or Redis fails (the run stops; the next one starts from the saved cursor).
 */
export async function requeueLostJobs(run: ReconcileRun, afterId: string, budget: number): Promise<UnfinishedProgress> {
  let lastId = afterId;
  let checked = 0;
  for (;;) {
    run.signal.throwIfAborted();
    const pageSize = Math.min(UNFINISHED_PAGE_SIZE, budget - checked);
    if (pageSize <= 0) return { lastId, done: false };
    const jobs = await run.history.listUnfinishedJobs({ createdBeforeMs: run.cutoffMs, afterId: lastId, pageSize }, run.signal);
    run.report.unfinishedChecked += jobs.length;
    checked += jobs.length;
    for (const [queue, group] of groupByQueue(jobs)) await requeueQueue(run, queue, group);
    if (jobs.length > 0) lastId = jobs.at(-1)!.id;
    if (jobs.length < pageSize) return { lastId, done: true };
  }
}

/**
 * Puts back those of one queue's unfinished `jobs` (history's rows, with lastEventSeq) that Redis
 * lacks or holds as stale tombstones, and reports them; nothing but the report on a dry run.
 */
export async function requeueQueue(run: ReconcileRun, queue: string, jobs: readonly Job[]): Promise<void> {
  const lost = new Set(await run.recovery.missing(queue, jobs.map((j) => ({ id: j.id, seq: j.lastEventSeq }))));
  // A flow's child Redis does not hold is waiting for its parents, or was let go by a parent's end
  // that a crash kept from it: never a plain job to restore (it would run before its parents).
  const children = jobs.filter((j) => lost.has(j.id) && j.parents.length > 0 && verdictOf(j).kind !== "wait");
  if (children.length > 0 && !run.dryRun) await run.flows?.settleIds(children.map((j) => j.id), run.signal);
  const missing = jobs.filter((j) => lost.has(j.id) && j.parents.length === 0);
  if (missing.length === 0) return;
  if (run.dryRun) {
    for (const job of missing) {
      const fails = job.status === JobStatus.PROCESSING && job.attempts >= job.maxAttempts;
      (fails ? run.report.failedJobIds : run.report.requeuedJobIds).push(job.id);
    }
    return;
  }
  const restorable = missing.flatMap((job) => toRestoreJob(run, job));
  if (restorable.length === 0) return;
  // After a flush the set the loops sweep is gone too.
  await run.store.addQueues([queue]);
  const outcomes = await restoreOrSkip(run, queue, restorable);
  const { ready, emitted } = record(run, queue, restorable, outcomes);
  if (emitted) run.eventsWritten();
  const delayed = restorable.filter((_, i) => outcomes[i] === RestoreOutcome.Delayed).map((j) => j.scheduledMs);
  if (delayed.length > 0) run.dueTimer?.delayed(queue, Math.min(...delayed));
  if (ready.size > 0) await run.waiters.announce([{ queue, ready }]);
}

/** The job as the restore script takes it; none (logged, skipped) when history's row cannot be one. */
function toRestoreJob(run: ReconcileRun, job: Job): RestoreJob[] {
  try {
    // Without history's newest seq the trail cannot continue without a gap or a clash.
    if (job.lastEventSeq < 1) throw new Error("history did not report the job's newest event seq");
    return [restoreJobOf(job, run.defaultTimeoutMs)];
  } catch (err) {
    skip(run, job.queue, job.id, err);
    return [];
  }
}

/**
 * Restores the batch in one call; when Redis refuses it (a script error, not a connection
 * failure), restores job by job so one bad job cannot hold back the others.
 */
async function restoreOrSkip(run: ReconcileRun, queue: string, jobs: RestoreJob[]): Promise<RestoreOutcome[]> {
  try {
    return await run.recovery.restore(queue, jobs);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
  }
  const outcomes: RestoreOutcome[] = [];
  for (const job of jobs) {
    try {
      outcomes.push(...(await run.recovery.restore(queue, [job])));
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      skip(run, queue, job.id, err);
      outcomes.push(RestoreOutcome.Present);
    }
  }
  return outcomes;
}

/** Adds the outcomes to the report; tells how many jobs of each type became ready and whether events were written. */
function record(
  run: ReconcileRun,
  queue: string,
  jobs: readonly RestoreJob[],
  outcomes: readonly RestoreOutcome[],
): { ready: Map<string, number>; emitted: boolean } {
  const requeued: string[] = [];
  const failed: string[] = [];
  const ready = new Map<string, number>();
  let emitted = false;
  jobs.forEach((job, i) => {
    const outcome = outcomes[i];
    if (outcome === RestoreOutcome.Failed) failed.push(job.id);
    else if (outcome !== undefined && outcome !== RestoreOutcome.Present) requeued.push(job.id);
    if (outcome === RestoreOutcome.Ready || outcome === RestoreOutcome.LeaseExpired) {
      ready.set(job.type, (ready.get(job.type) ?? 0) + 1);
    }
    emitted ||= outcome === RestoreOutcome.LeaseExpired || outcome === RestoreOutcome.Failed;
  });
  run.report.requeuedJobIds.push(...requeued);
  run.report.failedJobIds.push(...failed);
  if (requeued.length > 0) run.logger.info({ queue, job_ids: requeued }, "lost jobs requeued");
  if (failed.length > 0) run.logger.info({ queue, job_ids: failed }, "lost jobs failed after their last attempt");
  return { ready, emitted };
}

export function skip(run: ReconcileRun, queue: string, jobId: string, err: unknown): void {
  run.report.skippedJobIds.push(jobId);
  run.logger.error({ err, queue, job_id: jobId }, "job not reconciled");
}

/** Jobs by queue, in their order. */
export function groupByQueue(jobs: readonly Job[]): Map<string, Job[]> {
  const byQueue = new Map<string, Job[]>();
  for (const job of jobs) {
    const list = byQueue.get(job.queue) ?? [];
    list.push(job);
    byQueue.set(job.queue, list);
  }
  return byQueue;
}
