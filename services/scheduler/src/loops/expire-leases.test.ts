import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Redis } from "ioredis";
import { testRedisUrl } from "@taskflow/testkit";
import { ask, backdate, createRedisFixture, jobHash, makeJob, type RedisFixture } from "../../test/redis-fixture.js";
import { LeaseWaiters } from "../redis/lease-waiters.js";
import { createSchedulerMetrics } from "../metrics.js";
import { ExpireLeases } from "./expire-leases.js";

const logger = pino({ level: "silent" });
let f: RedisFixture;
let subscriber: Redis;
let waiters: LeaseWaiters;

beforeAll(async () => {
  f = await createRedisFixture();
  subscriber = new Redis(testRedisUrl());
  waiters = new LeaseWaiters(f.redis, subscriber, f.prefix, logger);
  await waiters.start();
});
afterAll(async () => {
  await waiters.close();
  await subscriber.quit();
  await f.close();
});

describe("ExpireLeases", () => {
  it("requeues or fails expired leases across queues and reports new events", async () => {
    const eventsWritten = vi.fn();
    const { jobsExpired } = createSchedulerMetrics();
    const loop = new ExpireLeases({ store: f.store, waiters, intervalMs: 1_000, logger, eventsWritten, jobsExpired });
    const retry = makeJob({ maxAttempts: 2 });
    const last = makeJob({ maxAttempts: 1 });
    const live = makeJob();
    await f.store.addQueues(["x", "y"]);
    await f.store.enqueue("x", [retry, live]);
    await f.store.enqueue("y", [last]);
    await f.store.lease("x", "w1", ask(2));
    await f.store.lease("y", "w1", ask(1));
    await backdate(f, f.keys("x").leased, retry.id);
    await backdate(f, f.keys("y").leased, last.id);

    expect(await loop.runOnce()).toEqual({ requeued: 1, ended: 1 });
    expect(eventsWritten).toHaveBeenCalledTimes(1);
    const expired = (await jobsExpired.get()).values.map((v) => [v.labels.queue, v.value]);
    expect(expired.sort()).toEqual([["x", 1], ["y", 1]]);
    expect((await jobHash(f, "x", retry.id)).state).toBe("ready");
    expect((await jobHash(f, "y", last.id)).status).toBe("failed");
    expect((await jobHash(f, "x", live.id)).state).toBe("leased");
    expect(await loop.runOnce()).toEqual({ requeued: 0, ended: 0 });
    expect(eventsWritten).toHaveBeenCalledTimes(1);
  });
});
