import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ask, createRedisFixture, makeJob, redisNow, type RedisFixture } from "../../test/redis-fixture.js";
import { legacyReadyKey, queuesKey } from "../redis/keys.js";
import { OUTBOX_GROUP, OutboxReader } from "../redis/outbox.js";
import { TendQueues } from "./tend-queues.js";

const logger = pino({ level: "silent" });
let f: RedisFixture;

// A key prefix per case: a tender sweeps every queue it knows, so each case sees its own only.
beforeEach(async () => {
  f = await createRedisFixture();
});
afterEach(async () => {
  await f.close();
});

const known = async (): Promise<string[]> => (await f.redis.smembers(queuesKey(f.prefix))).sort();

/** A tender that counts a queue idle once nothing arrived for `idleMs`. */
function tender(idleMs: number, consumerIdleMs = 60_000): TendQueues {
  return new TendQueues({
    store: f.store,
    reader: new OutboxReader(f.redis, f.prefix, "tender"),
    intervalMs: 60_000,
    idleMs,
    consumerIdleMs,
    now: () => redisNow(f.redis),
    logger,
  });
}

describe("TendQueues", () => {
  it("forgets a queue that holds nothing and received nothing lately, and keeps the busy ones", async () => {
    const [empty, ready, delayed, leased, outboxed, fresh] = ["t-empty", "t-ready", "t-delayed", "t-leased", "t-outbox", "t-fresh"];
    await f.store.addQueues([empty, ready, delayed, leased, outboxed, fresh]);
    await f.store.enqueue(ready, [makeJob()]);
    await f.store.enqueue(delayed, [makeJob({ delayMs: 3_600_000 })]);
    await f.store.enqueue(leased, [makeJob()]);
    await f.store.lease(leased, "w1", ask(1));
    await f.redis.xadd(f.keys(outboxed).outbox, "*", "job", "x");
    // Holds nothing, but a job arrived a moment ago (and already left).
    await f.redis.hset(f.keys(fresh).meta, "touched_ms", String(await redisNow(f.redis)));

    expect(await tender(60_000).runOnce()).toEqual([empty]);
    expect(await known()).toEqual([delayed, fresh, leased, outboxed, ready].sort());
  });

  it("puts a forgotten queue back when a job arrives", async () => {
    const q = "t-back";
    await f.store.addQueues([q]);
    expect(await tender(0).runOnce()).toContain(q);
    expect(await known()).not.toContain(q);
    await f.store.addQueues([q]);
    await f.store.enqueue(q, [makeJob()]);
    expect(await known()).toContain(q);
    expect(await tender(0).runOnce()).not.toContain(q);
  });

  it("keeps a queue an enqueue touched between its two looks", async () => {
    const q = "t-race";
    await f.store.addQueues([q]);
    const idleBefore = (await redisNow(f.redis)) + 1_000;
    // The first look finds it idle; a job lands before the second look.
    const forgot = f.store.forgetIfIdle(q, idleBefore);
    await f.store.enqueue(q, [makeJob()]);
    await forgot;
    expect(await known()).toContain(q);
  });

  it("removes the outbox consumers of gone processes that hold nothing pending", async () => {
    const q = "t-consumers";
    await f.store.addQueues([q]);
    await f.store.enqueue(q, [makeJob()]);
    await f.store.lease(q, "w1", ask(1));
    const dead = new OutboxReader(f.redis, f.prefix, "dead-process");
    const pending = new OutboxReader(f.redis, f.prefix, "crashed-with-pending");
    await dead.read(q, 10, 60_000);
    await dead.ack(q, { ids: (await f.redis.xrange(f.keys(q).outbox, "-", "+")).map(([id]) => id) });
    await f.store.enqueue(q, [makeJob()]);
    await f.store.lease(q, "w1", ask(1));
    await pending.read(q, 10, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await tender(3_600_000, 10).runOnce();
    const consumers = (await f.redis.call("XINFO", "CONSUMERS", f.keys(q).outbox, OUTBOX_GROUP)) as unknown[][];
    const names = consumers.map((c) => String(c[c.indexOf("name") + 1]));
    expect(names).toEqual(["crashed-with-pending"]);
  });

  it("moves jobs from the single ready set of earlier versions into the per-type sets", async () => {
    const q = "t-legacy";
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    // As an earlier version left it: the job in one ready zset for the queue.
    const score = Number(await f.redis.zscore(f.keys(q).ready(job.type), job.id));
    await f.redis.multi().del(f.keys(q).ready(job.type), f.keys(q).types).zadd(legacyReadyKey(f.prefix, q), score, job.id).exec();
    await f.store.addQueues([q]);
    await tender(3_600_000).runOnce();
    expect(await f.redis.exists(legacyReadyKey(f.prefix, q))).toBe(0);
    expect((await f.store.lease(q, "w1", ask(1))).map((r) => r.id)).toEqual([job.id]);
  });
});
