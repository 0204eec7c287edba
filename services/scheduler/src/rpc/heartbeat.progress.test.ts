import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { LeaseStatus, MAX_PROGRESS_DETAILS_BYTES, type Job } from "@taskflow/proto";
import { eventually, rejection, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReplica, startStack, type Stack } from "../../test/stack.js";

let s: Stack;

beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

/** Submits `n` jobs on a fresh queue and leases them as worker `w`. */
async function leased(w: string, n = 1) {
  const q = uniqueQueue();
  await s.worker.registerWorker({ workerId: w, queues: [q] });
  await s.scheduler.submitJobs({ jobs: Array.from({ length: n }, () => ({ type: "t.progress", queue: q })) });
  const { jobs } = await s.worker.leaseJobs({ workerId: w, queues: [q], maxJobs: n });
  expect(jobs).toHaveLength(n);
  return jobs.map((j) => ({ jobId: j.job!.id, queue: q, leaseToken: j.leaseToken }));
}

/** The job once history shows progress `percent` on it. */
const progressReaches = (id: string, percent: number): Promise<Job> =>
  eventually(async () => {
    const { job } = await s.history.getJob({ id });
    return job?.progress?.percent === percent ? job : undefined;
  });

describe("Heartbeat progress", () => {
  it("reaches history's job with its details, attempt and time", async () => {
    const [lease] = await leased("w-progress-1");
    const before = Date.now();
    const { leases } = await s.worker.heartbeat({
      workerId: "w-progress-1",
      leases: [{ ...lease!, progress: { percent: 42.5, details: { step: "copy", rows: 1200 } } }],
    });
    expect(leases[0]!.status).toBe(LeaseStatus.ACTIVE);
    const job = await progressReaches(lease!.jobId, 42.5);
    expect(job.progress?.details).toEqual({ step: "copy", rows: 1200 });
    expect(job.progress?.attempt).toBe(1);
    expect(Number(job.progress?.updatedAt?.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);

    // A later value replaces it; no audit event is written for progress.
    await s.worker.heartbeat({ workerId: "w-progress-1", leases: [{ ...lease!, progress: { percent: 80 } }] });
    const later = await progressReaches(lease!.jobId, 80);
    expect(later.progress?.details).toEqual({});
    const { events } = await s.history.listJobEvents({ jobId: lease!.jobId });
    expect(events.map((e) => e.type)).toHaveLength(2);
  });

  it("drops the progress of a stale lease and keeps the live attempt's", async () => {
    const [first] = await leased("w-progress-2");
    // The attempt is handed back (counted) and leased again: the first token is stale.
    await s.worker.releaseJobs({ workerId: "w-progress-2", leases: [first!], attemptsRan: true });
    const { jobs } = await s.worker.leaseJobs({ workerId: "w-progress-2", queues: [first!.queue], maxJobs: 1 });
    const second = { jobId: jobs[0]!.job!.id, queue: first!.queue, leaseToken: jobs[0]!.leaseToken };
    expect(second.leaseToken).not.toBe(first!.leaseToken);

    const { leases } = await s.worker.heartbeat({
      workerId: "w-progress-2",
      leases: [{ ...first!, progress: { percent: 99 } }],
    });
    expect(leases[0]!.status).toBe(LeaseStatus.LOST);
    await s.worker.heartbeat({ workerId: "w-progress-2", leases: [{ ...second, progress: { percent: 10 } }] });
    const job = await progressReaches(second.jobId, 10);
    expect(job.progress?.attempt).toBe(2);
  });

  it("keeps the newest value whichever replica forwards it", async () => {
    const replica = await startReplica(s);
    try {
      const [lease] = await leased("w-progress-4");
      // Beats alternate between the replicas: each forwards its own values, and history keeps the newest.
      for (const [i, via] of [s.worker, replica.worker, s.worker, replica.worker].entries()) {
        await via.heartbeat({ workerId: "w-progress-4", leases: [{ ...lease!, progress: { percent: (i + 1) * 20 } }] });
      }
      await progressReaches(lease!.jobId, 80);
      // A stale value forwarded late (an older time) never replaces it.
      await s.ingest.recordProgress({ updates: [{ jobId: lease!.jobId, progress: { percent: 5, updatedAt: timestampFromMs(Date.now() - 60_000), attempt: 1 } }] });
      expect((await s.history.getJob({ id: lease!.jobId })).job?.progress?.percent).toBe(80);
    } finally {
      await replica.close();
    }
  });

  it("refuses progress out of range or too large, extending and recording nothing", async () => {
    const [a, b] = await leased("w-progress-3", 2);
    const big = { note: "x".repeat(MAX_PROGRESS_DETAILS_BYTES) };
    const leaseUntil = () => s.redis.hget(`${s.config.redisKeyPrefix}:{${a!.queue}}:job:${a!.jobId}`, "lease_until");
    const until = await leaseUntil();
    expect(Number(until)).toBeGreaterThan(0);
    for (const bad of [{ percent: 101 }, { percent: -0.5 }, { percent: 5, details: big }]) {
      const err = await rejection(
        s.worker.heartbeat({ workerId: "w-progress-3", leases: [{ ...a!, progress: { percent: 30 } }, { ...b!, progress: bad }] }),
      );
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^leases\[1\]\.progress: (percent must be a number from 0 to 100|details must be at most 4096 bytes)/);
    }
    expect(await leaseUntil()).toBe(until);
    // A good beat after the refused ones: its value arrives, and the refused beats' values never did.
    await s.worker.heartbeat({ workerId: "w-progress-3", leases: [{ ...b!, progress: { percent: 20 } }] });
    await progressReaches(b!.jobId, 20);
    expect((await s.history.getJob({ id: a!.jobId })).job?.progress).toBeUndefined();
  });
});
