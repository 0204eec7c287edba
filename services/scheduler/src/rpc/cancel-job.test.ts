import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { JobEventType, JobStatus, LeaseStatus, ReportStatus } from "@taskflow/proto";
import { codeOf, eventually } from "@taskflow/testkit";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJob } from "../../test/redis-fixture.js";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";
import { QueueStore } from "../redis/queue-store.js";
import { RecoveryStore } from "../redis/recovery-store.js";
import { createHistoryClient } from "../history-client.js";
import { cancelLostJob } from "./cancel-lost-job.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const historyStatus = (id: string, status: JobStatus) =>
  eventually(async () => ((await s.history.getJob({ id })).job?.status === status ? true : undefined));

/** What cancelLostJob needs, on the stack's Redis and history. */
function deps() {
  return {
    store: new QueueStore({ ...s.config, redis: s.redis, keyPrefix: s.config.redisKeyPrefix }),
    recovery: new RecoveryStore(s.redis, s.config.redisKeyPrefix),
    history: createHistoryClient(s.historyInternalUrl),
    logger: pino({ level: "silent" }),
    eventsWritten: () => undefined,
  };
}

describe("CancelJob", () => {
  it("cancels a pending job at once and records the reason", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c1" });
    const res = await s.scheduler.cancelJob({ id: job!.id, reason: "changed my mind" });
    expect(res).toMatchObject({ id: job!.id, status: JobStatus.CANCELLED });
    expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, "c1").ready("t.x"))).toBe(0);
    await historyStatus(job!.id, JobStatus.CANCELLED);
    const { events } = await s.history.listJobEvents({ jobId: job!.id });
    expect(events.at(-1)).toMatchObject({ type: JobEventType.CANCELLED, actor: "api" });
    expect(events.at(-1)!.details).toEqual({ reason: "changed my mind" });
    expect((await s.worker.leaseJobs({ workerId: "w1", queues: ["c1"], maxJobs: 1 })).jobs).toEqual([]);
  });

  it("cancels a delayed job at once", async () => {
    const { job } = await s.scheduler.submitJob({
      type: "t.x", queue: "c2", schedule: { case: "delay", value: durationFromMs(3_600_000) },
    });
    expect((await s.scheduler.cancelJob({ id: job!.id })).status).toBe(JobStatus.CANCELLED);
    await historyStatus(job!.id, JobStatus.CANCELLED);
  });

  it("asks a running job's worker to stop; the job ends CANCELLED when it reports", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c3" });
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["c3"], maxJobs: 1 });
    const lease = { jobId: job!.id, queue: "c3", leaseToken: jobs[0]!.leaseToken };
    expect((await s.scheduler.cancelJob({ id: job!.id })).status).toBe(JobStatus.PROCESSING);
    const beat = await s.worker.heartbeat({ workerId: "w1", leases: [lease] });
    expect(beat.leases[0]!.status).toBe(LeaseStatus.CANCEL_REQUESTED);
    const { results } = await s.worker.reportJobs({
      workerId: "w1", reports: [{ lease, outcome: { case: "failed", value: { error: "cancelled by request" } } }],
    });
    expect(results[0]).toMatchObject({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.CANCELLED });
    await historyStatus(job!.id, JobStatus.CANCELLED);
  });

  it("refuses a finished job with failed_precondition", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c4" });
    await s.scheduler.cancelJob({ id: job!.id });
    // Finished in Redis before history hears of it, then in both.
    expect(await codeOf(s.scheduler.cancelJob({ id: job!.id }))).toBe(Code.FailedPrecondition);
    await historyStatus(job!.id, JobStatus.CANCELLED);
    expect(await codeOf(s.scheduler.cancelJob({ id: job!.id }))).toBe(Code.FailedPrecondition);
  });

  it("answers not_found for an unknown id and invalid_argument for a malformed one", async () => {
    expect(await codeOf(s.scheduler.cancelJob({ id: uuidv7() }))).toBe(Code.NotFound);
    expect(await codeOf(s.scheduler.cancelJob({ id: "nope" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(s.scheduler.cancelJob({ id: "" }))).toBe(Code.InvalidArgument);
  });

  it("cancels a job Redis does not hold, and a late enqueue of it creates nothing", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c5" });
    const k = queueKeys(s.config.redisKeyPrefix, "c5");
    await s.redis.multi().del(k.jobPrefix + job!.id).zrem(k.ready("t.x"), job!.id).exec();

    const res = await s.scheduler.cancelJob({ id: job!.id, reason: "lost anyway" });
    expect(res).toMatchObject({ id: job!.id, status: JobStatus.CANCELLED });
    const { job: stored } = await s.history.getJob({ id: job!.id });
    expect(stored).toMatchObject({ status: JobStatus.CANCELLED, lastEventSeq: 2 });
    const { events } = await s.history.listJobEvents({ jobId: job!.id });
    expect(events.map((e) => [e.seq, e.type, e.actor])).toEqual([
      [1, JobEventType.SUBMITTED, "api"],
      [2, JobEventType.CANCELLED, "api"],
    ]);
    expect(events[1]!.details).toEqual({ reason: "lost anyway" });

    // The submit's enqueue arriving only now (the race with a concurrent submit) finds the tombstone.
    const store = new QueueStore({ ...s.config, redis: s.redis, keyPrefix: s.config.redisKeyPrefix });
    expect((await store.enqueue("c5", [makeJob({ id: job!.id, type: "t.x" })])).created).toBe(0);
    expect(await s.redis.zcard(k.ready("t.x"))).toBe(0);
    expect((await s.worker.leaseJobs({ workerId: "w1", queues: ["c5"], maxJobs: 1 })).jobs).toEqual([]);
    expect(await codeOf(s.scheduler.cancelJob({ id: job!.id }))).toBe(Code.FailedPrecondition);
  });

  it("cancels the live copy when the enqueue reached Redis before the tombstone", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c6" });
    const { job: stored } = await s.history.getJob({ id: job!.id });
    // As if CancelJob had found the job missing a moment before the submit's enqueue landed.
    expect(await cancelLostJob(deps(), stored!, { reason: "", actor: "api" }, AbortSignal.timeout(5_000))).toBe(JobStatus.CANCELLED);
    const k = queueKeys(s.config.redisKeyPrefix, "c6");
    expect(await s.redis.hget(k.jobPrefix + job!.id, "status")).toBe("cancelled");
    expect(await s.redis.zcard(k.ready("t.x"))).toBe(0);
    await eventually(async () => ((await s.redis.xlen(k.outbox)) === 0 ? true : undefined));
    const { events } = await s.history.listJobEvents({ jobId: job!.id });
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, JobEventType.SUBMITTED],
      [2, JobEventType.CANCELLED],
    ]);
  });

  it("never runs a job after answering CANCELLED, even when its enqueue and a worker race the cancel", async () => {
    // Committed to history by a submit whose enqueue has not reached Redis yet.
    const id = uuidv7();
    const [stored] = (await s.ingest.insertJobs({ jobs: [{ id, type: "t.x", queue: "c7", payload: {}, maxAttempts: 3 }] })).jobs;
    const store = new QueueStore({ ...s.config, redis: s.redis, keyPrefix: s.config.redisKeyPrefix });
    const real = createHistoryClient(s.historyInternalUrl);
    let raced = false;
    // Right after the cancel's write to history, the enqueue lands and a worker runs the job.
    const history = {
      ...real,
      appendEvents: async (...args: Parameters<typeof real.appendEvents>) => {
        const res = await real.appendEvents(...args);
        if (!raced) {
          raced = true;
          await store.enqueue("c7", [makeJob({ id, type: "t.x" })]);
          const { jobs } = await s.worker.leaseJobs({ workerId: "racer", queues: ["c7"], maxJobs: 1 });
          for (const j of jobs) {
            const lease = { jobId: id, queue: "c7", leaseToken: j.leaseToken };
            await s.worker.reportJobs({ workerId: "racer", reports: [{ lease, outcome: { case: "completed", value: {} } }] });
          }
        }
        return res;
      },
    };
    const status = await cancelLostJob({ ...deps(), history }, stored!, { reason: "", actor: "api" }, AbortSignal.timeout(5_000));
    expect(status).toBe(JobStatus.CANCELLED);
    expect(raced).toBe(true);
    await eventually(async () => ((await s.redis.xlen(queueKeys(s.config.redisKeyPrefix, "c7").outbox)) === 0 ? true : undefined));
    const { events } = await s.history.listJobEvents({ jobId: id });
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, JobEventType.SUBMITTED],
      [2, JobEventType.CANCELLED],
    ]);
    expect((await s.history.getJob({ id })).job!.status).toBe(JobStatus.CANCELLED);
  });
});
