import { Writable } from "node:stream";
import { eventually, startTcpProxy, testRedisUrl } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ask, createRedisFixture, makeJob, redisNow, TEST_LEASE_MS, type RedisFixture } from "../../test/redis-fixture.js";
import { DueChannel } from "../redis/due-channel.js";
import { LeaseWaiters } from "../redis/lease-waiters.js";
import { QueueStore, type EnqueueJob } from "../redis/queue-store.js";
import { DueTimer } from "./due-timer.js";

const silent = pino({ level: "silent" });
/**
 * Most ms a job may start after its due time. The timer fires a ms or so late and the wake is
 * local (2 to 10 ms on an idle machine); the rest absorbs a machine whose two cores the full
 * suite keeps busy (a retry's hop through a second replica once took 186 ms so). No sweep runs
 * here, so without the timer a job would not start at all, and the one-second sweep the timer
 * replaces started them about 580 ms late at the median.
 */
const LATE_BOUND_MS = 300;
/** Longest wait for a wake that must come, in ms. */
const WAIT_MS = 5_000;
/** Retry backoff base; with jitter 0 a first retry waits half of it. */
const RETRY_BASE_MS = 400;
const never = new AbortController().signal;

let f: RedisFixture;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  f = await createRedisFixture({ retryBaseMs: RETRY_BASE_MS, random: () => 0 });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await f.close();
});

/** One scheduler replica's promotion: its own connections, waiters, channel and timer; counts its promotion calls per queue. */
interface Replica {
  timer: DueTimer;
  waiters: LeaseWaiters;
  promotions(queue: string): number;
  close(): Promise<void>;
}

async function replica(opts: { start?: boolean; redisUrl?: string; logger?: Logger } = {}): Promise<Replica> {
  const logger = opts.logger ?? silent;
  const redis = new Redis(opts.redisUrl ?? testRedisUrl(), { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on("error", () => undefined);
  await redis.connect();
  const subscriber = new Redis(testRedisUrl());
  const store = new QueueStore({ redis, keyPrefix: f.prefix, leaseMs: TEST_LEASE_MS, retryBaseMs: RETRY_BASE_MS, retryMaxMs: 60_000 });
  const calls: string[] = [];
  const promote = store.promoteDelayed.bind(store);
  store.promoteDelayed = (queue, limit) => {
    calls.push(queue);
    return promote(queue, limit);
  };
  const waiters = new LeaseWaiters(redis, subscriber, f.prefix, logger);
  await waiters.start();
  const timer = new DueTimer({ store, waiters, channel: new DueChannel(redis, subscriber, f.prefix, logger), logger });
  await timer.listen();
  if (opts.start ?? true) timer.start();
  const r: Replica = {
    timer,
    waiters,
    promotions: (queue) => calls.filter((q) => q === queue).length,
    close: async () => {
      await timer.stop();
      await waiters.close();
      subscriber.disconnect();
      redis.disconnect();
    },
  };
  open.push(r);
  return r;
}

/** A logger whose lines tests can wait for by message. */
function logTap(): { logger: Logger; next(msg: string): Promise<void> } {
  const wanted: { msg: string; resolve: () => void }[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        const { msg } = JSON.parse(line) as { msg?: string };
        for (const w of wanted.filter((x) => x.msg === msg)) w.resolve();
      }
      done();
    },
  });
  return {
    logger: pino({ level: "warn" }, stream),
    next: (msg) => new Promise((resolve) => wanted.push({ msg, resolve })),
  };
}

/** Enqueues one job and tells `via`'s timer, as SubmitJobs does. */
async function submit(via: Replica, queue: string, delayMs: number): Promise<EnqueueJob> {
  const job = makeJob({ delayMs });
  const sentMs = performance.now();
  await f.store.enqueue(queue, [job]);
  via.timer.enqueued(queue, [job], sentMs);
  return job;
}

/**
 * Leases the next job of `queue` once `on` announces it ready, as a long poll does; resolves to
 * it and how long after its due time it started, on Redis's clock, in ms.
 */
async function leaseWhenReady(on: Replica, queue: string): Promise<{ id: string; attempts: number; lateMs: number }> {
  const waiter = on.waiters.register({ queues: [queue], types: [], want: 1 });
  try {
    for (;;) {
      waiter.beginAttempt();
      const [job] = await f.store.lease(queue, "w1", ask(1));
      if (job !== undefined) return { id: job.id, attempts: job.attempts, lateMs: job.startedMs - job.scheduledMs };
      expect(await waiter.wait(WAIT_MS, never)).toBe("woken");
    }
  } finally {
    waiter.dispose();
  }
}

