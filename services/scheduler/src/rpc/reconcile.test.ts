import { JobEventType as E, JobStatus as S } from "@taskflow/proto";
import { deleteKeysWithPrefix, eventually, testRedisUrl, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyStatus, loseJobs, runJobs, trail } from "../../test/reconcile-fixture.js";
import { startReplica, startStack, type Replica, type Stack } from "../../test/stack.js";
import { makeJob } from "../../test/redis-fixture.js";
import { queueKeys, reconcileStateKey } from "../redis/keys.js";
import { QueueStore } from "../redis/queue-store.js";

let s: Stack;
let replica: Replica;

beforeAll(async () => {
  // No grace: every discrepancy counts at once; no periodic run: only the calls under test reconcile.
  s = await startStack({ env: { RECONCILE_GRACE_MS: "0", RECONCILE_INTERVAL_MS: "3600000" } });
  replica = await startReplica(s);
  // The scheduler restores at start (Redis holds no marker yet); a late restore would put back
  // what a case loses before the case's own call could see it lost.
  await eventually(async () => ((await s.redis.hget(reconcileStateKey(s.config.redisKeyPrefix), "phase")) === "ok" ? true : undefined));
});
afterAll(async () => {
  await replica.close();
  await s.close();
});

describe("AdminService.Reconcile", () => {
  it("reports what a dry run would repair, then repairs it and reports the ids", async () => {
    const q = uniqueQueue();
    const ids = await Promise.all([0, 1, 2].map(async () => (await s.scheduler.submitJob({ type: "t.x", queue: q })).job!.id));
    await loseJobs(s, q, ids.slice(0, 2));

    const dry = await s.admin.reconcile({ dryRun: true });
    expect(new Set(dry.requeuedJobIds)).toEqual(new Set(ids.slice(0, 2)));
    expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, q).ready("t.x"))).toBe(1);

    const res = await s.admin.reconcile({});
    expect(new Set(res.requeuedJobIds)).toEqual(new Set(ids.slice(0, 2)));
    expect(res.droppedJobIds).toEqual([]);
    expect(res.unfinishedChecked).toBeGreaterThanOrEqual(3);
    expect(res.redisChecked).toBeGreaterThanOrEqual(3);
    expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, q).ready("t.x"))).toBe(3);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain("taskflow_reconcile_requeued_total 2");
    for (const name of ["taskflow_outbox_parked_total", "taskflow_reconcile_dropped_total", "taskflow_jobs_expired_total"]) {
      expect(metrics).toContain(`# TYPE ${name} counter`);
    }
    expect(new Set(await runJobs(s, q, 3))).toEqual(new Set(ids));
  });

  it("restores each job once after Redis lost everything, though two replicas watch", async () => {
    const q = uniqueQueue();
    const { jobs } = await s.scheduler.submitJobs({ jobs: Array.from({ length: 20 }, () => ({ type: "t.x", queue: q })) });
    const ids = jobs.map((j) => j.id);
    expect((await s.worker.leaseJobs({ workerId: "w1", queues: [q], maxJobs: 20 })).jobs).toHaveLength(20);
    for (const id of ids) await historyStatus(s, id, S.PROCESSING);
    await deleteKeysWithPrefix(testRedisUrl(), `${s.config.redisKeyPrefix}:`);

    await eventually(async () => ((await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, q).ready("t.x"))) === 20 ? true : undefined));
    expect(new Set(await runJobs(replica, q, 20))).toEqual(new Set(ids));
    for (const id of ids) await historyStatus(s, id, S.COMPLETED);
    for (const id of ids) {
      expect(await trail(s, id)).toEqual([
        [1, E.SUBMITTED, S.PENDING, 0],
        [2, E.STARTED, S.PROCESSING, 1],
        [3, E.LEASE_EXPIRED, S.PENDING, 1],
        [4, E.STARTED, S.PROCESSING, 2],
        [5, E.COMPLETED, S.COMPLETED, 2],
      ]);
    }
  });

  it("drops from Redis what history finished while Redis did not hold it", async () => {
    const q = uniqueQueue();
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: q });
    await loseJobs(s, q, [job!.id]);
    // Redis lost it, so the cancel is recorded in history directly.
    expect((await s.scheduler.cancelJob({ id: job!.id })).status).toBe(S.CANCELLED);
    // A live copy coming back after the tombstone is gone (e.g. Redis restored from an old snapshot).
    await s.redis.del(queueKeys(s.config.redisKeyPrefix, q).jobPrefix + job!.id);
    const store = new QueueStore({ ...s.config, redis: s.redis, keyPrefix: s.config.redisKeyPrefix });
    await store.enqueue(q, [makeJob({ id: job!.id, type: "t.x" })]);
    const res = await replica.admin.reconcile({});
    expect(res.droppedJobIds).toEqual([job!.id]);
    expect(res.requeuedJobIds).toEqual([]);
    expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, q).ready("t.x"))).toBe(0);
    await eventually(async () => ((await s.history.getJob({ id: job!.id })).job?.status === S.CANCELLED ? true : undefined));
  });
});
