import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { JobEventType as E, JobStatus as S } from "@taskflow/proto";
import { deleteKeysWithPrefix, eventually, testRedisUrl, uniqueQueue } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ageRows,
  createTestReconciler,
  historyStatus,
  loseJobs,
  runJobs,
  trail,
  type TestReconciler,
} from "../../test/reconcile-fixture.js";
import { makeJob } from "../../test/redis-fixture.js";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";
import { QueueStore } from "../redis/queue-store.js";

let s: Stack;
let r: TestReconciler;

beforeAll(async () => {
  s = await startStack({ env: { RECONCILE_INTERVAL_MS: "3600000" } });
  r = createTestReconciler(s);
});
afterAll(async () => {
  await r.close();
  await s.close();
});

const keys = (queue: string) => queueKeys(s.config.redisKeyPrefix, queue);

/** Records CANCELLED in history only, as CancelJob does for a job Redis lost. */
async function cancelInHistory(id: string): Promise<void> {
  const event = { jobId: id, seq: 2, type: E.CANCELLED, status: S.CANCELLED, actor: "api" };
  await s.ingest.appendEvents({ events: [{ ...event, occurredAt: timestampFromMs(Date.now()) }] });
}

async function submit(queue: string, maxAttempts = 3): Promise<string> {
  const { job } = await s.scheduler.submitJob({ type: "t.x", queue, maxAttempts });
  return job!.id;
}

