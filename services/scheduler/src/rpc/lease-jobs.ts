import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { JobStatus, type LeasedJobSchema, type WorkerService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import type { LeasedRecord } from "../redis/queue-store.js";
import { checkQueues, checkWorkerId } from "../validate.js";

/** Most jobs one LeaseJobs call hands out; larger asks are clamped. */
export const MAX_LEASE_JOBS = 1_000;
/** Longest long poll, in ms. */
export const MAX_LEASE_WAIT_MS = 60_000;

const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v));

/**
 * LeaseJobs: leases up to `max_jobs` jobs from the queues in order of
 * preference. When none is ready it long-polls: it sleeps until a queue is
 * announced (a submit, promotion, release or expiry on any replica), `wait`
 * elapses or the caller goes away, and never spins.
 */
export const leaseJobs =
  (d: Deps): ServiceImpl<typeof WorkerService>["leaseJobs"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    checkQueues(req.queues);
    const queues = [...new Set(req.queues)];
    const max = clamp(req.maxJobs, 1, MAX_LEASE_JOBS);
    const waitMs = req.wait === undefined ? 0 : clamp(durationMs(req.wait), 0, MAX_LEASE_WAIT_MS);
    const until = Date.now() + waitMs;
    for (;;) {
      // Registered before the try, so a job arriving in between still wakes us.
      const waiter = d.waiters.register(queues);
      try {
        const leased = await leaseFrom(d, queues, req.workerId, max);
        const left = until - Date.now();
        if (leased.length > 0 || left <= 0 || ctx.signal.aborted || d.waiters.closed) {
          return { jobs: leased.map((r) => toLeasedJob(r, req.workerId)) };
        }
        d.logger.debug({ worker_id: req.workerId, queues, wait_ms: left }, "lease poll waiting");
        await waiter.wait(left, ctx.signal);
      } finally {
        waiter.dispose();
      }
      if (ctx.signal.aborted) return { jobs: [] };
    }
  };

async function leaseFrom(d: Deps, queues: readonly string[], workerId: string, max: number): Promise<LeasedRecord[]> {
  const out: LeasedRecord[] = [];
  for (const q of queues) {
    out.push(...(await d.store.lease(q, workerId, max - out.length)));
    if (out.length >= max) break;
  }
  if (out.length > 0) d.eventsWritten();
  return out;
}

function toLeasedJob(r: LeasedRecord, workerId: string): MessageInitShape<typeof LeasedJobSchema> {
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
    },
    leaseToken: r.token,
    leaseExpiresAt: timestampFromMs(r.leaseUntilMs),
    deadline: timestampFromMs(r.deadlineMs),
  };
}
