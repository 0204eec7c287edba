import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { JobEventType as E, JobStatus as S } from "@taskflow/proto";
import { deleteKeysWithPrefix, eventually, testRedisUrl, uniqueQueue } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  commitOnly,
  createTestReconciler,
  historyStatus,
  loseJobs,
  runJobs,
  trail,
  type TestReconciler,
} from "../../test/reconcile-fixture.js";
import { makeJob } from "../../test/redis-fixture.js";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys, reconcileStateKey } from "../redis/keys.js";
import { QueueStore } from "../redis/queue-store.js";

const GRACE_MS = 400;
let s: Stack;
let r: TestReconciler;

beforeAll(async () => {
  // The stack's own scheduler restores at start (Redis holds no marker yet) and then only
  // watches the marker; the test's reconciler makes the periodic runs.
  s = await startStack({ env: { RECONCILE_INTERVAL_MS: "3600000", RECONCILE_GRACE_MS: String(GRACE_MS) } });
  await eventually(async () => ((await s.redis.hget(reconcileStateKey(s.config.redisKeyPrefix), "phase")) === "ok" ? true : undefined));
});
afterAll(async () => {
  await s.close();
});
// A reconciler per case: its metrics count that case's repairs only, whatever ran before.
beforeEach(() => {
  r = createTestReconciler(s, GRACE_MS);
});
afterEach(async () => {
  await r.close();
});

const keys = (queue: string) => queueKeys(s.config.redisKeyPrefix, queue);
const pastGrace = () => new Promise((resolve) => setTimeout(resolve, GRACE_MS + 100));

/** Records CANCELLED in history only, as if history had finished a job Redis still holds. */
async function cancelInHistory(id: string): Promise<void> {
  const event = { jobId: id, seq: 2, type: E.CANCELLED, status: S.CANCELLED, actor: "api" };
  await s.ingest.appendEvents({ events: [{ ...event, occurredAt: timestampFromMs(Date.now()) }] });
}

async function submit(queue: string, maxAttempts = 3): Promise<string> {
  const { job } = await s.scheduler.submitJob({ type: "t.x", queue, maxAttempts });
  return job!.id;
}

