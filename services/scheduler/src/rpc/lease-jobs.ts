import { fromJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { enumFromText, JobStatus, JobStatusSchema, type LeasedJobSchema, type LeaseJobsRequest, type WorkerService } from "@taskflow/proto";
import { traceDispatch } from "../job-tracing.js";
import { workerActor } from "../worker-actor.js";
import type { Deps } from "../deps.js";
import type { ParentRecord } from "../redis/job-records.js";
import type { LeasedRecord } from "../redis/queue-store.js";
import type { LeaseWaiter } from "../redis/lease-waiters.js";
import { checkJobTypes, checkQueues, checkRequestId, checkWorkerId } from "../validate.js";

/** Most jobs one LeaseJobs call hands out; larger asks are clamped. */
export const MAX_LEASE_JOBS = 1_000;
/** Longest long poll, in ms. */
export const MAX_LEASE_WAIT_MS = 60_000;
/**
 * How soon a worker waiting on a queue that runs as many jobs as its `max_running` allows looks
 * again, in ms: a slot freed by a job's end on any replica is taken within this.
 */
export const LIMITED_RECHECK_MS = 100;

const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v));

/** A validated lease request. */
export interface Ask {
  workerId: string;
  queues: string[];
  types: string[];
  requestId: string;
  max: number;
  /** Actor of the STARTED events (see workerActor). */
  actor: string;
}

/**
 * LeaseJobs: leases up to `max_jobs` jobs of the worker's `job_types` from the queues in order
 * of preference, within the scheduler's byte budget per answer. When none is ready it
 * long-polls: it sleeps until jobs it can take are announced (a submit, promotion, release or
 * expiry on any replica), `wait` elapses or the caller goes away, and never spins. A retry
 * with the same `request_id` answers what the first call leased (see lease-jobs.lua); jobs
 * leased for a caller that went away before the answer are handed back at once.
 */
export const leaseJobs =
  (d: Deps): ServiceImpl<typeof WorkerService>["leaseJobs"] =>
  async (req, ctx) => {
    const ask = { ...parseAsk(req), actor: workerActor(ctx, req.workerId) };
    const waitMs = req.wait === undefined ? 0 : clamp(durationMs(req.wait), 0, MAX_LEASE_WAIT_MS);
    const until = Date.now() + waitMs;
    // Registered before the first try, so jobs arriving in between still wake this call.
    const waiter = d.waiters.register({ queues: ask.queues, types: ask.types, want: ask.max });
    try {
      for (;;) {
        const leased = await attempt(d, ask, waiter);
        if (ctx.signal.aborted) {
          await handBack(d, ask.workerId, leased);
          return { jobs: [] };
        }
        const left = until - Date.now();
        if (leased.length > 0 || left <= 0 || d.waiters.closed) {
          return { jobs: leased.map((r) => toLeasedJob(r, ask.workerId)) };
        }
        d.logger.debug({ worker_id: ask.workerId, queues: ask.queues, wait_ms: left }, "lease poll waiting");
        if ((await waiter.wait(left, ctx.signal)) === "aborted") return { jobs: [] };
      }
    } finally {
      waiter.dispose();
    }
  };

function parseAsk(req: LeaseJobsRequest): Omit<Ask, "actor"> {
  checkWorkerId(req.workerId);
  checkQueues(req.queues);
  checkJobTypes(req.jobTypes);
  checkRequestId(req.requestId);
  return {
    workerId: req.workerId,
    queues: [...new Set(req.queues)],
    types: [...new Set(req.jobTypes)],
    requestId: req.requestId,
    max: clamp(req.maxJobs, 1, MAX_LEASE_JOBS),
  };
}

/** One pass over the queues, best queue first, until the ask or the byte budget is filled. */
export async function attempt(d: Deps, ask: Ask, waiter: LeaseWaiter): Promise<LeasedRecord[]> {
  waiter.beginAttempt();
  const out: LeasedRecord[] = [];
  let bytes = 0;
  for (const q of ask.queues) {
    const maxBytes = d.config.leaseMaxBytes - bytes;
    if (out.length >= ask.max || (out.length > 0 && maxBytes <= 0)) break;
    d.metrics.leaseScripts.inc();
    const startedMs = Date.now();
    const onHeld = (heldMs: number): void => d.waiters.retryLater(q, heldMs < 0 ? LIMITED_RECHECK_MS : heldMs);
    const leased = await d.store.lease(q, ask.workerId, { max: ask.max - out.length, types: ask.types, requestId: ask.requestId, maxBytes, actor: ask.actor, onHeld });
    if (leased.length > 0) {
      d.metrics.jobsStarted.inc({ queue: q }, leased.length);
      traceDispatch(leased, ask.workerId, startedMs);
    }
    out.push(...leased);
    for (const r of leased) bytes += Buffer.byteLength(r.payloadJson, "utf8") + Buffer.byteLength(r.parentsJson, "utf8");
  }
  waiter.endAttempt(out.length);
  if (out.length > 0) d.eventsWritten();
  return out;
}

/**
 * Gives back jobs leased for a caller that went away before the answer (a long poll whose
 * client left, a deadline that passed): nobody will run them, so the attempt must not count.
 * Best effort: should it fail, the leases expire and the jobs run later.
 */
export async function handBack(d: Deps, workerId: string, leased: readonly LeasedRecord[]): Promise<void> {
  if (leased.length === 0) return;
  const byQueue = new Map<string, LeasedRecord[]>();
  for (const r of leased) byQueue.set(r.queue, [...(byQueue.get(r.queue) ?? []), r]);
  try {
    const arrivals = [];
    for (const [queue, records] of byQueue) {
      const leases = records.map((r) => ({ id: r.id, token: r.token }));
      const { ready } = await d.store.release(queue, workerId, leases, { reason: "lease_not_delivered" });
      arrivals.push({ queue, ready });
    }
    d.eventsWritten();
    await d.waiters.announce(arrivals);
    d.logger.info({ worker_id: workerId, jobs: leased.length }, "undelivered leases handed back");
  } catch (err) {
    d.logger.warn({ err, worker_id: workerId, jobs: leased.length }, "undelivered leases not handed back");
  }
}

export function toLeasedJob(r: LeasedRecord, workerId: string): MessageInitShape<typeof LeasedJobSchema> {
  return {
    job: {
      id: r.id,
      type: r.type,
      queue: r.queue,
      payload: JSON.parse(r.payloadJson) as JsonObject,
      status: JobStatus.PROCESSING,
      attempts: r.attempts,
      maxAttempts: r.maxAttempts,
      priority: r.priority,
      createdAt: r.createdMs > 0 ? timestampFromMs(r.createdMs) : undefined,
      scheduledAt: timestampFromMs(r.scheduledMs),
      startedAt: timestampFromMs(r.startedMs),
      workerId,
      timeout: durationFromMs(r.timeoutMs),
      parents: parentLinks(r.parentsJson),
    },
    leaseToken: r.token,
    leaseExpiresAt: timestampFromMs(r.leaseUntilMs),
    deadline: timestampFromMs(r.deadlineMs),
    traceParent: r.traceParent,
  };
}

/** A flow child's parents, with their results, as its hash keeps them (see ParentRecord). */
function parentLinks(json: string) {
  if (json === "") return [];
  return (JSON.parse(json) as ParentRecord[]).map((p) => ({
    id: p.id,
    type: p.type,
    queue: p.queue,
    status: enumFromText<JobStatus>(JobStatusSchema, p.status),
    result: p.result === undefined || p.result === null ? undefined : fromJson(ValueSchema, p.result as JsonValue),
  }));
}
