import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisFixture, makeJob, redisNow, type RedisFixture } from "../../test/redis-fixture.js";

let f: RedisFixture;
beforeAll(async () => {
  f = await createRedisFixture();
});
afterAll(async () => {
  await f.close();
});

describe("QueueStore.delayedHeads", () => {
  it("reads each queue's earliest due time, in order, and Redis's time with when it arrived", async () => {
    const soon = makeJob({ delayMs: 10_000 });
    const later = makeJob({ delayMs: 20_000 });
    await f.store.enqueue("h1", [later, soon, makeJob()]);
    const before = await redisNow(f.redis);
    const sentMs = performance.now();
    const read = await f.store.delayedHeads(["empty", "h1"]);
    expect(read.heads[0]).toBeUndefined();
    expect(read.heads[1]).toBe(Number(await f.redis.zscore(f.keys("h1").delayed, soon.id)));
    expect(read.heads[1]).toBeGreaterThanOrEqual(before + 10_000 - 1_000);
    expect(read.redisMs).toBeGreaterThanOrEqual(before);
    expect(read.receivedMs).toBeGreaterThanOrEqual(sentMs);
    expect(read.receivedMs).toBeLessThanOrEqual(performance.now());
  });

  it("answers an empty list with Redis's time alone", async () => {
    const read = await f.store.delayedHeads([]);
    expect(read.heads).toEqual([]);
    expect(read.redisMs).toBeGreaterThan(0);
  });
});
