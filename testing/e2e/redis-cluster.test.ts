import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, JobEventType, JobStatus, jobResult, type Job, type TaskFlowClient } from "@taskflow/client";
import { AdminService, HistoryIngestService } from "@taskflow/proto";
import { eventually, spawnTestStack, startRedisCluster, type RedisCluster, type TestStack } from "@taskflow/testkit";
import type { Cluster } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HandWorker } from "./client/hand-worker.js";
import { planMixedJobs } from "./mixed-jobs.js";

/** Queues the stack's worker serves: enough hash tags that every master holds some. */
const QUEUES = Array.from({ length: 12 }, (_, i) => `cluster-${i}`);
const LEASE_MS = 2_000;

let cluster: RedisCluster;
let stack: TestStack;
let client: TaskFlowClient;
let redis: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  stack = await spawnTestStack({
    redisCluster: cluster,
    scheduler: {
      SWEEP_INTERVAL_MS: "100",
      RETRY_BASE_MS: "20",
      RETRY_MAX_MS: "200",
      LEASE_MS: String(LEASE_MS),
      RECONCILE_INTERVAL_MS: "500",
      RECONCILE_GRACE_MS: "1000",
      // Every script call proves it touches only the keys it declares.
      REDIS_CHECK_SCRIPT_KEYS: "true",
    },
    worker: { WORKER_QUEUES: QUEUES.join(","), WORKER_CONCURRENCY: "50" },
  });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  redis = await cluster.connect();
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await client?.close();
  try {
    await stack?.stop();
  } finally {
    await cluster?.stop();
  }
});

const eventText = (t: JobEventType): string => JobEventType[t].toLowerCase();
const trailOf = async (id: string): Promise<string[]> => (await client.events(id)).map((e) => eventText(e.type));
const terminal = (j: Job): boolean => [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED].includes(j.status);

/** Resolves when history holds every job as terminal; its jobs as it holds them. */
async function settled(ids: readonly string[], timeoutMs = 60_000): Promise<Job[]> {
  return eventually(async () => {
    const jobs = await Promise.all(ids.map((id) => client.get(id)));
    return jobs.every(terminal) ? jobs : undefined;
  }, timeoutMs);
}

/** The stack's job hashes on each master. */
const jobHashesPerMaster = (): Promise<number[]> =>
  cluster.eachMaster(async (node) => (await node.keys(`${stack.keyPrefix}:{*}:job:*`)).length);

