import { Code, ConnectError } from "@connectrpc/connect";
import { type Job, JobEventType, JobStatus } from "@taskflow/proto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Deps } from "../deps.js";
import { jobFinished } from "../errors.js";
import type { CancelRequest } from "../redis/queue-store.js";

/** What cancelling a lost job uses. */
export type CancelDeps = Pick<Deps, "history" | "recovery" | "store" | "logger" | "eventsWritten">;

/** Tries at recording CANCELLED when the job keeps moving under us. */
const MAX_TRIES = 3;

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);

/**
 * Cancels a job history holds as unfinished but Redis does not hold (Redis lost it, or its
 * submit has committed to history and not yet reached Redis): records CANCELLED in history
 * directly, as the next event of its trail (seq = last_event_seq + 1, actor `by.actor`, reason
 * "cancel_requested", no lease: a lease Redis held is lost with it), then writes a cancelled
 * tombstone in Redis so an enqueue still in flight creates nothing.
 *
 * The race with a concurrent submit: when the enqueue reaches Redis between history's commit of
 * CANCELLED and the tombstone, the tombstone step finds the live job and cancels it there too
 * (its CANCELLED event then carries the same seq and history keeps one). Should that step fail
 * (Redis down), the job may still run once in Redis; the reconciler drops it from Redis later
 * because PostgreSQL says cancelled, and history never moves a cancelled job back.
 * @returns the job's status afterwards: CANCELLED.
 * @throws failed_precondition when the job finished meanwhile; unavailable when history fails.
 */
export async function cancelLostJob(d: CancelDeps, job: Job, by: CancelRequest, signal: AbortSignal): Promise<JobStatus> {
  let current = job;
  for (let tries = 1; ; tries += 1) {
    if (TERMINAL.has(current.status)) {
      if (current.status === JobStatus.CANCELLED) return JobStatus.CANCELLED;
      throw jobFinished(current.id);
    }
    if (await appendCancelled(d, current, by, signal)) break;
    // Another event took that seq (the forwarder recorded a transition): read the job again.
    if (tries === MAX_TRIES) throw new ConnectError(`job ${job.id} keeps changing; retry`, Code.Unavailable);
    current = await d.history.getJob(job.id, signal);
  }
  await buryInRedis(d, job, by);
  return JobStatus.CANCELLED;
}

/** Whether history recorded the CANCELLED event (false: its seq was taken). */
async function appendCancelled(d: CancelDeps, job: Job, by: CancelRequest, signal: AbortSignal): Promise<boolean> {
  const { appended, unknownJobIds } = await d.history.appendEvents(
    [{
      jobId: job.id,
      seq: job.lastEventSeq + 1,
      type: JobEventType.CANCELLED,
      status: JobStatus.CANCELLED,
      attempt: job.attempts,
      actor: by.actor,
      reason: "cancel_requested",
      occurredAt: timestampFromMs(await d.recovery.now()),
      details: by.reason === "" ? undefined : { reason: by.reason },
    }],
    signal,
  );
  if (unknownJobIds.length > 0) throw new ConnectError(`job ${job.id} not found`, Code.NotFound);
  return appended === 1;
}

/** Best effort: history already says cancelled, and the reconciler settles Redis if this fails. */
async function buryInRedis(d: CancelDeps, job: Job, by: CancelRequest): Promise<void> {
  try {
    if (await d.recovery.bury(job.queue, job.id)) return;
    const outcome = await d.store.cancel(job.queue, job.id, by);
    if (outcome === "cancelled") d.eventsWritten();
  } catch (err) {
    d.logger.warn({ err, job_id: job.id, queue: job.queue }, "cancelled job not settled in redis");
  }
}
