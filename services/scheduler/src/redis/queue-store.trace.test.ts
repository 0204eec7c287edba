import { uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, createRedisFixture, jobHash, makeJob, outboxEntries, type RedisFixture } from "../../test/redis-fixture.js";

const TRACE_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

let f: RedisFixture;

beforeAll(async () => {
  f = await createRedisFixture();
});
afterAll(async () => {
  await f.close();
});

describe("a job's trace parent in Redis", () => {
  it("is kept in the job hash, answered with the lease and copied into the job's outbox entries", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job], TRACE_PARENT);
    expect((await jobHash(f, q, job.id)).traceparent).toBe(TRACE_PARENT);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased?.traceParent).toBe(TRACE_PARENT);
    await f.store.report(q, "w1", [{ id: job.id, token: leased!.token, outcome: "completed", body: "{}", permanent: false }]);
    const entries = await outboxEntries(f, q);
    expect(entries.map((e) => [e.type, e.traceparent])).toEqual([
      ["STARTED", TRACE_PARENT],
      ["COMPLETED", TRACE_PARENT],
    ]);
  });

  it("writes no field at all for an untraced submit", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    expect(await f.redis.hexists(f.keys(q).job(job.id), "traceparent")).toBe(0);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased?.traceParent).toBe("");
    expect((await outboxEntries(f, q)).map((e) => "traceparent" in e)).toEqual([false]);
  });
});
