import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobEventType, JobStatus, LeaseStatus, ReportStatus } from "@taskflow/proto";
import { codeOf, eventually } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
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

const historyStatus = (id: string, status: JobStatus) =>
  eventually(async () => ((await s.history.getJob({ id })).job?.status === status ? true : undefined));

describe("CancelJob", () => {
  it("cancels a pending job at once and records the reason", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c1" });
    const res = await s.scheduler.cancelJob({ id: job!.id, reason: "changed my mind" });
    expect(res).toMatchObject({ id: job!.id, status: JobStatus.CANCELLED });
    expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, "c1").ready)).toBe(0);
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

  it("answers unavailable (retry) when history knows the job but Redis does not yet", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "c5" });
    await s.redis.del(queueKeys(s.config.redisKeyPrefix, "c5").jobPrefix + job!.id);
    const err = await s.scheduler.cancelJob({ id: job!.id }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.Unavailable });
    expect((err as ConnectError).rawMessage).toMatch(/retry/);
  });
});
