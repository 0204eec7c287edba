import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { type Job, JobStatus, type ReopenJobsResponse, ReopenJobsResponseSchema } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import type { ReopenAction } from "../history-client.js";
import { crashAfterHistoryCommit } from "../faults.js";
import { RestoreOutcome, type RestoreJob } from "../redis/recovery-store.js";
import { storedJobFields } from "../stored-job-fields.js";

/** A job RetryJob refuses: only FAILED and CANCELLED jobs are retried. */
export const jobNotRetriable = (jobId: string, status: JobStatus): ConnectError =>
  new ConnectError(`job ${jobId} is ${JobStatus[status]}; only FAILED or CANCELLED jobs can be retried`, Code.FailedPrecondition);

/** How long a retry waits for the acknowledgement of a job's end before it answers without the job. */
export const SETTLE_WAIT_MS = 2_000;
const SETTLE_POLL_MS = 25;

/**
 * The jobs among `jobs` a retry may take now: not those whose end the outbox forwarder has sent
 * to history but not yet acknowledged in Redis (see RecoveryStore.endsNotAcknowledged). Its
 * acknowledgement sets the tombstone's expiry, and would set it on the live hash the retry
 * writes in the tombstone's place; once acknowledged (an expiry set, or the hash gone) nothing
 * will touch the hash again. That is the forwarder's next batch, milliseconds as a rule, so a
 * retry sent right after a job ended waits for it, up to {@link SETTLE_WAIT_MS}, before it leaves
 * a job out. Should a second acknowledgement of the same end still come (a forwarder that
 * claimed the entries from a slow one), it expires only a hash still finished (see
 * expireFinished in outbox.ts), never the live one.
 */
export async function settledJobs(d: Deps, jobs: readonly Job[], signal: AbortSignal): Promise<{ settled: Job[]; unsettled: Job[] }> {
  const refs = jobs.map((j) => ({ queue: j.queue, id: j.id }));
  const deadline = Date.now() + SETTLE_WAIT_MS;
  let pending = new Set(await d.recovery.endsNotAcknowledged(refs));
  while (pending.size > 0 && Date.now() < deadline && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    pending = new Set(await d.recovery.endsNotAcknowledged(refs.filter((r) => pending.has(r.id))));
  }
  return { settled: jobs.filter((j) => !pending.has(j.id)), unsettled: jobs.filter((j) => pending.has(j.id)) };
}

/** A job whose end is not acknowledged in Redis yet: `unavailable`, the caller retries shortly. */
export const endNotSettled = (jobId: string): ConnectError =>
  new ConnectError(`job ${jobId} has just ended and its end is still being recorded; retry in a moment`, Code.Unavailable);

/**
 * A retry of `jobs` (checked FAILED or CANCELLED, which history checks again under lock): noted
 * in Redis (see RecoveryStore.noteRetries), reopened in history with the operator's `action`,
 * put back in Redis ({@link requeueRetried}), then the note forgotten. A stop anywhere leaves the
 * note for the reconciler, which finishes the retry of whatever history reopened.
 * @returns history's answer: the jobs reopened, the known ones refused.
 * @throws unavailable when history or Redis cannot be reached.
 */
export async function reopenAndRequeue(d: Deps, jobs: readonly Job[], action: ReopenAction, signal: AbortSignal): Promise<ReopenJobsResponse> {
  const refs = jobs.map((j) => ({ queue: j.queue, id: j.id }));
  if (refs.length === 0) return create(ReopenJobsResponseSchema);
  await d.recovery.noteRetries(refs);
  const res = await d.history.reopenJobs(refs.map((r) => r.id), action, signal);
  await requeueRetried(d, res.jobs);
  await d.recovery.forgetRetries(refs);
  return res;
}

/**
 * The Redis half of a retry, after history reopened the jobs: each job is put back as its
 * reconciler restore would (restore-jobs.lua), ready now, with attempts 0 and its trail going on
 * from the RETRIED event's seq; the finished job's tombstone, stale now, is replaced whole. A job
 * Redis already holds live (the reconciler got there first) is left alone. A crash before this
 * leaves jobs history holds as pending and Redis as finished: the reconciler restores them the
 * same way (RecoveryStore.missing sees the stale tombstone), from the note {@link reopenAndRequeue} left.
 * @throws unavailable when Redis fails (the jobs are then the reconciler's to put back).
 */
export async function requeueRetried(d: Deps, jobs: readonly Job[]): Promise<void> {
  crashAfterHistoryCommit(d.config);
  const byQueue = new Map<string, RestoreJob[]>();
  for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), toRestoreJob(job, d.config.defaultTimeoutMs)]);
  if (byQueue.size === 0) return;
  // The forwarder and the loops sweep only the queues in the set; a queue idle long enough left it.
  await d.store.addQueues([...byQueue.keys()]);
  const ready = await Promise.all(
    [...byQueue].map(async ([queue, group]) => {
      const outcomes = await d.recovery.restore(queue, group);
      const counts = new Map<string, number>();
      group.forEach((j, i) => {
        if (outcomes[i] === RestoreOutcome.Ready) counts.set(j.type, (counts.get(j.type) ?? 0) + 1);
      });
      return { queue, ready: counts };
    }),
  );
  await d.waiters.announce(ready.filter((r) => r.ready.size > 0));
}

function toRestoreJob(job: Job, defaultTimeoutMs: number): RestoreJob {
  return {
    ...storedJobFields(job, defaultTimeoutMs),
    attempts: 0,
    seq: job.lastEventSeq,
    // Due now: history's clock set scheduled_at, and Redis's may lag it.
    scheduledMs: 0,
    processing: false,
    workerId: "",
  };
}
