import { describe, expect, it } from "vitest";
import { RedisClock, timeReplyMs } from "./redis-clock.js";

describe("RedisClock", () => {
  it("maps Redis's clock to the local one through the latest sample", () => {
    const clock = new RedisClock();
    // Redis said 1,000,000.5 ms; the answer arrived at local 200 ms.
    clock.sample(1_000_000.5, 200);
    expect(clock.toRedis(200)).toBe(1_000_000.5);
    expect(clock.toLocal(1_000_300.5)).toBe(500);
    clock.sample(1_000_100, 310);
    expect(clock.toLocal(1_000_300)).toBe(510);
  });

  it("errs late: a due time maps to no earlier than when Redis's clock truly reaches it", () => {
    const clock = new RedisClock();
    // Sent at local 100, answered at 104: Redis read its clock somewhere in between.
    const redisAtRead = 5_000;
    clock.sample(redisAtRead, 104);
    // Whenever in [100, 104] Redis read it, it reaches 5,300 at local [400, 404]; the map says 404.
    expect(clock.toLocal(5_300)).toBe(404);
    expect(clock.toRedis(100)).toBeLessThanOrEqual(redisAtRead);
  });

  it("starts from the local wall clock", () => {
    expect(Math.abs(new RedisClock().now() - Date.now())).toBeLessThan(1_000);
  });
});

describe("timeReplyMs", () => {
  it("turns seconds and microseconds into ms with the fraction", () => {
    expect(timeReplyMs(["1700000000", "123456"])).toBe(1_700_000_000_123.456);
  });
});
