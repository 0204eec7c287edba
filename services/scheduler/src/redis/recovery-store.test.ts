import { Redis } from "ioredis";
import { testRedisUrl, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, createRedisFixture, jobHash, makeJob, outboxEntries, redisNow, type RedisFixture } from "../../test/redis-fixture.js";
import { RecoveryStore, RestoreOutcome, type RestoreJob } from "./recovery-store.js";

let f: RedisFixture;
let recovery: RecoveryStore;

beforeAll(async () => {
  f = await createRedisFixture();
  recovery = new RecoveryStore(f.redis, f.prefix);
});
afterAll(async () => {
  await f.close();
});

function lostJob(over: Partial<RestoreJob> = {}): RestoreJob {
  const { id, type, payloadJson, priority, maxAttempts, timeoutMs, createdMs } = makeJob();
  return {
    id, type, payloadJson, priority, maxAttempts, timeoutMs, createdMs,
    attempts: 0, seq: 1, scheduledMs: 0, processing: false, workerId: "", ...over,
  };
}

describe("restore", () => {
  it("puts back pending jobs as ready or delayed, continuing their seq and keeping attempts, and records nothing", async () => {
    const q = uniqueQueue();
    const due = lostJob({ attempts: 1, seq: 4, scheduledMs: Date.now() - 1_000 });
    const later = lostJob({ scheduledMs: (await redisNow(f.redis)) + 3_600_000 });
    expect(await recovery.restore(q, [due, later])).toEqual([RestoreOutcome.Ready, RestoreOutcome.Delayed]);
    expect(await jobHash(f, q, due.id)).toMatchObject({ state: "ready", status: "pending", seq: "4", attempts: "1", queue: q });
    expect(await f.redis.zscore(f.keys(q).ready("test.echo"), due.id)).not.toBeNull();
    expect(Number(await f.redis.zscore(f.keys(q).delayed, later.id))).toBe(later.scheduledMs);
    expect(await outboxEntries(f, q)).toEqual([]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased).toMatchObject({ id: due.id, attempts: 2 });
    expect((await outboxEntries(f, q))[0]).toMatchObject({ type: "STARTED", seq: "5", attempt: "2" });
  });

  it("recovers a job that was running as an expired lease: ready again, or failed after its last attempt", async () => {
    const q = uniqueQueue();
    const running = lostJob({ processing: true, attempts: 1, maxAttempts: 3, seq: 2, workerId: "w9" });
    const last = lostJob({ processing: true, attempts: 2, maxAttempts: 2, seq: 5, workerId: "w9" });
    expect(await recovery.restore(q, [running, last])).toEqual([RestoreOutcome.LeaseExpired, RestoreOutcome.Failed]);
    expect(await outboxEntries(f, q)).toMatchObject([
      { job: running.id, seq: "3", type: "LEASE_EXPIRED", status: "pending", attempt: "1", worker: "w9", actor: "scheduler:reconcile" },
      { job: last.id, seq: "6", type: "LEASE_EXPIRED", status: "failed", attempt: "2", error: "lease lost with Redis data" },
    ]);
    expect(await jobHash(f, q, running.id)).toMatchObject({ state: "ready", status: "pending" });
    expect(await jobHash(f, q, last.id)).toMatchObject({ state: "done", status: "failed" });
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(1);
  });

  it("leaves a job Redis holds alone", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    expect(await recovery.restore(q, [lostJob({ id: job.id, seq: 9, processing: true })])).toEqual([RestoreOutcome.Present]);
    expect(await jobHash(f, q, job.id)).toMatchObject({ seq: "1", state: "ready" });
    expect(await outboxEntries(f, q)).toEqual([]);
  });

  it("replaces a stale tombstone (a finished job history has reopened) whole, and leaves a current one alone", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    await f.store.cancel(q, job.id, { reason: "", actor: "api" });
    await f.redis.pexpire(f.keys(q).job(job.id), 60_000);
    // The cancel's tombstone is at seq 2: history holding seq 2 is the same end, seq 3 a retry.
    expect(await recovery.missing(q, [{ id: job.id, seq: 2 }])).toEqual([]);
    expect(await recovery.restore(q, [lostJob({ id: job.id, seq: 2 })])).toEqual([RestoreOutcome.Present]);
    expect(await recovery.missing(q, [{ id: job.id, seq: 3 }])).toEqual([job.id]);
    expect(await recovery.restore(q, [lostJob({ id: job.id, seq: 3 })])).toEqual([RestoreOutcome.Ready]);
    const hash = await jobHash(f, q, job.id);
    expect(hash).toMatchObject({ state: "ready", status: "pending", seq: "3", attempts: "0" });
    expect(hash.cancel_by).toBeUndefined();
    expect(await f.redis.pttl(f.keys(q).job(job.id))).toBe(-1);
    // Restored once: a second call finds the live job.
    expect(await recovery.restore(q, [lostJob({ id: job.id, seq: 3 })])).toEqual([RestoreOutcome.Present]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(leased).toMatchObject({ id: job.id, attempts: 1 });
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "STARTED", seq: "4", attempt: "1" });
  });

  it("restores each job once when two replicas restore the same jobs at the same time", async () => {
    const q = uniqueQueue();
    const other = new Redis(testRedisUrl());
    try {
      const jobs = Array.from({ length: 50 }, () => lostJob({ processing: true, attempts: 1 }));
      const [a, b] = await Promise.all([
        recovery.restore(q, jobs),
        new RecoveryStore(other, f.prefix).restore(q, [...jobs].reverse()),
      ]);
      const restoredTwice = jobs.filter((_, i) => a[i] !== RestoreOutcome.Present && b[jobs.length - 1 - i] !== RestoreOutcome.Present);
      const restoredOnce = jobs.filter((_, i) => (a[i] !== RestoreOutcome.Present) !== (b[jobs.length - 1 - i] !== RestoreOutcome.Present));
      expect(restoredTwice).toEqual([]);
      expect(restoredOnce).toHaveLength(50);
      expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(50);
      expect(await outboxEntries(f, q)).toHaveLength(50);
    } finally {
      await other.quit();
    }
  });
});