describe("DueTimer", () => {
  it("starts a job delayed 300 ms within 300 ms of its due time, with no sweep running", async () => {
    const r = await replica();
    const job = await submit(r, "t1", 300);
    const leased = await leaseWhenReady(r, "t1");
    expect(leased.id).toBe(job.id);
    expect(leased.lateMs).toBeGreaterThanOrEqual(0);
    expect(leased.lateMs).toBeLessThan(LATE_BOUND_MS);
    // One fire, perhaps one more if it came a hair early: no hot loop.
    expect(r.promotions("t1")).toBeLessThanOrEqual(2);
  });

  it("promotes jobs falling due in a steady stream in batches, not one script call each", async () => {
    const r = await replica();
    // 60 jobs due 1 ms apart, from 200 ms on.
    const jobs = Array.from({ length: 60 }, (_, i) => makeJob({ delayMs: 200 + i }));
    const sentMs = performance.now();
    await f.store.enqueue("t9", jobs);
    r.timer.enqueued("t9", jobs, sentMs);
    await eventually(async () => ((await f.redis.zcard(f.keys("t9").ready("test.echo"))) === jobs.length ? true : undefined), WAIT_MS);
    expect(r.promotions("t9")).toBeLessThanOrEqual(jobs.length / 3);
  });

  it("re-arms for an earlier job that arrives after a later one", async () => {
    const r = await replica();
    const later = await submit(r, "t2", 5_000);
    const armedForLater = r.timer.armedDueMs;
    expect(armedForLater).toBeGreaterThan(await redisNow(f.redis));
    const earlier = await submit(r, "t2", 300);
    expect(r.timer.armedDueMs).toBeLessThan(armedForLater!);
    const leased = await leaseWhenReady(r, "t2");
    expect(leased.id).toBe(earlier.id);
    expect(leased.lateMs).toBeLessThan(LATE_BOUND_MS);
    // Re-armed from Redis for the later one, which still waits.
    const laterDue = Number(await f.redis.zscore(f.keys("t2").delayed, later.id));
    expect(laterDue).toBeGreaterThan(0);
    await eventually(() => Promise.resolve(r.timer.armedDueMs === laterDue ? true : undefined));
  });

  it("promotes on time a job enqueued through a replica whose timer does not run", async () => {
    const a = await replica({ start: false });
    const b = await replica();
    const job = await submit(a, "t3", 300);
    const leased = await leaseWhenReady(b, "t3");
    expect(leased.id).toBe(job.id);
    expect(leased.lateMs).toBeLessThan(LATE_BOUND_MS);
    expect(b.promotions("t3")).toBeGreaterThan(0);
    expect(a.promotions("t3")).toBe(0);
  });

  it("retries a failed job on time, also on a replica that only heard of it", async () => {
    const a = await replica({ start: false });
    const b = await replica();
    await f.store.enqueue("t4", [makeJob()]);
    const [first] = await f.store.lease("t4", "w1", ask(1));
    await f.store.report("t4", "w1", [{ id: first!.id, token: first!.token, outcome: "failed", body: "boom", permanent: false }]);
    // A retry's due time is drawn by the script: the replica reads it and tells the others.
    a.timer.delayed("t4");
    const retry = await leaseWhenReady(b, "t4");
    expect(retry).toMatchObject({ id: first!.id, attempts: 2 });
    expect(retry.lateMs).toBeLessThan(LATE_BOUND_MS);
  });

  it("re-arms from Redis when told a due time too early, without a hot loop", async () => {
    const r = await replica();
    const job = makeJob({ delayMs: 400 });
    await f.store.enqueue("t5", [job]);
    r.timer.delayed("t5", (await redisNow(f.redis)) + 50);
    const leased = await leaseWhenReady(r, "t5");
    expect(leased.id).toBe(job.id);
    expect(leased.lateMs).toBeLessThan(LATE_BOUND_MS);
    // The early fire, the one on time, and at most one more.
    expect(r.promotions("t5")).toBeLessThanOrEqual(3);
  });

  it("arms from a read of the heads, also after a read of no queues", async () => {
    const r = await replica();
    await r.timer.refresh([], { tell: false });
    const job = makeJob({ delayMs: 60_000 });
    await f.store.enqueue("t8", [job]);
    await r.timer.refresh(["t8"], { tell: false });
    expect(r.timer.armedDueMs).toBe(Number(await f.redis.zscore(f.keys("t8").delayed, job.id)));
  });

  it("disarms when the delayed set it waits for is gone (a cancel, Redis losing its data)", async () => {
    const r = await replica();
    await submit(r, "t6", 200);
    expect(r.timer.armedDueMs).toBeDefined();
    await f.redis.del(f.keys("t6").delayed);
    await eventually(() => Promise.resolve(r.timer.armedDueMs === undefined && r.promotions("t6") > 0 ? true : undefined));
    expect(r.promotions("t6")).toBeLessThanOrEqual(2);
  });

  it("promotes once Redis is reachable again after a fire failed", async () => {
    const proxy = await startTcpProxy(testRedisUrl());
    try {
      const tap = logTap();
      const r = await replica({ redisUrl: proxy.url, logger: tap.logger });
      const failed = tap.next("delayed promotion failed");
      proxy.partition();
      const job = await submit(r, "t7", 100);
      await failed;
      proxy.heal();
      // Nothing else promotes here: the timer's own retry (with backoff) does.
      await eventually(async () => ((await f.redis.zscore(f.keys("t7").ready("test.echo"), job.id)) === null ? undefined : true), WAIT_MS);
    } finally {
      await Promise.all(open.splice(0).map((r) => r.close()));
      await proxy.close();
    }
  });
});