describe("Reconciler.runOnce", () => {
  it("enqueues a job whose submit crashed before the enqueue only after the grace period; it then completes", async () => {
    const q = uniqueQueue();
    const [id] = await commitOnly(s, q, 1);
    expect(await r.reconciler.runOnce()).toMatchObject({ mode: "incremental", requeuedJobIds: [], droppedJobIds: [] });
    expect(await s.redis.exists(keys(q).jobPrefix + id!)).toBe(0);

    await pastGrace();
    const report = await r.reconciler.runOnce();
    expect(report).toMatchObject({ mode: "incremental", requeuedJobIds: [id], failedJobIds: [], droppedJobIds: [], skippedJobIds: [] });
    expect(await r.metrics.reconcileRequeued.get()).toMatchObject({ values: [{ value: 1 }] });

    expect(await runJobs(s, q, 5)).toEqual([id]);
    await historyStatus(s, id!, S.COMPLETED);
    expect(await trail(s, id!)).toEqual([
      [1, E.SUBMITTED, S.PENDING, 0],
      [2, E.STARTED, S.PROCESSING, 1],
      [3, E.COMPLETED, S.COMPLETED, 1],
    ]);
    // The next run starts after it: jobs already checked are not read again.
    const next = await r.reconciler.runOnce();
    expect(next).toMatchObject({ requeuedJobIds: [] });
    expect(next!.unfinishedChecked).toBe(0);
  });

  it("restores every unfinished job within seconds when Redis loses its data, a running one as an expired lease", async () => {
    const q = uniqueQueue();
    const done = await submit(q);
    expect(await runJobs(s, q, 1)).toEqual([done]);
    const [running, waiting] = [await submit(q), await submit(q)];
    const delayed = (await s.scheduler.submitJob({ type: "t.x", queue: q, schedule: { case: "delay", value: { seconds: 3600n } } })).job!.id;
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: [q], maxJobs: 1 });
    expect(jobs.map((j) => j.job!.id)).toEqual([running]);
    await historyStatus(s, done, S.COMPLETED);
    await historyStatus(s, running, S.PROCESSING);

    const lost = performance.now();
    await deleteKeysWithPrefix(testRedisUrl(), `${s.config.redisKeyPrefix}:`);
    // The stack's scheduler notices the missing marker at its next sweep and restores at once.
    await eventually(async () => ((await s.redis.exists(keys(q).jobPrefix + delayed)) === 1 ? true : undefined), 10_000);
    expect(performance.now() - lost).toBeLessThan(5_000);
    expect(await s.redis.exists(keys(q).jobPrefix + done)).toBe(0);
    expect(await s.redis.zscore(keys(q).delayed, delayed)).not.toBeNull();
    expect(await s.redis.sismember(`${s.config.redisKeyPrefix}:queues`, q)).toBe(1);

    expect(new Set(await runJobs(s, q, 5))).toEqual(new Set([waiting, running]));
    await historyStatus(s, running, S.COMPLETED);
    expect(await trail(s, running)).toEqual([
      [1, E.SUBMITTED, S.PENDING, 0],
      [2, E.STARTED, S.PROCESSING, 1],
      [3, E.LEASE_EXPIRED, S.PENDING, 1],
      [4, E.STARTED, S.PROCESSING, 2],
      [5, E.COMPLETED, S.COMPLETED, 2],
    ]);
    expect((await s.history.getJob({ id: done })).job?.status).toBe(S.COMPLETED);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/taskflow_redis_data_lost_total [1-9]/);
  });

  it("fails a job Redis lost during its last attempt, as an expired lease", async () => {
    const q = uniqueQueue();
    const id = await submit(q, 1);
    await s.worker.leaseJobs({ workerId: "w1", queues: [q], maxJobs: 1 });
    await historyStatus(s, id, S.PROCESSING);
    await loseJobs(s, q, [id]);
    await pastGrace();

    expect(await r.reconciler.runOnce({ full: true })).toMatchObject({ mode: "full", requeuedJobIds: [], failedJobIds: [id] });
    await historyStatus(s, id, S.FAILED);
    expect((await s.history.getJob({ id })).job?.error).toBe("lease lost with Redis data");
    expect((await trail(s, id)).at(-1)).toEqual([3, E.LEASE_EXPIRED, S.FAILED, 1]);
  });

  it("drops from Redis a job history has finished, and debris history never knew once old enough", async () => {
    const q = uniqueQueue();
    const finished = await submit(q);
    const alive = await submit(q);
    await cancelInHistory(finished);
    const store = new QueueStore({ ...s.config, redis: s.redis, keyPrefix: s.config.redisKeyPrefix });
    const oldDebris = makeJob({ id: uuidv7({ msecs: Date.now() - 120_000 }), type: "t.x" });
    const freshDebris = makeJob({ type: "t.x" });
    await store.enqueue(q, [oldDebris, freshDebris]);
    // Far in the future, so the expire-leases loop leaves it to the reconciler.
    await s.redis.zadd(keys(q).leased, Date.now() + 3_600_000, "not-a-job-id");

    const report = await r.reconciler.runOnce({ full: true });
    expect(new Set(report!.droppedJobIds)).toEqual(new Set([finished, oldDebris.id, "not-a-job-id"]));
    expect(report!.redisChecked).toBeGreaterThanOrEqual(5);
    expect(new Set(await s.redis.zrange(keys(q).ready("t.x"), "0", "-1"))).toEqual(new Set([alive, freshDebris.id]));
    expect(await s.redis.zcard(keys(q).leased)).toBe(0);
    expect(await s.redis.exists(keys(q).jobPrefix + finished, keys(q).jobPrefix + oldDebris.id)).toBe(0);
    expect(await r.metrics.reconcileDropped.get()).toMatchObject({ values: [{ value: 3 }] });
    // Leave nothing unfinished behind for the other cases' runs.
    expect(new Set(await runJobs(s, q, 2))).toEqual(new Set([alive, freshDebris.id]));
  });

  it("reports on a dry run what a run would repair, and changes nothing", async () => {
    const q = uniqueQueue();
    const [lost, finished] = [await submit(q), await submit(q)];
    await loseJobs(s, q, [lost]);
    await cancelInHistory(finished);
    await pastGrace();
    const before = await s.redis.zrange(keys(q).ready("t.x"), "0", "-1");

    const dry = await r.reconciler.runOnce({ dryRun: true, full: true });
    expect(dry).toMatchObject({ dryRun: true, requeuedJobIds: [lost], droppedJobIds: [finished] });
    expect(await s.redis.zrange(keys(q).ready("t.x"), "0", "-1")).toEqual(before);
    expect(await s.redis.exists(keys(q).jobPrefix + lost)).toBe(0);
    expect(await s.redis.exists(keys(q).jobPrefix + finished)).toBe(1);

    expect(await r.reconciler.runOnce({ full: true })).toMatchObject({ dryRun: false, requeuedJobIds: [lost], droppedJobIds: [finished] });
    expect(await s.redis.zrange(keys(q).ready("t.x"), "0", "-1")).toEqual([lost]);
    await runJobs(s, q, 1);
    await historyStatus(s, lost, S.COMPLETED);
  });

  it("skips and logs a queue it cannot repair and repairs the others", async () => {
    const [bad, good] = [uniqueQueue(), uniqueQueue()];
    const [stuck, fine] = [await submit(bad), await submit(good)];
    await loseJobs(s, bad, [stuck]);
    await loseJobs(s, good, [fine]);
    await pastGrace();
    // A ready set that is not a sorted set makes every restore of that queue fail in Redis.
    await s.redis.set(keys(bad).ready("t.x"), "not a sorted set");

    const report = await r.reconciler.runOnce({ full: true });
    expect(report).toMatchObject({ requeuedJobIds: [fine], skippedJobIds: [stuck] });
    expect(await runJobs(s, good, 1)).toEqual([fine]);
    await s.redis.del(keys(bad).ready("t.x"));
    expect((await r.reconciler.runOnce({ full: true }))!.requeuedJobIds).toEqual([stuck]);
    await runJobs(s, bad, 1);
    await historyStatus(s, stuck, S.COMPLETED);
  });

  it("skips a run while another replica holds the lock", async () => {
    const other = createTestReconciler(s, GRACE_MS);
    try {
      const q = uniqueQueue();
      const id = await submit(q);
      await loseJobs(s, q, [id]);
      await pastGrace();
      const [a, b] = await Promise.all([r.reconciler.runOnce({ full: true }), other.reconciler.runOnce({ full: true })]);
      const ran = [a, b].filter((x) => x !== undefined);
      expect(ran.flatMap((x) => x.requeuedJobIds)).toEqual([id]);
      expect(await runJobs(s, q, 2)).toEqual([id]);
      await historyStatus(s, id, S.COMPLETED);
    } finally {
      await other.close();
    }
  });
});
