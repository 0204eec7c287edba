import { LeaseStatus } from "@taskflow/proto";
import { uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ask,
  backdate,
  createRedisFixture,
  jobHash,
  makeJob,
  outboxEntries,
  redisNow,
  TEST_LEASE_MS,
  type RedisFixture,
} from "../../test/redis-fixture.js";
import { DEADLINE_GRACE_MS } from "./queue-store.js";

let f: RedisFixture;

beforeAll(async () => {
  f = await createRedisFixture();
});
afterAll(async () => {
  await f.close();
});

describe("enqueue-jobs and lease-jobs", () => {
  it("leases by priority first, then in the order jobs became ready", async () => {
    const q = uniqueQueue();
    const jobs = [0, 5, 1000, 5, 0].map((priority) => makeJob({ priority }));
    for (const job of jobs) await f.store.enqueue(q, [job]);
    const leased = await f.store.lease(q, "w1", ask(10));
    expect(leased.map((l) => l.id)).toEqual([jobs[2]!.id, jobs[1]!.id, jobs[3]!.id, jobs[0]!.id, jobs[4]!.id]);
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(0);
  });

  it("keeps submission order within one batch of equal priority", async () => {
    const q = uniqueQueue();
    const jobs = Array.from({ length: 20 }, () => makeJob());
    await f.store.enqueue(q, jobs);
    const leased = await f.store.lease(q, "w1", ask(20));
    expect(leased.map((l) => l.id)).toEqual(jobs.map((j) => j.id));
  });

  it("leases at most the number asked for", async () => {
    const q = uniqueQueue();
    await f.store.enqueue(q, [makeJob(), makeJob(), makeJob()]);
    expect(await f.store.lease(q, "w1", ask(2))).toHaveLength(2);
    expect(await f.store.lease(q, "w1", ask(2))).toHaveLength(1);
    expect(await f.store.lease(q, "w1", ask(2))).toHaveLength(0);
  });

  it("does not enqueue a job twice", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    expect((await f.store.enqueue(q, [job])).created).toBe(1);
    expect((await f.store.enqueue(q, [job])).created).toBe(0);
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(1);
  });

  it("counts the attempt at lease time and emits STARTED with the next seq", async () => {
    const q = uniqueQueue();
    const job = makeJob({ timeoutMs: 120_000 });
    await f.store.enqueue(q, [job]);
    const before = await redisNow(f.redis);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased).toMatchObject({ id: job.id, type: job.type, queue: q, attempts: 1, payloadJson: job.payloadJson });
    expect(leased!.startedMs).toBeGreaterThanOrEqual(before);
    expect(leased!.leaseUntilMs).toBe(leased!.startedMs + TEST_LEASE_MS);
    expect(leased!.deadlineMs).toBe(leased!.startedMs + 120_000);
    const hash = await jobHash(f, q, job.id);
    expect(hash).toMatchObject({ state: "leased", attempts: "1", seq: "2", worker: "w1", token: leased!.token });
    expect(await f.redis.zscore(f.keys(q).leased, job.id)).toBe(String(leased!.leaseUntilMs));
    expect(await outboxEntries(f, q)).toEqual([
      expect.objectContaining({ job: job.id, seq: "2", type: "STARTED", status: "processing", attempt: "1", worker: "w1", actor: "worker:w1" }),
    ]);
  });

  it("gives every lease its own token", async () => {
    const q = uniqueQueue();
    await f.store.enqueue(q, [makeJob(), makeJob()]);
    const a = await f.store.lease(q, "w1", ask(1));
    const b = await f.store.lease(q, "w1", ask(1));
    expect(a[0]!.token).not.toBe(b[0]!.token);
    expect(a[0]!.token.length).toBeGreaterThan(16);
  });

  it("answers the same leases when one request runs again (a retry, or the client re-sending after a reconnect)", async () => {
    const q = uniqueQueue();
    await f.store.enqueue(q, [makeJob(), makeJob(), makeJob()]);
    const req = { ...ask(2), requestId: "req-7" };
    const first = await f.store.lease(q, "w1", req);
    const again = await f.store.lease(q, "w1", req);
    expect(again).toEqual(first);
    expect(again.map((r) => r.attempts)).toEqual([1, 1]);
    expect(await outboxEntries(f, q)).toHaveLength(2);
    // Once those leases are reported, the request leases anew; another worker's request id is its own.
    await f.store.report(q, "w1", first.map((r) => ({ id: r.id, token: r.token, outcome: "completed", body: "1", permanent: false })));
    expect((await f.store.lease(q, "w1", req)).map((r) => r.id)).toHaveLength(1);
  });

  it("leases within the byte budget, but always at least one job", async () => {
    const q = uniqueQueue();
    const big = JSON.stringify({ blob: "x".repeat(1_000) });
    await f.store.enqueue(q, [makeJob({ payloadJson: big }), makeJob({ payloadJson: big }), makeJob({ payloadJson: big })]);
    expect(await f.store.lease(q, "w1", { ...ask(10), maxBytes: 2_100 })).toHaveLength(2);
    expect(await f.store.lease(q, "w1", { ...ask(10), maxBytes: 10 })).toHaveLength(1);
  });

  it("leases only the named types, best first across them", async () => {
    const q = uniqueQueue();
    const [a1, b1, c1, a2] = [makeJob({ type: "a" }), makeJob({ type: "b", priority: 5 }), makeJob({ type: "c", priority: 9 }), makeJob({ type: "a" })];
    await f.store.enqueue(q, [a1, b1, c1, a2]);
    expect((await f.store.lease(q, "w1", { ...ask(10), types: ["a", "b"] })).map((r) => r.id)).toEqual([b1.id, a1.id, a2.id]);
    expect(await f.redis.smembers(f.keys(q).types)).toEqual(["c"]);
    expect((await f.store.lease(q, "w1", ask(10))).map((r) => r.id)).toEqual([c1.id]);
    expect(await f.redis.exists(f.keys(q).types)).toBe(0);
  });

  it("caps the first lease at the attempt deadline plus grace for short timeouts", async () => {
    const q = uniqueQueue();
    await f.store.enqueue(q, [makeJob({ timeoutMs: 1_000 })]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased!.leaseUntilMs).toBe(leased!.deadlineMs + DEADLINE_GRACE_MS);
  });
});

