import { JobStatus, ReportStatus } from "@taskflow/proto";
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
  type RedisFixture,
} from "../../test/redis-fixture.js";
import { FINISHED_JOB_TTL_MS, OutboxReader } from "./outbox.js";
import type { EnqueueJob, ReportInput } from "./queue-store.js";

const BASE_MS = 1_000;
let f: RedisFixture;
let jitter = 0;

beforeAll(async () => {
  f = await createRedisFixture({ retryBaseMs: BASE_MS, retryMaxMs: 60_000, random: () => jitter });
});
afterAll(async () => {
  await f.close();
});

async function leaseOne(q: string, job: EnqueueJob = makeJob()) {
  await f.store.enqueue(q, [job]);
  const [leased] = await f.store.lease(q, "w1", ask(1));
  return { job, token: leased!.token };
}

const completed = (id: string, token: string, result: unknown = { ok: true }): ReportInput => ({
  id, token, outcome: "completed", body: JSON.stringify(result), permanent: false,
});
const failed = (id: string, token: string, permanent = false): ReportInput => ({
  id, token, outcome: "failed", body: "boom", permanent,
});

describe("report-jobs", () => {
  it("accepts a completion, then answers a repeat DUPLICATE and a stranger LEASE_LOST", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q);
    const [first] = await f.store.report(q, "w1", [completed(job.id, token, { sum: 3 })]);
    expect(first).toEqual({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.COMPLETED });
    const [again] = await f.store.report(q, "w1", [completed(job.id, token)]);
    expect(again).toEqual({ status: ReportStatus.DUPLICATE, jobStatus: JobStatus.COMPLETED });
    const [stranger] = await f.store.report(q, "w2", [failed(job.id, "forged:1")]);
    expect(stranger).toEqual({ status: ReportStatus.LEASE_LOST, jobStatus: JobStatus.COMPLETED });

    const hash = await jobHash(f, q, job.id);
    expect(hash).toMatchObject({ state: "done", status: "completed", seq: "3" });
    expect(hash.payload).toBeUndefined();
    // No expiry until history has recorded the end (the forwarder sets it then).
    expect(await f.redis.pttl(f.keys(q).jobPrefix + job.id)).toBe(-1);
    expect(await f.redis.zscore(f.keys(q).leased, job.id)).toBeNull();
    const events = await outboxEntries(f, q);
    expect(events.map((e) => e.type)).toEqual(["STARTED", "COMPLETED"]);
    expect(events[1]).toMatchObject({ seq: "3", status: "completed", result: '{"sum":3}', actor: "worker:w1" });
  });

  it("refuses a report under a lease lost to a newer attempt, and keeps the newer outcome", async () => {
    const q = uniqueQueue();
    const { job, token: old } = await leaseOne(q);
    await backdate(f, f.keys(q).leased, job.id);
    expect(await f.store.expireLeases(q, 10)).toMatchObject({ requeued: 1, ended: 0 });
    const [second] = await f.store.lease(q, "w2", ask(1));
    expect(second!.attempts).toBe(2);

    const [stale] = await f.store.report(q, "w1", [completed(job.id, old)]);
    expect(stale!.status).toBe(ReportStatus.LEASE_LOST);
    const [fresh] = await f.store.report(q, "w2", [failed(job.id, second!.token, true)]);
    expect(fresh).toEqual({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.FAILED });
    const [late] = await f.store.report(q, "w1", [completed(job.id, old)]);
    expect(late!.status).toBe(ReportStatus.LEASE_LOST);
    expect((await jobHash(f, q, job.id)).status).toBe("failed");
  });

  it("keeps a completion reported late, while no newer attempt has started, without running the job again", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q);
    // The worker's report was lost in transit until its lease ran out.
    await backdate(f, f.keys(q).leased, job.id);
    expect(await f.store.expireLeases(q, 10)).toMatchObject({ requeued: 1 });
    const [late] = await f.store.report(q, "w1", [completed(job.id, token, { done: 1 })]);
    expect(late).toEqual({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.COMPLETED });
    expect(await jobHash(f, q, job.id)).toMatchObject({ state: "done", status: "completed", attempts: "1" });
    expect(await f.store.lease(q, "w2", ask(1))).toEqual([]);
    const events = await outboxEntries(f, q);
    expect(events.map((e) => [e.type, e.attempt, e.lease])).toEqual([
      ["STARTED", "1", token],
      ["LEASE_EXPIRED", "1", token],
      ["COMPLETED", "1", token],
    ]);
    expect(JSON.parse(events[2]!.details!)).toEqual({ late_report: true });
    // Retried again, it is a duplicate.
    expect((await f.store.report(q, "w1", [completed(job.id, token)]))[0]!.status).toBe(ReportStatus.DUPLICATE);
  });

  it("refuses a late failure: the job already waits for its next attempt", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q);
    await backdate(f, f.keys(q).leased, job.id);
    await f.store.expireLeases(q, 10);
    expect((await f.store.report(q, "w1", [failed(job.id, token)]))[0]!.status).toBe(ReportStatus.LEASE_LOST);
    expect((await jobHash(f, q, job.id)).state).toBe("ready");
  });

  it("answers LEASE_LOST with no status for a job Redis does not know", async () => {
    const [r] = await f.store.report(uniqueQueue(), "w1", [completed(makeJob().id, "x:1")]);
    expect(r).toEqual({ status: ReportStatus.LEASE_LOST, jobStatus: JobStatus.UNSPECIFIED });
  });

  it("schedules a retry with exponential backoff and jitter inside its bounds", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q, makeJob({ maxAttempts: 5 }));
    jitter = 0;
    let before = await redisNow(f.redis);
    const [r1] = await f.store.report(q, "w1", [failed(job.id, token)]);
    let after = await redisNow(f.redis);
    expect(r1).toEqual({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.PENDING });
    // Attempt 1: base * 2^0 * (0.5 + 0.5 * 0) = base / 2.
    let due = Number(await f.redis.zscore(f.keys(q).delayed, job.id));
    expect(due).toBeGreaterThanOrEqual(before + BASE_MS / 2);
    expect(due).toBeLessThanOrEqual(after + BASE_MS / 2);
    const events = await outboxEntries(f, q);
    expect(events.at(-1)).toMatchObject({ type: "RETRY_SCHEDULED", status: "pending", error: "boom", attempt: "1" });
    expect(JSON.parse(events.at(-1)!.details!)).toMatchObject({ retry_at_ms: due });
    expect((await jobHash(f, q, job.id)).state).toBe("delayed");

    await backdate(f, f.keys(q).delayed, job.id);
    await f.store.promoteDelayed(q, 10);
    const [second] = await f.store.lease(q, "w1", ask(1));
    jitter = 0.999999;
    before = await redisNow(f.redis);
    await f.store.report(q, "w1", [failed(job.id, second!.token)]);
    after = await redisNow(f.redis);
    // Attempt 2: base * 2^1 * (0.5 + 0.5 * r), just under 2 * base.
    due = Number(await f.redis.zscore(f.keys(q).delayed, job.id));
    expect(due).toBeGreaterThanOrEqual(before + 2 * BASE_MS - 1);
    expect(due).toBeLessThanOrEqual(after + 2 * BASE_MS);
  });

  it("caps the backoff at the configured maximum", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q, makeJob({ maxAttempts: 50 }));
    await f.redis.hset(f.keys(q).jobPrefix + job.id, "attempts", 30);
    jitter = 0.999999;
    const before = await redisNow(f.redis);
    await f.store.report(q, "w1", [failed(job.id, token)]);
    const after = await redisNow(f.redis);
    // The script reads Redis's clock between `before` and `after`, and adds at most the cap.
    const due = Number(await f.redis.zscore(f.keys(q).delayed, job.id));
    expect(due).toBeLessThanOrEqual(after + 60_000);
    expect(due).toBeGreaterThan(before + 59_000);
  });

  it("fails a job for good after its last attempt", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q, makeJob({ maxAttempts: 1 }));
    const [r] = await f.store.report(q, "w1", [failed(job.id, token)]);
    expect(r).toEqual({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.FAILED });
    expect(await f.redis.zcard(f.keys(q).delayed)).toBe(0);
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "FAILED", status: "failed", error: "boom" });
  });

  it("fails a job for good on a permanent failure whatever attempts remain", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q, makeJob({ maxAttempts: 10 }));
    const [r] = await f.store.report(q, "w1", [failed(job.id, token, true)]);
    expect(r!.jobStatus).toBe(JobStatus.FAILED);
    expect((await jobHash(f, q, job.id)).state).toBe("done");
  });

  it("answers a batch per report, in request order", async () => {
    const q = uniqueQueue();
    const a = await leaseOne(q);
    const b = await leaseOne(q);
    const results = await f.store.report(q, "w1", [
      completed(b.job.id, b.token),
      completed(a.job.id, "forged:2"),
      failed(a.job.id, a.token, true),
    ]);
    expect(results.map((r) => r.status)).toEqual([ReportStatus.ACCEPTED, ReportStatus.LEASE_LOST, ReportStatus.ACCEPTED]);
  });

  it("numbers each job's outbox events consecutively, in stream order", async () => {
    const q = uniqueQueue();
    const { job, token } = await leaseOne(q, makeJob({ maxAttempts: 3 }));
    await f.store.report(q, "w1", [failed(job.id, token)]);
    await backdate(f, f.keys(q).delayed, job.id);
    await f.store.promoteDelayed(q, 10);
    const [second] = await f.store.lease(q, "w1", ask(1));
    await backdate(f, f.keys(q).leased, job.id);
    await f.store.expireLeases(q, 10);
    const [third] = await f.store.lease(q, "w1", ask(1));
    await f.store.report(q, "w1", [completed(job.id, third!.token)]);
    expect(second!.attempts).toBe(2);

    const events = (await outboxEntries(f, q)).filter((e) => e.job === job.id);
    expect(events.map((e) => [e.seq, e.type, e.attempt])).toEqual([
      ["2", "STARTED", "1"],
      ["3", "RETRY_SCHEDULED", "1"],
      ["4", "STARTED", "2"],
      ["5", "LEASE_EXPIRED", "2"],
      ["6", "STARTED", "3"],
      ["7", "COMPLETED", "3"],
    ]);
  });
});

describe("the outbox acknowledgement", () => {
  it("gives a finished job's hash its expiry, and leaves a live hash that took a tombstone's place without one", async () => {
    const q = uniqueQueue();
    const k = f.keys(q);
    const { job, token } = await leaseOne(q);
    await f.store.report(q, "w1", [completed(job.id, token)]);
    // A second job's hash is live again (an operator's retry replaced its tombstone) when a late
    // acknowledgement of its old end comes.
    const live = makeJob();
    await f.store.enqueue(q, [live]);
    const reader = new OutboxReader(f.redis, f.store.keyPrefix, "c1");
    await reader.ack(q, { ids: ["0-1"], ended: [job.id, live.id] });
    expect(await f.redis.pttl(k.job(job.id))).toBeGreaterThan(FINISHED_JOB_TTL_MS - 60_000);
    expect(await f.redis.pttl(k.job(live.id))).toBe(-1);
  });
});
