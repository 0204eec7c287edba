import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, createRedisFixture, makeJob, redisNow, type RedisFixture } from "../../test/redis-fixture.js";
import { createSchedulerMetrics } from "../metrics.js";
import { MAX_REPORTED_QUEUES, readQueueStats } from "./queue-stats.js";

let f: RedisFixture;
beforeAll(async () => {
  f = await createRedisFixture();
});
afterAll(async () => {
  await f.close();
});

/** A ready score as include/common.lua's ready_score makes it. */
const readyScore = (priority: number, atMs: number): number => (1000 - priority) * 4398046511104 + (atMs - 1704067200000);

describe("readQueueStats", () => {
  it("counts ready, delayed and leased jobs, the oldest ready job, the outbox and parked entries", async () => {
    const k = f.keys("a");
    const [old, newer, other, delayed] = [makeJob(), makeJob(), makeJob({ type: "t.two", priority: 5 }), makeJob({ delayMs: 60_000 })];
    await f.store.enqueue("a", [old, newer, makeJob(), makeJob(), other, delayed]);
    const beforeLease = await redisNow(f.redis);
    expect(await f.store.lease("a", "w1", { ...ask(1), types: ["test.echo"] })).toHaveLength(1);
    const afterLease = await redisNow(f.redis);
    // Backdate when two jobs became ready: the older heads its set at priority 0, the newer at 5.
    const now = await redisNow(f.redis);
    await f.redis.zadd(k.ready("test.echo"), "XX", readyScore(0, now - 5_000), newer.id);
    await f.redis.zadd(k.ready("t.two"), "XX", readyScore(5, now - 1_000), other.id);
    await f.redis.xadd(k.outboxDead, "*", "job_id", old.id);

    const { nowMs, queues, omitted } = await readQueueStats(f.redis, f.prefix, ["a", "empty"]);
    expect(omitted).toBe(0);
    expect(queues.map((q) => q.queue)).toEqual(["a", "empty"]);
    const [a, empty] = queues;
    expect(a).toMatchObject({ queue: "a", ready: 4, delayed: 1, leased: 1, oldestReadyMs: now - 5_000, outbox: 1, parked: 1 });
    expect(a!.oldestOutboxMs).toBeGreaterThanOrEqual(beforeLease);
    expect(a!.oldestOutboxMs).toBeLessThanOrEqual(afterLease);
    expect(nowMs).toBeGreaterThanOrEqual(now);
    expect(empty).toEqual({
      queue: "empty", ready: 0, delayed: 0, leased: 0, oldestReadyMs: undefined, outbox: 0, oldestOutboxMs: undefined, parked: 0,
      completedLastMinute: 0,
    });
  });

  it(`reports the first ${MAX_REPORTED_QUEUES} queues by name and counts the rest as omitted`, async () => {
    const names = Array.from({ length: MAX_REPORTED_QUEUES + 2 }, (_, i) => `q${String(i).padStart(5, "0")}`).reverse();
    const { queues, omitted } = await readQueueStats(f.redis, f.prefix, names);
    expect(queues).toHaveLength(MAX_REPORTED_QUEUES);
    expect(omitted).toBe(2);
    expect([queues[0]!.queue, queues.at(-1)!.queue]).toEqual(["q00000", `q${String(MAX_REPORTED_QUEUES - 1).padStart(5, "0")}`]);
  });
});

describe("the scheduler's queue gauges", () => {
  it("are read from Redis once per scrape", async () => {
    await f.store.enqueue("g", [makeJob(), makeJob(), makeJob({ delayMs: 60_000 })]);
    let reads = 0;
    const m = createSchedulerMetrics(() => {
      reads += 1;
      return readQueueStats(f.redis, f.prefix, ["g"]);
    });
    const text = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('taskflow_queue_jobs{queue="g",state="ready"} 2');
    expect(text).toContain('taskflow_queue_jobs{queue="g",state="delayed"} 1');
    expect(text).toContain('taskflow_queue_jobs{queue="g",state="leased"} 0');
    expect(text).toContain('taskflow_outbox_entries{queue="g"} 0');
    expect(text).toContain("taskflow_queue_stats_up 1");
    expect(text).toMatch(/^taskflow_queue_oldest_ready_age_seconds\{queue="g"\} \d/m);
    // Default process metrics are on the same registry.
    expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
  });

  it("leave the queue gauges empty, and the scrape whole, when Redis cannot be read", async () => {
    const m = createSchedulerMetrics(() => Promise.reject(new Error("redis down")));
    m.jobsSubmitted.inc({ queue: "g" }, 3);
    const text = await m.registry.metrics();
    expect(text).toContain("taskflow_queue_stats_up 0");
    expect(text).not.toMatch(/^taskflow_queue_jobs\{/m);
    expect(text).toContain('taskflow_jobs_submitted_total{queue="g"} 3');
  });
});
