import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { LeasedJob } from "@taskflow/proto";
import { deleteKeysWithPrefix, randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReplica, startStack, type Replica, type Stack } from "../../test/stack.js";

/**
 * Every sweep a minute apart (the promotion sweep, and the loops the old promotion ran with):
 * only the timers can start a delayed job within these tests.
 */
const SLOW_SWEEPS = { SWEEP_INTERVAL_MS: "60000", PROMOTE_SWEEP_INTERVAL_MS: "60000" };
/**
 * Most ms a job may start after its due time: the timer fires a ms or so late, the long poll
 * is woken at once (a few ms in all on an idle machine); the rest absorbs a machine loaded by
 * parallel tests. A sweep would be up to its period late: here a minute.
 */
const LATE_BOUND_MS = 150;
/** A long poll that outlasts any due time here. */
const POLL = { maxJobs: 1, wait: durationFromMs(5_000) };

/** How long after its due time a leased job started, in ms (both from Redis's clock). */
const lateness = (leased: LeasedJob): number => timestampMs(leased.job!.startedAt!) - timestampMs(leased.job!.scheduledAt!);

describe("delayed jobs on one scheduler", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ env: { ...SLOW_SWEEPS, RETRY_BASE_MS: "400" } });
  });
  afterAll(async () => {
    await s.close();
  });

  it("starts a job submitted with a 300 ms delay within 150 ms of its due time", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "d1", schedule: { case: "delay", value: durationFromMs(300) } });
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["d1"], ...POLL });
    expect(jobs.map((j) => j.job!.id)).toEqual([job!.id]);
    expect(lateness(jobs[0]!)).toBeGreaterThanOrEqual(0);
    expect(lateness(jobs[0]!)).toBeLessThan(LATE_BOUND_MS);
  });

  it("starts the retry of a failed job within 150 ms of its retry time", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "d2" });
    const first = (await s.worker.leaseJobs({ workerId: "w1", queues: ["d2"], ...POLL })).jobs[0]!;
    await s.worker.reportJobs({
      workerId: "w1",
      reports: [
        { lease: { jobId: job!.id, queue: "d2", leaseToken: first.leaseToken }, outcome: { case: "failed", value: { error: "boom", permanent: false } } },
      ],
    });
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["d2"], ...POLL });
    expect(jobs[0]!.job).toMatchObject({ id: job!.id, attempts: 2 });
    // Backoff 200 to 400 ms after the failure.
    expect(timestampMs(jobs[0]!.job!.scheduledAt!)).toBeGreaterThan(timestampMs(first.job!.startedAt!) + 150);
    expect(lateness(jobs[0]!)).toBeLessThan(LATE_BOUND_MS);
  });
});

describe("delayed jobs across scheduler replicas", () => {
  let s: Stack;
  /** The replicas' own key prefix: the stack's scheduler, on another, takes no part. */
  const prefix = randomKeyPrefix();
  const env = { ...SLOW_SWEEPS, REDIS_KEY_PREFIX: prefix };
  let b: Replica;
  beforeAll(async () => {
    s = await startStack({ env: SLOW_SWEEPS });
    b = await startReplica(s, env);
  });
  afterAll(async () => {
    await b.close();
    await s.close();
    await deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`);
  });

  it("starts on time, through another replica, a job submitted to a replica that is gone by then", async () => {
    const a = await startReplica(s, env);
    const { job } = await a.scheduler.submitJob({ type: "t.x", queue: "x1", schedule: { case: "delay", value: durationFromMs(500) } });
    await a.close();
    const { jobs } = await b.worker.leaseJobs({ workerId: "w1", queues: ["x1"], ...POLL });
    expect(jobs.map((j) => j.job!.id)).toEqual([job!.id]);
    expect(lateness(jobs[0]!)).toBeLessThan(LATE_BOUND_MS);
  });

  it("starts on time a delayed job the reconciler restored from history", async () => {
    // Committed to history only (as if Redis had lost it), old enough for the reconciler, due in 3 s.
    const id = uuidv7({ msecs: Date.now() - 120_000 });
    const dueMs = Date.now() + 3_000;
    await s.ingest.insertJobs({ jobs: [{ id, type: "t.x", queue: "x2", payload: {}, maxAttempts: 3, scheduledAt: timestampFromMs(dueMs) }] });
    expect((await b.admin.reconcile({})).requeuedJobIds).toEqual([id]);
    const { jobs } = await b.worker.leaseJobs({ workerId: "w1", queues: ["x2"], ...POLL });
    expect(jobs.map((j) => j.job!.id)).toEqual([id]);
    expect(lateness(jobs[0]!)).toBeGreaterThanOrEqual(0);
    expect(lateness(jobs[0]!)).toBeLessThan(LATE_BOUND_MS);
  });
});
