import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { testRedisUrl } from "@taskflow/testkit";
import { backdate, createRedisFixture, makeJob, type RedisFixture } from "../../test/redis-fixture.js";
import { LeaseWaiters } from "../redis/lease-waiters.js";
import { DueTimer } from "./due-timer.js";
import { PromoteDelayed } from "./promote-delayed.js";

const logger = pino({ level: "silent" });
/** The loop's period, in ms. */
const INTERVAL_MS = 1_000;
/**
 * Longest wait for a wake-up once it is due, in ms: a local wake is immediate, so this only
 * absorbs a loaded machine, and stays far below the 60 s a waiter would otherwise sleep.
 */
const WAKE_BOUND_MS = 1_000;
const never = new AbortController().signal;
let f: RedisFixture;
let subscriber: Redis;
let waiters: LeaseWaiters;
let loop: PromoteDelayed;

beforeAll(async () => {
  f = await createRedisFixture();
  subscriber = new Redis(testRedisUrl());
  waiters = new LeaseWaiters(f.redis, subscriber, f.prefix, logger);
  await waiters.start();
  loop = new PromoteDelayed({ store: f.store, waiters, intervalMs: INTERVAL_MS, logger });
});
afterAll(async () => {
  await loop.stop();
  await waiters.close();
  await subscriber.quit();
  await f.close();
});

describe("PromoteDelayed", () => {
  it("promotes due jobs of every known queue and wakes their waiters", async () => {
    const due = makeJob({ delayMs: 60_000 });
    const notYet = makeJob({ delayMs: 60_000 });
    await f.store.addQueues(["a", "b"]);
    await f.store.enqueue("a", [due]);
    await f.store.enqueue("b", [notYet]);
    await backdate(f, f.keys("a").delayed, due.id);
    const waiter = waiters.register({ queues: ["a"], types: [], want: 1 });

    expect(await loop.runOnce()).toBe(1);
    // The sweep announces what it promoted before it resolves: the waiter is woken by then.
    expect(await waiter.wait(WAKE_BOUND_MS, never)).toBe("woken");
    waiter.dispose();
    expect(await f.redis.zscore(f.keys("a").ready("test.echo"), due.id)).not.toBeNull();
    expect(await f.redis.zscore(f.keys("b").delayed, notYet.id)).not.toBeNull();
    expect(await loop.runOnce()).toBe(0);
  });

  it("runs on its own once started", async () => {
    const job = makeJob({ delayMs: 60_000 });
    await f.store.enqueue("c", [job]);
    await f.store.addQueues(["c"]);
    await backdate(f, f.keys("c").delayed, job.id);
    const waiter = waiters.register({ queues: ["c"], types: [], want: 1 });
    const woke = waiter.wait(WAKE_BOUND_MS + INTERVAL_MS, never);
    // Its first sweep runs at once; a second one is due a second later.
    loop.start();
    expect(await woke).toBe("woken");
    waiter.dispose();
    await loop.stop();
    expect(await f.redis.zscore(f.keys("c").ready("test.echo"), job.id)).not.toBeNull();
  });

  it("hands the timer every queue's next due time, so a job it was never told of starts on time", async () => {
    const timer = new DueTimer({ store: f.store, waiters, logger });
    timer.start();
    const sweep = new PromoteDelayed({ store: f.store, waiters, intervalMs: INTERVAL_MS, logger, timer });
    const job = makeJob({ delayMs: 300 });
    await f.store.enqueue("e", [job]);
    await f.store.addQueues(["e"]);
    const waiter = waiters.register({ queues: ["e"], types: [], want: 1 });
    const woke = waiter.wait(WAKE_BOUND_MS, never);
    await sweep.runOnce();
    expect(timer.armedDueMs).toBe(Number(await f.redis.zscore(f.keys("e").delayed, job.id)));
    // The timer, not a sweep (none runs again), promotes it.
    expect(await woke).toBe("woken");
    waiter.dispose();
    await timer.stop();
    expect(await f.redis.zscore(f.keys("e").ready("test.echo"), job.id)).not.toBeNull();
  });
});
