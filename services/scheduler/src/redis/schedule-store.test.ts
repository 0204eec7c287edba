import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRedisFixture, type RedisFixture } from "../../test/redis-fixture.js";
import type { ScheduleDef } from "../schedules/parse-schedule.js";
import { ScheduleStore } from "./schedule-store.js";

let f: RedisFixture;
let store: ScheduleStore;
beforeEach(async () => {
  f = await createRedisFixture();
  store = new ScheduleStore(f.redis, f.prefix, { checkKeys: true });
});
afterEach(async () => {
  await f.close();
});

const def = (id: string, catchUp = 1): ScheduleDef => ({
  id,
  spec: { kind: "interval", intervalMs: 1_000 },
  template: { type: "t", queue: "q", payload: {}, priority: 0, maxAttempts: 3, timeoutMs: 0 },
  overlap: "allow",
  catchUp,
});

describe("ScheduleStore", () => {
  it("keeps the newest version: an older write changes nothing, and a tombstone fences off the versions before it", async () => {
    expect(await store.put({ def: def("a", 2), version: 5n, nextMs: 10_000 })).toBe(true);
    expect(await store.put({ def: def("a", 7), version: 4n, nextMs: 99_000 })).toBe(false);
    const [state] = await store.read(["a"]);
    expect(state).toMatchObject({ version: "5", def: { catchUp: 2 } });
    expect(await store.nextTicks(["a"])).toEqual([10_000]);
    expect(await store.drop("a", 6n)).toBe(true);
    expect(await store.read(["a"])).toEqual([undefined]);
    expect(await store.put({ def: def("a"), version: 5n, nextMs: 10_000 })).toBe(false);
    expect(await store.dueIds()).toEqual([]);
    // Created again: a version above the tombstone's.
    expect(await store.put({ def: def("a"), version: 7n, nextMs: 20_000 })).toBe(true);
    expect(await store.dueIds()).toEqual(["a"]);
  });

  it("lets one claim of a tick win, refuses claims at a stale tick or version, and one while a firing is in flight", async () => {
    await store.put({ def: def("b"), version: 1n, nextMs: 1_000 });
    const claim = { id: "b", expectedNextMs: 1_000, version: "1", nextMs: 2_000, ticks: [1_000] };
    const results = await Promise.all(["t1", "t2", "t3"].map((token) => store.claim({ ...claim, token })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.nextTicks(["b"])).toEqual([2_000]);
    // The next tick is due, but the first firing has not ended.
    expect(await store.claim({ ...claim, expectedNextMs: 2_000, nextMs: 3_000, token: "t4" })).toBe(false);
    const winner = ["t1", "t2", "t3"][results.indexOf(true)]!;
    expect(await store.finish("b", "not-the-token", undefined)).toBe(false);
    expect(await store.finish("b", winner, { jobId: "j1", queue: "q", runAtMs: 1_000 })).toBe(true);
    expect((await store.read(["b"]))[0]!.lastRun).toEqual({ jobId: "j1", queue: "q", runAtMs: 1_000 });
    expect(await store.claim({ ...claim, expectedNextMs: 2_000, nextMs: 3_000, version: "0", token: "t5" })).toBe(false);
    expect(await store.claim({ ...claim, expectedNextMs: 2_000, nextMs: 3_000, token: "t5" })).toBe(true);
  });

  it("hands a firing whose holder went silent past the lease to another caller, and only then", async () => {
    await store.put({ def: def("c"), version: 1n, nextMs: 1_000 });
    expect(await store.claim({ id: "c", expectedNextMs: 1_000, version: "1", nextMs: 3_000, ticks: [1_000, 2_000], token: "dead" })).toBe(true);
    expect(await store.retake("c", 60_000, "next")).toBeUndefined();
    const redisNow = Number((await f.redis.time())[0]) * 1_000;
    expect(await store.staleFirings(redisNow + 1_000, 10)).toEqual(["c"]);
    expect(await store.retake("c", 0, "next")).toEqual([1_000, 2_000]);
    // The dead holder's late end changes nothing; the new holder's ends the firing.
    expect(await store.finish("c", "dead", { jobId: "old", queue: "q", runAtMs: 2_000 })).toBe(false);
    expect(await store.finish("c", "next", { jobId: "new", queue: "q", runAtMs: 2_000 })).toBe(true);
    expect(await store.staleFirings(redisNow + 1_000, 10)).toEqual([]);
  });
});
