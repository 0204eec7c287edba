import { JobEventType, JobStatus } from "@taskflow/proto";
import { eventually } from "@taskflow/testkit";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import pino from "pino";
import { createHistoryClient } from "../src/history-client.js";
import { Reconciler } from "../src/loops/reconcile.js";
import { createSchedulerMetrics, type SchedulerMetrics } from "../src/metrics.js";
import { queueKeys } from "../src/redis/keys.js";
import { LeaseWaiters } from "../src/redis/lease-waiters.js";
import { QueueStore } from "../src/redis/queue-store.js";
import { ReconcileLock } from "../src/redis/reconcile-lock.js";
import { RecoveryStore } from "../src/redis/recovery-store.js";
import { ReconcileStateStore } from "../src/redis/reconcile-state.js";
import type { Stack } from "./stack.js";

const silent = pino({ level: "silent" });

/** A reconciler on a stack's Redis prefix and history, as another replica would run it. */
export interface TestReconciler {
  reconciler: Reconciler;
  metrics: SchedulerMetrics;
  close(): Promise<void>;
}

export function createTestReconciler(s: Stack, graceMs = 60_000, maxJobsPerRun = 10_000): TestReconciler {
  const redis = new Redis(s.config.redisUrl);
  const prefix = s.config.redisKeyPrefix;
  const store = new QueueStore({ ...s.config, redis, keyPrefix: prefix });
  const metrics = createSchedulerMetrics();
  const reconciler = new Reconciler({
    store,
    recovery: new RecoveryStore(redis, prefix),
    history: createHistoryClient(s.historyInternalUrl),
    // Only announces: the stack's scheduler hears them on its wake channels.
    waiters: new LeaseWaiters(redis, redis, prefix, silent),
    logger: silent,
    eventsWritten: () => undefined,
    lock: new ReconcileLock(redis, prefix),
    state: new ReconcileStateStore(redis, prefix),
    intervalMs: 3_600_000,
    watchIntervalMs: 3_600_000,
    graceMs,
    maxJobsPerRun,
    defaultTimeoutMs: s.config.defaultTimeoutMs,
    metrics,
  });
  return { reconciler, metrics, close: async () => void (await redis.quit()) };
}

/**
 * Commits jobs to history only, created `agoMs` ago (their UUIDv7 time), as a submit that crashed
 * between history's commit and the Redis enqueue leaves them; resolves to their ids.
 */
export async function commitOnly(s: Stack, queue: string, count: number, agoMs = 0, maxAttempts = 3): Promise<string[]> {
  const ids = Array.from({ length: count }, () => uuidv7({ msecs: Date.now() - agoMs }));
  await s.ingest.insertJobs({ jobs: ids.map((id) => ({ id, type: "t.x", queue, payload: {}, maxAttempts })) });
  return ids;
}

/** Removes jobs from Redis as a partial loss would: their hashes and set entries. */
export async function loseJobs(s: Stack, queue: string, ids: readonly string[]): Promise<void> {
  const k = queueKeys(s.config.redisKeyPrefix, queue);
  const types = await Promise.all(ids.map((id) => s.redis.hget(k.jobPrefix + id, "type")));
  const tx = s.redis.multi().del(...ids.map((id) => k.jobPrefix + id)).zrem(k.delayed, ...ids).zrem(k.leased, ...ids);
  ids.forEach((id, i) => tx.zrem(k.ready(types[i] ?? "t.x"), id));
  await tx.exec();
}

/** Resolves once history reports the job in `status`. */
export const historyStatus = (s: Stack, id: string, status: JobStatus) =>
  eventually(async () => ((await s.history.getJob({ id })).job?.status === status ? true : undefined));

/** The job's audit trail as [seq, type, status, attempt] rows. */
export async function trail(s: Stack, id: string): Promise<[number, JobEventType, JobStatus, number][]> {
  const { events } = await s.history.listJobEvents({ jobId: id });
  return events.map((e) => [e.seq, e.type, e.status, e.attempt]);
}

/** Leases `max` jobs of `queue` and reports each completed; resolves to their ids. */
export async function runJobs(s: Pick<Stack, "worker">, queue: string, max: number): Promise<string[]> {
  const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: [queue], maxJobs: max });
  await s.worker.reportJobs({
    workerId: "w1",
    reports: jobs.map((j) => ({
      lease: { jobId: j.job!.id, queue, leaseToken: j.leaseToken },
      outcome: { case: "completed" as const, value: {} },
    })),
  });
  return jobs.map((j) => j.job!.id);
}