describe("Reconciler.runOnce", () => {
  it("requeues a job Redis lost only after the grace period; it then completes with a gapless trail", async () => {
    const q = uniqueQueue();
    const id = await submit(q);
    await loseJobs(s, q, [id]);
    expect(await r.reconciler.runOnce()).toMatchObject({ requeuedJobIds: [], droppedJobIds: [] });
    expect(await s.redis.exists(keys(q).jobPrefix + id)).toBe(0);

    await ageRows(s, [id], 61);
    const report = await r.reconciler.runOnce();
    expect(report).toMatchObject({ requeuedJobIds: [id], failedJobIds: [], droppedJobIds: [], skippedJobIds: [] });
    expect(report!.unfinishedChecked).toBeGreaterThanOrEqual(1);
    expect(await r.metrics.reconcileRequeued.get()).toMatchObject({ values: [{ value: 1 }] });

    expect(await runJobs(s, q, 5)).toEqual([id]);
    await historyStatus(s, id, S.COMPLETED);
    expect(await trail(s, id)).toEqual([
      [1, E.SUBMITTED, S.PENDING, 0],
      [2, E.STARTED, S.PROCESSING, 1],
      [3, E.COMPLETED, S.COMPLETED, 1],
    ]);
    expect((await r.reconciler.runOnce())!.requeuedJobIds).toEqual([]);
  });

  it("brings back a job that was running when Redis lost everything, and it completes", async () => {
    const q = uniqueQueue();
    const id = await submit(q);
    await s.worker.leaseJobs({ workerId: "w1", queues: [q], maxJobs: 1 });
    await historyStatus(s, id, S.PROCESSING);
    await deleteKeysWithPrefix(testRedisUrl(), `${s.config.redisKeyPrefix}:`);
    await ageRows(s, [id], 61);

    expect((await r.reconciler.runOnce())!.requeuedJobIds).toEqual([id]);
    expect(await s.redis.sismember(`${s.config.redisKeyPrefix}:queues`, q)).toBe(1);
    expect(await runJobs(s, q, 1)).toEqual([id]);
    await historyStatus(s, id, S.COMPLETED);
    expect(await trail(s, id)).toEqual([
      [1, E.SUBMITTED, S.PENDING, 0],
      [2, E.STARTED, S.PROCESSING, 1],
      [3, E.LEASE_EXPIRED, S.PENDING, 1],
      [4, E.STARTED, S.PROCESSING, 2],
      [5, E.COMPLETED, S.COMPLETED, 2],
    ]);
  });

  it("fails a job Redis lost during its last attempt, as an expired lease", async () => {
    const q = uniqueQueue();
    const id = await submit(q, 1);
    await s.worker.leaseJobs({ workerId: "w1", queues: [q], maxJobs: 1 });
    await historyStatus(s, id, S.PROCESSING);
    await loseJobs(s, q, [id]);
    await ageRows(s, [id], 61);

    expect(await r.reconciler.runOnce()).toMatchObject({ requeuedJobIds: [], failedJobIds: [id] });
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
    const oldDebris = makeJob({ id: uuidv7({ msecs: Date.now() - 120_000 }) });
    const freshDebris = makeJob();
    await store.enqueue(q, [oldDebris, freshDebris]);
    // Far in the future, so the expire-leases loop leaves it to the reconciler.
    await s.redis.zadd(keys(q).leased, Date.now() + 3_600_000, "not-a-job-id");

    const report = await r.reconciler.runOnce();
    expect(new Set(report!.droppedJobIds)).toEqual(new Set([finished, oldDebris.id, "not-a-job-id"]));
    expect(report!.redisChecked).toBeGreaterThanOrEqual(5);
    expect(await s.redis.zrange(keys(q).ready, "0", "-1")).toEqual(expect.arrayContaining([alive, freshDebris.id]));
    expect(await s.redis.zcard(keys(q).ready)).toBe(2);
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
    await ageRows(s, [lost], 61);
    await cancelInHistory(finished);
    const before = await s.redis.zrange(keys(q).ready, "0", "-1");

    const dry = await r.reconciler.runOnce({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, requeuedJobIds: [lost], droppedJobIds: [finished] });
    expect(await s.redis.zrange(keys(q).ready, "0", "-1")).toEqual(before);
    expect(await s.redis.exists(keys(q).jobPrefix + lost)).toBe(0);
    expect(await s.redis.exists(keys(q).jobPrefix + finished)).toBe(1);

    expect(await r.reconciler.runOnce()).toMatchObject({ dryRun: false, requeuedJobIds: [lost], droppedJobIds: [finished] });
    expect(await s.redis.zrange(keys(q).ready, "0", "-1")).toEqual([lost]);
    await runJobs(s, q, 1);
    await historyStatus(s, lost, S.COMPLETED);
  });

  it("skips and logs a queue it cannot repair and repairs the others", async () => {
    const [bad, good] = [uniqueQueue(), uniqueQueue()];
    const [stuck, fine] = [await submit(bad), await submit(good)];
    await loseJobs(s, bad, [stuck]);
    await loseJobs(s, good, [fine]);
    await ageRows(s, [stuck, fine], 61);
    // A ready set that is not a sorted set makes every restore of that queue fail in Redis.
    await s.redis.set(keys(bad).ready, "not a sorted set");

    const report = await r.reconciler.runOnce();
    expect(report).toMatchObject({ requeuedJobIds: [fine], skippedJobIds: [stuck] });
    expect(await runJobs(s, good, 1)).toEqual([fine]);
    await s.redis.del(keys(bad).ready);
    expect((await r.reconciler.runOnce())!.requeuedJobIds).toEqual([stuck]);
    await runJobs(s, bad, 1);
    await eventually(async () => ((await s.history.getJob({ id: stuck })).job?.status === S.COMPLETED ? true : undefined));
  });

  it("skips a run while another replica holds the lock", async () => {
    const other = createTestReconciler(s);
    try {
      const q = uniqueQueue();
      const id = await submit(q);
      await loseJobs(s, q, [id]);
      await ageRows(s, [id], 61);
      const [a, b] = await Promise.all([r.reconciler.runOnce(), other.reconciler.runOnce()]);
      const ran = [a, b].filter((x) => x !== undefined);
      expect(ran.flatMap((x) => x.requeuedJobIds)).toEqual([id]);
      expect(await runJobs(s, q, 2)).toEqual([id]);
      await historyStatus(s, id, S.COMPLETED);
    } finally {
      await other.close();
    }
  });
});
