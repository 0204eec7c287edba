import type { ServiceImpl } from "@connectrpc/connect";
import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Job, SchedulerService } from "@taskflow/proto";
import { callerActor } from "../caller.js";
import type { Deps } from "../deps.js";
import type { JobInit } from "../history-client.js";
import { crashAfterHistoryCommit } from "../faults.js";
import type { EnqueueJob } from "../redis/queue-store.js";
import { parseSubmitJobs, type NewJob } from "../validate.js";

/**
 * SubmitJobs: validates the caller header and the whole batch, then accepts it (see
 * {@link acceptJobs}).
 */
export const submitJobs =
  (d: Deps): ServiceImpl<typeof SchedulerService>["submitJobs"] =>
  async (req, ctx) => {
    const actor = callerActor(ctx);
    const jobs = parseSubmitJobs(req.jobs, d.config);
    return { jobs: await acceptJobs(d, jobs, actor, ctx.signal) };
  };

/**
 * Commits valid jobs to history first, then enqueues them in Redis, so an
 * answered submit survives the loss of Redis. Jobs history already had (same
 * idempotency key) are answered as stored and not enqueued again. `actor` is
 * recorded on the SUBMITTED events ("api" or "api:<caller>").
 * @throws unavailable when history or Redis cannot be reached (history failing means nothing was enqueued).
 */
export async function acceptJobs(d: Deps, jobs: readonly NewJob[], actor: string, signal: AbortSignal): Promise<Job[]> {
  const stored = await d.history.insertJobs(jobs.map(toInsertJob), actor, signal);
  if (stored.length !== jobs.length) throw new Error("history answered InsertJobs with a different job count");
  crashAfterHistoryCommit(d.config);
  const byQueue = new Map<string, EnqueueJob[]>();
  jobs.forEach((job, i) => {
    const s = stored[i]!;
    if (s.id !== job.id) return;
    const list = byQueue.get(job.queue) ?? [];
    list.push(toEnqueueJob(job, s));
    byQueue.set(job.queue, list);
  });
  if (byQueue.size > 0) {
    const queues = [...byQueue.keys()];
    // One connection with auto-pipelining: the queue set and every queue's
    // script call leave in one write, the set first.
    await Promise.all([d.store.addQueues(queues), ...queues.map((q) => d.store.enqueue(q, byQueue.get(q)!))]);
    await d.waiters.announce(queues);
  }
  return stored;
}

function toInsertJob(job: NewJob): JobInit {
  return {
    id: job.id,
    type: job.type,
    queue: job.queue,
    payload: job.payload,
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    timeout: durationFromMs(job.timeoutMs),
    idempotencyKey: job.idempotencyKey,
    scheduledAt: timestampFromMs(job.scheduledAtMs),
  };
}

function toEnqueueJob(job: NewJob, stored: Job): EnqueueJob {
  return {
    id: job.id,
    type: job.type,
    payloadJson: job.payloadJson,
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    timeoutMs: job.timeoutMs,
    delayMs: job.delayMs,
    runAtMs: job.runAtMs,
    createdMs: stored.createdAt === undefined ? 0 : timestampMs(stored.createdAt),
  };
}