describe("missing, drop, scan and bury", () => {
  it("tells which jobs Redis lacks", async () => {
    const q = uniqueQueue();
    const held = makeJob();
    await f.store.enqueue(q, [held]);
    const lost = makeJob().id;
    expect(await recovery.missing(q, [{ id: held.id, seq: 1 }, { id: lost, seq: 1 }])).toEqual([lost]);
    expect(await recovery.missing(q, [])).toEqual([]);
  });

  it("drops jobs from every set and deletes their hashes, idempotently", async () => {
    const q = uniqueQueue();
    const [ready, leased, delayed] = [makeJob(), makeJob(), makeJob({ delayMs: 3_600_000 })];
    await f.store.enqueue(q, [leased]);
    await f.store.lease(q, "w1", ask(1));
    await f.store.enqueue(q, [ready, delayed]);
    const ids = [ready.id, leased.id, delayed.id];
    expect(await recovery.drop(q, ids.map((id) => ({ id, seenType: "" })))).toBe(3);
    const k = f.keys(q);
    expect(await Promise.all([f.redis.zcard(k.ready("test.echo")), f.redis.zcard(k.leased), f.redis.zcard(k.delayed)])).toEqual([0, 0, 0]);
    expect(await recovery.missing(q, ids.map((id) => ({ id, seq: 1 })))).toEqual(ids);
    expect(await recovery.drop(q, ids.map((id) => ({ id, seenType: "" })))).toBe(0);
  });

  it("walks a large set in bounded steps and sees every member", async () => {
    const key = `${f.prefix}:{scan}:ready`;
    const members = Array.from({ length: 1_200 }, (_, i) => `m${i}`);
    await f.redis.zadd(key, ...members.flatMap((m, i) => [i, m]));
    const seen = new Set<string>();
    let steps = 0;
    let cursor = "0";
    do {
      const step = await recovery.scan(key, cursor, 100);
      step.ids.forEach((id) => seen.add(id));
      expect(step.ids.length).toBeLessThan(400);
      cursor = step.cursor;
      steps += 1;
    } while (cursor !== "0");
    expect(steps).toBeGreaterThan(3);
    expect(seen.size).toBe(1_200);
  });

  it("buries a job Redis lacks with its CANCELLED event, so a late enqueue creates nothing, and leaves a held one alone", async () => {
    const q = uniqueQueue();
    const late = makeJob();
    const by = { actor: "api:ops", reason: "not needed" };
    const before = await redisNow(f.redis);
    const at = await recovery.bury({ id: late.id, queue: q, type: late.type, lastSeq: 1, attempts: 0 }, by);
    // The time of the event, on Redis's clock: during the call.
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(await redisNow(f.redis));
    expect((await f.store.enqueue(q, [late])).created).toBe(0);
    expect(await jobHash(f, q, late.id)).toMatchObject({ state: "done", status: "cancelled", seq: "2" });
    // Kept until history has recorded the cancel.
    expect(await f.redis.pttl(f.keys(q).jobPrefix + late.id)).toBe(-1);
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(0);
    expect(await outboxEntries(f, q)).toEqual([
      expect.objectContaining({
        job: late.id, seq: "2", type: "CANCELLED", status: "cancelled", actor: "api:ops", reason: "cancel_requested",
        details: JSON.stringify({ reason: "not needed" }), at: String(at),
      }),
    ]);
    const held = makeJob();
    await f.store.enqueue(q, [held]);
    expect(await recovery.bury({ id: held.id, queue: q, type: held.type, lastSeq: 1, attempts: 0 }, by)).toBeUndefined();
    expect((await jobHash(f, q, held.id)).state).toBe("ready");
  });
});
