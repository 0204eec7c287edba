import { JobEventType, JobStatus, type JobEvent } from "@taskflow/proto";
import { leaseIdOf } from "@taskflow/history";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

async function submitAndLease(queue: string, maxAttempts: number) {
  const { job } = await s.scheduler.submitJob({ type: "t.echo", queue, payload: {}, maxAttempts });
  const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: [queue], maxJobs: 1 });
  expect(jobs[0]!.job!.id).toBe(job!.id);
  return { id: job!.id, lease: { jobId: job!.id, queue, leaseToken: jobs[0]!.leaseToken } };
}

const jobHash = (queue: string, id: string) => s.redis.hgetall(queueKeys(s.config.redisKeyPrefix, queue).jobPrefix + id);

/** History's events of the job once there are `count` (the forwarder runs on its own). */
const eventsOf = (id: string, count: number): Promise<JobEvent[]> =>
  eventually(async () => {
    const { events } = await s.history.listJobEvents({ jobId: id });
    return events.length >= count ? events : undefined;
  });

describe("ReleaseJobs", () => {
  it("without attempts_ran gives the attempt back: RELEASED, worker_released", async () => {
    const q = uniqueQueue();
    const { id, lease } = await submitAndLease(q, 3);
    expect(await s.worker.releaseJobs({ workerId: "w1", leases: [lease] })).toMatchObject({ released: 1 });
    expect(await jobHash(q, id)).toMatchObject({ state: "ready", status: "pending", attempts: "0" });
    const released = (await eventsOf(id, 3))[2];
    expect(released).toMatchObject({ type: JobEventType.RELEASED, reason: "worker_released", attempt: 0 });
  });

  it("with attempts_ran keeps the attempt: RELEASED, handler_stopped, and the next lease is attempt 2", async () => {
    const q = uniqueQueue();
    const { id, lease } = await submitAndLease(q, 3);
    expect(await s.worker.releaseJobs({ workerId: "w1", leases: [lease], attemptsRan: true })).toMatchObject({ released: 1 });
    expect(await jobHash(q, id)).toMatchObject({ state: "ready", status: "pending", attempts: "1", token: "" });
    const released = (await eventsOf(id, 3))[2];
    expect(released).toMatchObject({
      type: JobEventType.RELEASED,
      status: JobStatus.PENDING,
      reason: "handler_stopped",
      attempt: 1,
      workerId: "w1",
      leaseId: leaseIdOf(lease.leaseToken),
    });
    const { jobs } = await s.worker.leaseJobs({ workerId: "w2", queues: [q], maxJobs: 1 });
    expect(jobs[0]?.job).toMatchObject({ id, attempts: 2 });
  });

  it("with attempts_ran on the last attempt fails the job: FAILED, attempts_exhausted", async () => {
    const q = uniqueQueue();
    const { id, lease } = await submitAndLease(q, 1);
    expect(await s.worker.releaseJobs({ workerId: "w1", leases: [lease], attemptsRan: true })).toMatchObject({ released: 1 });
    const hash = await jobHash(q, id);
    expect(hash).toMatchObject({ state: "done", status: "failed", attempts: "1" });
    expect(hash.payload).toBeUndefined();
    // Kept until history records the end; then it expires.
    await eventually(async () => ((await s.redis.pttl(queueKeys(s.config.redisKeyPrefix, q).jobPrefix + id)) > 0 ? true : undefined));
    const failed = (await eventsOf(id, 3))[2];
    expect(failed).toMatchObject({
      type: JobEventType.FAILED,
      status: JobStatus.FAILED,
      reason: "attempts_exhausted",
      error: "handler stopped on worker shutdown",
      attempt: 1,
      leaseId: leaseIdOf(lease.leaseToken),
    });
    const { job } = await s.history.getJob({ id });
    expect(job).toMatchObject({ status: JobStatus.FAILED, attempts: 1, error: "handler stopped on worker shutdown" });
    const { jobs } = await s.worker.leaseJobs({ workerId: "w2", queues: [q], maxJobs: 1 });
    expect(jobs).toEqual([]);
    // The same release again finds no lease: nothing changes.
    expect(await s.worker.releaseJobs({ workerId: "w1", leases: [lease], attemptsRan: true })).toMatchObject({ released: 0 });
  });

  it("with attempts_ran still ends a job whose cancel was requested CANCELLED", async () => {
    const q = uniqueQueue();
    const { id, lease } = await submitAndLease(q, 3);
    await s.scheduler.cancelJob({ id, reason: "not needed" });
    expect(await s.worker.releaseJobs({ workerId: "w1", leases: [lease], attemptsRan: true })).toMatchObject({ released: 1 });
    expect(await jobHash(q, id)).toMatchObject({ state: "done", status: "cancelled" });
    const cancelled = (await eventsOf(id, 3)).at(-1);
    expect(cancelled).toMatchObject({ type: JobEventType.CANCELLED, reason: "cancel_requested", attempt: 1 });
  });
});
