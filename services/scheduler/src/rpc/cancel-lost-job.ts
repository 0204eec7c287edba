import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Job, JobEventType, JobStatus } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import type { CancelRequest } from "../redis/queue-store.js";

/** What cancelling a lost job uses. */
export type CancelDeps = Pick<Deps, "history" | "recovery" | "store" | "logger" | "eventsWritten">;

/**
 * Cancels a job history holds as unfinished but Redis does not hold (Redis lost it, or its
 * submit has committed to history and not yet reached Redis). Redis decides first: one script
 * writes a cancelled tombstone and the CANCELLED event (seq = last_event_seq + 1, actor
 * `by.actor`, reason "cancel_requested", no lease) into the outbox, so an enqueue still in flight
 * or a reconciler's restore finds the hash and creates nothing, and the job can never run after
 * the caller was told it is cancelled. The same event then goes to history directly, so the
 * answer does not wait for the forwarder; should that fail, the outbox delivers it (history
 * keeps one copy). When the enqueue reached Redis first, the job is cancelled there as usual.
 * @returns the job's status afterwards: CANCELLED, or PROCESSING when Redis held it running
 *   (its worker will stop).
 * @throws failed_precondition when Redis holds it finished; unavailable when Redis fails.
 */
export async function cancelLostJob(d: CancelDeps, job: Job, by: CancelRequest, signal: AbortSignal): Promise<JobStatus> {
  // The forwarder sweeps only the queues in the set; after a loss the queue may have left it.
  await d.store.addQueues([job.queue]);
  const atMs = await d.recovery.bury(
    { id: job.id, queue: job.queue, type: job.type, lastSeq: job.lastEventSeq, attempts: job.attempts },
    by,
  );
  if (atMs === undefined) {
    // The enqueue got there first: cancel the live job.
    const outcome = await d.store.cancel(job.queue, job.id, by);
    if (outcome === "cancelled") d.eventsWritten();
    return outcome === "requested" ? JobStatus.PROCESSING : JobStatus.CANCELLED;
  }
  d.eventsWritten();
  await recordInHistory(d, job, by, atMs, signal);
  return JobStatus.CANCELLED;
}

/** Best effort: the outbox holds the same event and the forwarder records it otherwise. */
async function recordInHistory(d: CancelDeps, job: Job, by: CancelRequest, atMs: number, signal: AbortSignal): Promise<void> {
  try {
    const res = await d.history.appendEvents(
      [{
        jobId: job.id,
        seq: job.lastEventSeq + 1,
        type: JobEventType.CANCELLED,
        status: JobStatus.CANCELLED,
        attempt: job.attempts,
        actor: by.actor,
        reason: "cancel_requested",
        occurredAt: timestampFromMs(atMs),
        details: by.reason === "" ? undefined : { reason: by.reason },
      }],
      signal,
    );
    if (res.clashingEvents.length > 0) {
      // History holds another transition at that seq: the outbox entry will be parked with the
      // same finding, for an operator to see.
      d.logger.error({ job_id: job.id, seq: job.lastEventSeq + 1 }, "cancel of a lost job clashes with history");
    }
  } catch (err) {
    d.logger.warn({ err, job_id: job.id }, "cancel of a lost job left to the outbox");
  }
}