describe("delayed jobs and promote-delayed", () => {
  it("keeps a delayed job invisible until due, then promotes it", async () => {
    const q = uniqueQueue();
    const job = makeJob({ delayMs: 3_600_000 });
    await f.store.enqueue(q, [job]);
    expect(await f.store.lease(q, "w1", ask(1))).toEqual([]);
    expect((await f.store.promoteDelayed(q, 10)).moved).toBe(0);
    expect((await jobHash(f, q, job.id)).state).toBe("delayed");

    await backdate(f, f.keys(q).delayed, job.id);
    expect((await f.store.promoteDelayed(q, 10)).moved).toBe(1);
    expect(await f.redis.zcard(f.keys(q).delayed)).toBe(0);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased!.id).toBe(job.id);
  });

  it("schedules run_at jobs by their absolute time and runs past ones at once", async () => {
    const q = uniqueQueue();
    const now = await redisNow(f.redis);
    const later = makeJob({ runAtMs: now + 60_000 });
    const past = makeJob({ runAtMs: now - 60_000 });
    await f.store.enqueue(q, [later, past]);
    expect(await f.redis.zscore(f.keys(q).delayed, later.id)).toBe(String(now + 60_000));
    expect((await f.store.lease(q, "w1", ask(5))).map((l) => l.id)).toEqual([past.id]);
  });

  it("promotes at most the limit per call", async () => {
    const q = uniqueQueue();
    const jobs = [makeJob({ delayMs: 60_000 }), makeJob({ delayMs: 60_000 }), makeJob({ delayMs: 60_000 })];
    await f.store.enqueue(q, jobs);
    for (const j of jobs) await backdate(f, f.keys(q).delayed, j.id);
    expect((await f.store.promoteDelayed(q, 2)).moved).toBe(2);
    expect((await f.store.promoteDelayed(q, 2)).moved).toBe(1);
  });
});

describe("extend-leases", () => {
  it("extends a held lease and refuses a wrong token or unknown job", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    const results = await f.store.extend(q, [
      { id: job.id, token: leased!.token },
      { id: job.id, token: "forged:1" },
      { id: makeJob().id, token: leased!.token },
    ]);
    expect(results.map((r) => r.status)).toEqual([LeaseStatus.ACTIVE, LeaseStatus.LOST, LeaseStatus.LOST]);
    expect(results[0]!.leaseUntilMs).toBeGreaterThanOrEqual(leased!.leaseUntilMs);
    // The held attempt and Redis's clock order the progress a heartbeat carries.
    expect(results.map((r) => r.attempt)).toEqual([1, 0, 0]);
    expect(results[0]!.nowMs).toBeGreaterThanOrEqual(leased!.startedMs);
    expect(await f.redis.zscore(f.keys(q).leased, job.id)).toBe(String(results[0]!.leaseUntilMs));
  });

  it("answers LOST once the attempt deadline plus grace has passed", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    await f.redis.hset(f.keys(q).jobPrefix + job.id, "deadline", String(leased!.startedMs - DEADLINE_GRACE_MS - 1));
    const [result] = await f.store.extend(q, [{ id: job.id, token: leased!.token }]);
    expect(result!.status).toBe(LeaseStatus.LOST);
  });
});
