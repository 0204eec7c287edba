import { fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobEventType, JobStatus, LeaseStatus, ReportStatus, type JobReportSchema, type Lease } from "@taskflow/proto";
import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ env: { RETRY_BASE_MS: "60000" } });
});
afterAll(async () => {
  await s.close();
});

async function submitAndLease(queue: string, workerId: string, maxAttempts = 3) {
  const { job } = await s.scheduler.submitJob({ type: "t.echo", queue, payload: { x: 1 }, maxAttempts });
  const { jobs } = await s.worker.leaseJobs({ workerId, queues: [queue], maxJobs: 1 });
  expect(jobs[0]!.job!.id).toBe(job!.id);
  return { id: job!.id, lease: { jobId: job!.id, queue, leaseToken: jobs[0]!.leaseToken } };
}

type ReportInit = MessageInitShape<typeof JobReportSchema>;
type LeaseInit = Pick<Lease, "jobId" | "queue" | "leaseToken">;

const completed = (lease: LeaseInit, result: JsonValue): ReportInit => ({
  lease,
  outcome: { case: "completed", value: { result: fromJson(ValueSchema, result) } },
});
const failed = (lease: LeaseInit | undefined, error: string, permanent = false): ReportInit => ({
  lease,
  outcome: { case: "failed", value: { error, permanent } },
});

/** History's view of the job once it reaches `status` (the forwarder runs on its own). */
const historyJob = (id: string, status: JobStatus) =>
  eventually(async () => {
    const { job } = await s.history.getJob({ id });
    return job?.status === status ? job : undefined;
  });

describe("submit → lease → heartbeat → report", () => {
  it("records the whole lifecycle in history, in order", async () => {
    await s.worker.registerWorker({ workerId: "w-flow", queues: ["flow"], jobTypes: ["t.echo"], concurrency: 2 });
    const { id, lease } = await submitAndLease("flow", "w-flow");
    const beat = await s.worker.heartbeat({ workerId: "w-flow", leases: [lease] });
    expect(beat.leases).toMatchObject([{ jobId: id, status: LeaseStatus.ACTIVE }]);
    const { results } = await s.worker.reportJobs({ workerId: "w-flow", reports: [completed(lease, "done!")] });
    expect(results).toMatchObject([{ jobId: id, status: ReportStatus.ACCEPTED, jobStatus: JobStatus.COMPLETED }]);

    const job = await historyJob(id, JobStatus.COMPLETED);
    expect(job).toMatchObject({ attempts: 1, workerId: "w-flow" });
    expect(job.result?.kind).toEqual({ case: "stringValue", value: "done!" });
    const { events } = await s.history.listJobEvents({ jobId: id });
    expect(events.map((e) => [e.seq, e.type, e.status])).toEqual([
      [1, JobEventType.SUBMITTED, JobStatus.PENDING],
      [2, JobEventType.STARTED, JobStatus.PROCESSING],
      [3, JobEventType.COMPLETED, JobStatus.COMPLETED],
    ]);
    expect(events[2]).toMatchObject({ actor: "worker:w-flow", workerId: "w-flow", attempt: 1 });
    const outbox = queueKeys(s.config.redisKeyPrefix, "flow").outbox;
    await eventually(async () => ((await s.redis.xlen(outbox)) === 0 ? true : undefined));
  });

  it("answers a retried report DUPLICATE without changing anything", async () => {
    const { id, lease } = await submitAndLease("dup", "w1");
    await s.worker.reportJobs({ workerId: "w1", reports: [completed(lease, 1)] });
    const { results } = await s.worker.reportJobs({ workerId: "w1", reports: [completed(lease, 2)] });
    expect(results).toMatchObject([{ jobId: id, status: ReportStatus.DUPLICATE, jobStatus: JobStatus.COMPLETED }]);
  });

  it("schedules a retry, recorded as RETRY_SCHEDULED with the error", async () => {
    const { id, lease } = await submitAndLease("retry", "w1");
    const { results } = await s.worker.reportJobs({ workerId: "w1", reports: [failed(lease, "smtp down")] });
    expect(results[0]).toMatchObject({ status: ReportStatus.ACCEPTED, jobStatus: JobStatus.PENDING });
    const events = await eventually(async () => {
      const { events } = await s.history.listJobEvents({ jobId: id });
      return events.length === 3 ? events : undefined;
    });
    expect(events[2]).toMatchObject({ type: JobEventType.RETRY_SCHEDULED, status: JobStatus.PENDING, error: "smtp down" });
    expect(events[2]!.details).toHaveProperty("retry_at_ms");
    expect((await s.history.getJob({ id })).job).toMatchObject({ status: JobStatus.PENDING, error: "smtp down" });
  });

  it("fails a job for good on a permanent failure", async () => {
    const { id, lease } = await submitAndLease("perm", "w1");
    await s.worker.reportJobs({ workerId: "w1", reports: [failed(lease, "bad input", true)] });
    expect(await historyJob(id, JobStatus.FAILED)).toMatchObject({ error: "bad input" });
  });
});

describe("stale leases", () => {
  it("refuses a report under a lost lease and keeps the newer attempt's outcome", async () => {
    const { id, lease: old } = await submitAndLease("stale", "w-old");
    // The lease runs out: expire-leases (every 50 ms here) puts the job back.
    await s.redis.zadd(queueKeys(s.config.redisKeyPrefix, "stale").leased, "XX", 1, id);
    const { jobs } = await s.worker.leaseJobs({ workerId: "w-new", queues: ["stale"], maxJobs: 1, wait: { seconds: 10n } });
    expect(jobs[0]!.job!.attempts).toBe(2);
    const fresh = { jobId: id, queue: "stale", leaseToken: jobs[0]!.leaseToken };

    const beat = await s.worker.heartbeat({ workerId: "w-old", leases: [old] });
    expect(beat.leases[0]!.status).toBe(LeaseStatus.LOST);
    const stale = await s.worker.reportJobs({ workerId: "w-old", reports: [failed(old, "late", true)] });
    expect(stale.results[0]!.status).toBe(ReportStatus.LEASE_LOST);
    await s.worker.reportJobs({ workerId: "w-new", reports: [completed(fresh, "ok")] });

    const job = await historyJob(id, JobStatus.COMPLETED);
    expect(job).toMatchObject({ attempts: 2, workerId: "w-new" });
    const { events } = await s.history.listJobEvents({ jobId: id });
    expect(events.map((e) => e.type)).toEqual([
      JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.LEASE_EXPIRED, JobEventType.STARTED, JobEventType.COMPLETED,
    ]);
  });
});

describe("bad reports", () => {
  it("refuses a report without an outcome or lease", async () => {
    const { lease } = await submitAndLease("badrep", "w1");
    const code = (p: Promise<unknown>) => p.catch((e: unknown) => ConnectError.from(e).code);
    expect(await code(s.worker.reportJobs({ workerId: "w1", reports: [{ lease }] }))).toBe(Code.InvalidArgument);
    expect(await code(s.worker.reportJobs({ workerId: "w1", reports: [failed(undefined, "x")] }))).toBe(Code.InvalidArgument);
    expect(
      await code(s.worker.reportJobs({ workerId: "w1", reports: [failed({ ...lease, queue: "no such" }, "x")] })),
    ).toBe(Code.InvalidArgument);
  });
});