describe("TaskFlow on a Redis Cluster of three masters", () => {
  it("runs jobs submitted across many queues, spread over every master, retried and delayed, to what history records", async () => {
    const plan = planMixedJobs(240);
    const submitted = await client.submitMany(plan.map((p, i) => ({ ...p.input, queue: QUEUES[i % QUEUES.length] })));
    expect((await jobHashesPerMaster()).every((n) => n > 0)).toBe(true);

    const jobs = await settled(submitted.map((j) => j.id), 90_000);
    const mismatches: unknown[] = [];
    for (const [i, job] of jobs.entries()) {
      const want = plan[i]!.expect;
      const got = {
        status: JobStatus[job.status].toLowerCase(),
        attempts: job.attempts,
        result: job.status === JobStatus.COMPLETED ? jobResult(job) : undefined,
        trail: await trailOf(job.id),
      };
      const expected = { status: want.status, attempts: want.attempts, result: want.result, trail: want.trail };
      if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push({ i, queue: job.queue, got, expected });
      if (want.notBeforeMs !== undefined) {
        const ms = (t: { seconds: bigint; nanos: number }): number => Number(t.seconds) * 1000 + t.nanos / 1e6;
        if (ms(job.startedAt!) - ms(job.createdAt!) < want.notBeforeMs - 50) mismatches.push({ i, startedEarly: true });
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  }, 120_000);

  it("expires a lease its worker let lapse and runs the job again", async () => {
    // A queue no worker process serves: the hand worker leases its job and never reports.
    const hand = new HandWorker(stack.schedulerUrl, "hand-expire", "cluster-expire");
    try {
      const job = await client.submit({ type: "echo", queue: "cluster-expire", payload: { n: 1 } });
      const first = await hand.leaseOne();
      expect(first.job?.id).toBe(job.id);
      // Back in the ready set once the lease expires: the long poll wakes for it.
      const second = await hand.leaseOne();
      expect(second.job).toMatchObject({ id: job.id, attempts: 2 });
      await hand.complete(second, { done: true });
      const done = await client.waitFor(job.id, { timeoutMs: 30_000 });
      expect(done.status).toBe(JobStatus.COMPLETED);
      expect(await trailOf(job.id)).toEqual(["submitted", "started", "lease_expired", "started", "completed"]);
    } finally {
      hand.close();
    }
  }, 60_000);

  it("cancels a delayed job and a ready one", async () => {
    const delayed = await client.submit({ type: "echo", queue: QUEUES[3], payload: {}, delayMs: 60_000 });
    const ready = await client.submit({ type: "echo", queue: "cluster-unserved", payload: {} });
    for (const job of [delayed, ready]) expect((await client.cancel(job.id, "not needed")).status).toBe(JobStatus.CANCELLED);
    const jobs = await settled([delayed.id, ready.id]);
    expect(jobs.map((j) => j.status)).toEqual([JobStatus.CANCELLED, JobStatus.CANCELLED]);
    expect(await trailOf(ready.id)).toEqual(["submitted", "cancelled"]);
  }, 60_000);

  it("reconciles: enqueues a job history holds that Redis never got, and answers a full run", async () => {
    const ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: stack.historyInternalUrl }));
    // Committed to history and never enqueued, as a submit that crashed in between leaves it: the
    // reconciler enqueues it once it is older than the grace period (RECONCILE_GRACE_MS).
    const ids = QUEUES.slice(0, 6).map(() => uuidv7());
    await ingest.insertJobs({ jobs: ids.map((id, i) => ({ id, type: "echo", queue: QUEUES[i], payload: { i }, maxAttempts: 3 })) });
    const jobs = await settled(ids, 30_000);
    expect(jobs.map((j) => j.status)).toEqual(ids.map(() => JobStatus.COMPLETED));

    // Jobs waiting in queues on every master, which a full run walks (ZSCAN) and finds in order.
    const waiting = await Promise.all(QUEUES.map((_, i) => client.submit({ type: "echo", queue: `cluster-idle-${i}`, payload: {} })));
    const admin = createClient(AdminService, createGrpcTransport({ baseUrl: stack.schedulerUrl }));
    const report = await admin.reconcile({});
    expect(report).toMatchObject({ requeuedJobIds: [], droppedJobIds: [] });
    expect(report.redisChecked).toBeGreaterThanOrEqual(waiting.length);
  }, 60_000);

  it("restores every unfinished job from history when every master lost its data", async () => {
    const held = await Promise.all(
      QUEUES.slice(0, 6).map((_, i) => client.submit({ type: "echo", queue: `cluster-held-${i}`, payload: { i } })),
    );
    const jobKey = (j: Job): string => `${stack.keyPrefix}:{${j.queue}}:job:${j.id}`;
    await eventually(async () => ((await Promise.all(held.map((j) => redis.exists(jobKey(j))))).every((n) => n === 1) ? true : undefined));
    await cluster.eachMaster((node) => node.flushall());
    expect(await redis.exists(jobKey(held[0]!))).toBe(0);
    // A scheduler notices the reconciler's marker is gone and restores from history at once.
    await eventually(async () => ((await Promise.all(held.map((j) => redis.exists(jobKey(j))))).every((n) => n === 1) ? true : undefined), 15_000);
    for (const job of held) {
      const hand = new HandWorker(stack.schedulerUrl, `hand-${job.queue}`, job.queue);
      try {
        const leased = await hand.leaseOne();
        expect(leased.job?.id).toBe(job.id);
        await hand.complete(leased, { restored: true });
      } finally {
        hand.close();
      }
    }
    const jobs = await settled(held.map((j) => j.id));
    expect(jobs.map((j) => j.status)).toEqual(held.map(() => JobStatus.COMPLETED));
  }, 60_000);
});
