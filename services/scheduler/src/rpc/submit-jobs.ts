import type { ServiceImpl } from "@connectrpc/connect";
import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { type Job, JobStatus, type SchedulerService } from "@taskflow/proto";
import { activeTraceParent, actorOf, identityOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import type { JobInit } from "../history-client.js";
import { crashAfterHistoryCommit } from "../faults.js";
import type { EnqueueJob } from "../redis/queue-store.js";
import { requestDigest } from "../request-digest.js";
import { verdictOf } from "../settle-children.js";
import { storedJobFields } from "../stored-job-fields.js";
import { parseSubmitJobs, type NewJob } from "../validate.js";

/**
 * SubmitJobs: validates the whole batch, takes one token per job from
 * the caller's rate limit, then accepts it (see {@link acceptJobs}). A refused call writes nothing.
 */
export const submitJobs =
  (d: Deps): ServiceImpl<typeof SchedulerService>["submitJobs"] =>
  async (req, ctx) => {
    const actor = actorOf(ctx, "api");
    const jobs = parseSubmitJobs(req.jobs, d.config);
    await d.submitLimiter.take(identityOf(ctx).name, jobs.length);
    return { jobs: await acceptJobs(d, jobs, actor, ctx.signal) };
  };

/**
 * Commits valid jobs to history first, then enqueues them in Redis, so an answered submit
 * survives the loss of Redis. A job whose idempotency key history already holds is answered as
 * stored, and enqueued too while history still has it pending: a retry after an enqueue that
 * failed runs the job at once instead of waiting for the reconciler (the enqueue creates nothing
 * when Redis holds the job). `actor` is recorded on the SUBMITTED events ("api:<name>" of the
 * verified caller, plain "api" with authentication off). A job with parents is not enqueued: it
 * waits in history until they settle (see ChildSettler), and is settled at once when they had.
 * @throws unavailable when history or Redis cannot be reached (history failing means nothing was
 *   enqueued); already_exists when an idempotency key was used for a different request.
 */
export async function acceptJobs(d: Deps, jobs: readonly NewJob[], actor: string, signal: AbortSignal): Promise<Job[]> {
  const stored = await insertJobs(d, jobs, actor, signal);
  crashAfterHistoryCommit(d.config);
  const byQueue = new Map<string, EnqueueJob[]>();
  // A flow's child waits in history alone until its parents settle; those that settled already
  // (parents ended before the submit) are released or ended now.
  // History reads parents' results only when asked for them, by id.
  const settled = stored.filter((s) => s.parents.length > 0 && s.status === JobStatus.PENDING && verdictOf(s).kind !== "wait");
  jobs.forEach((job, i) => {
    const s = stored[i]!;
    if (s.parents.length > 0) return;
    const enqueue = s.id === job.id ? toEnqueueJob(job, s) : s.status === JobStatus.PENDING ? storedToEnqueueJob(s, d.config.defaultTimeoutMs) : undefined;
    if (enqueue === undefined) return;
    const queue = s.id === job.id ? job.queue : s.queue;
    byQueue.set(queue, [...(byQueue.get(queue) ?? []), enqueue]);
  });
  if (byQueue.size > 0) await enqueueAll(d, byQueue);
  if (settled.length > 0) await d.flows.settleIds(settled.map((s) => s.id), signal);
  return stored;
}

/**
 * Commits the jobs to history: jobs with idempotency keys in a call of their own (a key is
 * answered per request), the others together with those of concurrent submits (see
 * {@link GroupCommit}), which no single caller can cancel.
 */
async function insertJobs(d: Deps, jobs: readonly NewJob[], actor: string, signal: AbortSignal): Promise<Job[]> {
  // A flow is refused whole for an unknown parent: it goes alone, never grouped with others' jobs.
  const keyed = jobs.some((j) => j.idempotencyKey !== "" || j.parentIds.length > 0);
  const stored = keyed
    ? await d.history.insertJobs(jobs.map(toInsertJob), actor, signal, jobs.map((j) => (j.idempotencyKey === "" ? "" : requestDigest(j))))
    : await d.submits.add(actor, jobs);
  if (stored.length !== jobs.length) throw new Error("history answered InsertJobs with a different job count");
  // History sends no payload back for a job stored as asked: it is the one submitted.
  stored.forEach((s, i) => {
    if (s.id === jobs[i]!.id) s.payload = jobs[i]!.payload;
  });
  return stored;
}

/**
 * Enqueues per queue, wakes the waiters that can take the ready jobs and arms delayed
 * promotion for the others. The queues join the swept set before the enqueue (a crash in
 * between leaves no job unswept) and again after it (a queue found idle and forgotten
 * meanwhile comes back; see QueueStore.forgetIfIdle).
 */
async function enqueueAll(d: Deps, byQueue: ReadonlyMap<string, EnqueueJob[]>): Promise<void> {
  const queues = [...byQueue.keys()];
  const sentMs = performance.now();
  // The submit's span travels with its jobs ("" untraced: nothing is stored).
  const traceParent = activeTraceParent();
  // One connection with auto-pipelining: the queue set and every queue's script call leave in one write.
  const [, ...results] = await Promise.all([d.store.addQueues(queues), ...queues.map((q) => d.store.enqueue(q, byQueue.get(q)!, traceParent))]);
  queues.forEach((q, i) => {
    d.dueTimer.enqueued(q, byQueue.get(q)!, sentMs);
    // Counted from what the script answers: a retried submit that created nothing counts nothing.
    if (results[i]!.created > 0) d.metrics.jobsSubmitted.inc({ queue: q }, results[i]!.created);
  });
  // Both leave in the same write: one round trip, not two, before the answer.
  await Promise.all([d.store.addQueues(queues), d.waiters.announce(queues.map((queue, i) => ({ queue, ready: results[i]!.ready })))]);
}

/** Inserts a group of jobs without idempotency keys (what {@link GroupCommit} runs). */
export function insertGroup(d: Pick<Deps, "history">): (actor: string, jobs: NewJob[]) => Promise<Job[]> {
  return (actor, jobs) => d.history.insertJobs(jobs.map(toInsertJob), actor);
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
    parents: job.parentIds.map((id) => ({ id })),
    onParentFailure: job.onParentFailure,
    scheduleId: job.scheduleId ?? "",
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

/** A job history already held (an idempotent retry), enqueued as history stored it. */
function storedToEnqueueJob(s: Job, defaultTimeoutMs: number): EnqueueJob {
  return {
    ...storedJobFields(s, defaultTimeoutMs),
    delayMs: 0,
    // 0 would mean "no run time": a due time in the past runs now.
    runAtMs: s.scheduledAt === undefined ? 1 : Math.max(1, timestampMs(s.scheduledAt)),
  };
}
