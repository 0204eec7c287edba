import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { JobEventType, JobStatus } from "@taskflow/proto";
import { codeOf, eventually } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyStatus } from "../../test/reconcile-fixture.js";
import { startReplica, startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";
import { RecoveryStore } from "../redis/recovery-store.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const untilStatus = (id: string, status: JobStatus) => historyStatus(s, id, status);

/** Leases the queue's next job as `workerId` and reports `outcome`; resolves to the job's id. */
async function runOnce(queue: string, outcome: "failed" | "completed", workerId = "w1"): Promise<string> {
  const { jobs } = await s.worker.leaseJobs({ workerId, queues: [queue], maxJobs: 1 });
  expect(jobs).toHaveLength(1);
  const lease = { jobId: jobs[0]!.job!.id, queue, leaseToken: jobs[0]!.leaseToken };
  await s.worker.reportJobs({
    workerId,
    reports: [{ lease, outcome: outcome === "failed" ? { case: "failed", value: { error: "disk full", permanent: true } } : { case: "completed", value: {} } }],
  });
  return jobs[0]!.job!.id;
}

/** Resolves once the forwarder acknowledged the job's end in Redis (its tombstone got its expiry). */
const untilEndAcknowledged = (queue: string, id: string) =>
  eventually(async () => ((await s.redis.pttl(queueKeys(s.config.redisKeyPrefix, queue).job(id))) > 0 ? true : undefined));

/** Submits a job of `type` on `queue` and lets it fail for good; resolves once history holds FAILED and Redis acknowledged it. */
async function failedJob(queue: string, type = "t.x"): Promise<string> {
  const { job } = await s.scheduler.submitJob({ type, queue, maxAttempts: 1, payload: { n: 1 } });
  expect(await runOnce(queue, "failed")).toBe(job!.id);
  await untilStatus(job!.id, JobStatus.FAILED);
  await untilEndAcknowledged(queue, job!.id);
  return job!.id;
}

const trail = async (id: string) => (await s.history.listJobEvents({ jobId: id })).events;

describe("RetryJob", () => {
  it("puts a failed job back with fresh attempts: it runs again and completes, its trail whole and in order", async () => {
    const id = await failedJob("r1");
    const { job } = await s.scheduler.retryJob({ id });
    expect(job).toMatchObject({ id, status: JobStatus.PENDING, attempts: 0, error: "", maxAttempts: 1 });
    // The retry's note is gone once Redis holds the job again.
    expect(await s.redis.zscore(`${s.config.redisKeyPrefix}:retrying`, `r1/${id}`)).toBeNull();
    expect(await runOnce("r1", "completed")).toBe(id);
    await untilStatus(id, JobStatus.COMPLETED);
    const events = await trail(id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => [e.type, e.attempt])).toEqual([
      [JobEventType.SUBMITTED, 0],
      [JobEventType.STARTED, 1],
      [JobEventType.FAILED, 1],
      [JobEventType.RETRIED, 0],
      [JobEventType.STARTED, 1],
      [JobEventType.COMPLETED, 1],
    ]);
    expect(events[3]).toMatchObject({ actor: "api", reason: "retry_requested", status: JobStatus.PENDING });
    expect((await s.history.getJob({ id })).job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, error: "" });
    const { actions } = await s.history.listOperatorActions({ target: id });
    expect(actions).toMatchObject([{ action: "job.retry", actor: "api", target: id }]);
    expect(actions[0]!.details).toMatchObject({ count: 1, job_ids: [id] });
  });

  it("puts a cancelled job back", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "r2" });
    await s.scheduler.cancelJob({ id: job!.id });
    await untilStatus(job!.id, JobStatus.CANCELLED);
    await untilEndAcknowledged("r2", job!.id);
    expect((await s.scheduler.retryJob({ id: job!.id })).job!.status).toBe(JobStatus.PENDING);
    expect(await runOnce("r2", "completed")).toBe(job!.id);
    await untilStatus(job!.id, JobStatus.COMPLETED);
    expect((await trail(job!.id)).map((e) => e.type)).toEqual([
      JobEventType.SUBMITTED, JobEventType.CANCELLED, JobEventType.RETRIED, JobEventType.STARTED, JobEventType.COMPLETED,
    ]);
  });

  it("refuses pending, processing and completed jobs with failed_precondition and unknown ones with not_found, changing nothing", async () => {
    const { job: pending } = await s.scheduler.submitJob({ type: "t.x", queue: "r3", schedule: { case: "runAt", value: timestampFromMs(Date.now() + 3_600_000) } });
    const { job: running } = await s.scheduler.submitJob({ type: "t.x", queue: "r4" });
    await s.worker.leaseJobs({ workerId: "w1", queues: ["r4"], maxJobs: 1 });
    await untilStatus(running!.id, JobStatus.PROCESSING);
    await s.scheduler.submitJob({ type: "t.x", queue: "r5" });
    const completed = await runOnce("r5", "completed");
    await untilStatus(completed, JobStatus.COMPLETED);
    for (const id of [pending!.id, running!.id, completed]) {
      const before = await trail(id);
      expect(await codeOf(s.scheduler.retryJob({ id }))).toBe(Code.FailedPrecondition);
      expect(await trail(id)).toEqual(before);
    }
    expect(await codeOf(s.scheduler.retryJob({ id: uuidv7() }))).toBe(Code.NotFound);
    expect(await codeOf(s.scheduler.retryJob({ id: "nope" }))).toBe(Code.InvalidArgument);
    expect((await s.history.listOperatorActions({ action: "job.retry", target: completed })).actions).toEqual([]);
  });

  it("waits for Redis to acknowledge the job's end (its expiry would land on the retried job), then answers unavailable, changing nothing", async () => {
    const id = await failedJob("r9");
    const key = queueKeys(s.config.redisKeyPrefix, "r9").job(id);
    // A tombstone without its expiry: the forwarder has sent the end to history, not yet acknowledged it.
    await s.redis.persist(key);
    expect(await codeOf(s.scheduler.retryJob({ id }))).toBe(Code.Unavailable);
    expect(await s.scheduler.retryJobs({ queues: ["r9"] })).toMatchObject({ jobs: [], more: true });
    expect((await s.history.getJob({ id })).job!.status).toBe(JobStatus.FAILED);
    expect((await trail(id)).map((e) => e.type)).not.toContain(JobEventType.RETRIED);
    // An acknowledgement that lands while the retry waits lets it through.
    const retry = s.scheduler.retryJob({ id });
    await new Promise((r) => setTimeout(r, 300));
    await s.redis.pexpire(key, 60_000);
    expect((await retry).job!.status).toBe(JobStatus.PENDING);
    expect(await s.redis.pttl(key)).toBe(-1);
  });

  it("puts a job back once when two retries race, on two replicas", async () => {
    const replica = await startReplica(s);
    try {
      const id = await failedJob("r6");
      const outcomes = await Promise.allSettled([s.scheduler.retryJob({ id }), replica.scheduler.retryJob({ id })]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as Error] : []));
      expect(await codeOf(Promise.reject(refused[0]!))).toBe(Code.FailedPrecondition);
      expect((await trail(id)).filter((e) => e.type === JobEventType.RETRIED)).toHaveLength(1);
      expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, "r6").ready("t.x"))).toBe(1);
      // Leased on the other replica, run once.
      const { jobs } = await replica.worker.leaseJobs({ workerId: "w2", queues: ["r6"], maxJobs: 5 });
      expect(jobs.map((j) => [j.job!.id, j.job!.attempts])).toEqual([[id, 1]]);
    } finally {
      await replica.close();
    }
  });

  it("finishes a retry that stopped between history and Redis: the periodic reconciliation puts the job back from the retry's note", async () => {
    const id = await failedJob("r8");
    // What a crash right after history's commit leaves: the note, history reopened, Redis's tombstone.
    await new RecoveryStore(s.redis, s.config.redisKeyPrefix).noteRetries([{ queue: "r8", id }]);
    await s.ingest.reopenJobs({ ids: [id], actor: "api", action: { action: "job.retry", target: id } });
    const replica = await startReplica(s, { RECONCILE_GRACE_MS: "100", RECONCILE_INTERVAL_MS: "100" });
    try {
      const ready = queueKeys(s.config.redisKeyPrefix, "r8").ready("t.x");
      await eventually(async () => ((await s.redis.zscore(ready, id)) !== null ? true : undefined));
      await eventually(async () => ((await s.redis.zcard(`${s.config.redisKeyPrefix}:retrying`)) === 0 ? true : undefined));
    } finally {
      await replica.close();
    }
    expect(await runOnce("r8", "completed")).toBe(id);
    await untilStatus(id, JobStatus.COMPLETED);
    expect((await trail(id)).map((e) => e.type).slice(3)).toEqual([JobEventType.RETRIED, JobEventType.STARTED, JobEventType.COMPLETED]);
  });

  it("a full reconciliation puts back a job history reopened while Redis kept its tombstone", async () => {
    const id = await failedJob("r7");
    // What a crash between history's commit and the Redis step leaves: history reopened it,
    // Redis still holds the finished job's tombstone.
    await s.ingest.reopenJobs({ ids: [id], actor: "api", action: { action: "job.retry", target: id } });
    expect(await s.redis.hget(`${queueKeys(s.config.redisKeyPrefix, "r7").job(id)}`, "state")).toBe("done");
    // Reconciliation repairs jobs created before its grace period; a replica with a short one
    // finds this job once it is that old.
    const replica = await startReplica(s, { RECONCILE_GRACE_MS: "100" });
    try {
      await eventually(async () => ((await replica.admin.reconcile({})).requeuedJobIds.includes(id) ? true : undefined));
    } finally {
      await replica.close();
    }
    expect(await runOnce("r7", "completed")).toBe(id);
    await untilStatus(id, JobStatus.COMPLETED);
    const events = await trail(id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.type).slice(3)).toEqual([JobEventType.RETRIED, JobEventType.STARTED, JobEventType.COMPLETED]);
  });
});

describe("RetryJobs", () => {
  it("answers a dry run without changing anything, then retries what the filter selects, at most limit, and records the filter and count", async () => {
    const a = [await failedJob("m1", "t.a"), await failedJob("m1", "t.a"), await failedJob("m1", "t.a")];
    const other = await failedJob("m1", "t.b");
    const elsewhere = await failedJob("m2", "t.a");
    const filter = { queues: ["m1"], types: ["t.a"], statuses: [JobStatus.FAILED], limit: 2 };
    const dry = await s.scheduler.retryJobs({ ...filter, dryRun: true });
    expect(dry.jobs.map((j) => j.id)).toEqual(a.slice(0, 2));
    expect(dry.more).toBe(true);
    for (const id of a) expect((await s.history.getJob({ id })).job!.status).toBe(JobStatus.FAILED);
    expect((await s.history.listOperatorActions({ action: "jobs.retry" })).actions).toEqual([]);

    const res = await s.scheduler.retryJobs(filter);
    expect(res.jobs.map((j) => [j.id, j.status])).toEqual(a.slice(0, 2).map((id) => [id, JobStatus.PENDING]));
    expect(res.more).toBe(true);
    const rest = await s.scheduler.retryJobs(filter);
    expect(rest.jobs.map((j) => j.id)).toEqual([a[2]]);
    expect(rest.more).toBe(false);
    for (const id of [other, elsewhere]) expect((await s.history.getJob({ id })).job!.status).toBe(JobStatus.FAILED);
    expect(await s.redis.zcard(queueKeys(s.config.redisKeyPrefix, "m1").ready("t.a"))).toBe(3);

    const { actions } = await s.history.listOperatorActions({ action: "jobs.retry" });
    expect(actions.map((x) => [x.target, x.details?.count])).toEqual([["m1", 1], ["m1", 2]]);
    expect(actions[1]!.details).toMatchObject({ statuses: ["FAILED"], queues: ["m1"], types: ["t.a"], limit: 2, job_ids: a.slice(0, 2).sort() });
  });

  it("selects by finished time and error text", async () => {
    const id = await failedJob("m3", "t.c");
    const finishedAt = (await s.history.getJob({ id })).job!.completedAt!;
    const past = { startTime: timestampFromMs(0), endTime: timestampFromMs(1_000) };
    expect((await s.scheduler.retryJobs({ queues: ["m3"], finished: past, dryRun: true })).jobs).toEqual([]);
    expect((await s.scheduler.retryJobs({ queues: ["m3"], textQuery: "nothing-like-it", dryRun: true })).jobs).toEqual([]);
    const res = await s.scheduler.retryJobs({ queues: ["m3"], textQuery: "disk", finished: { startTime: finishedAt } });
    expect(res.jobs.map((j) => j.id)).toEqual([id]);
  });

  it("refuses bad filters with invalid_argument", async () => {
    for (const [i, req] of [
      { statuses: [JobStatus.COMPLETED] },
      { statuses: [JobStatus.PENDING] },
      { queues: ["bad queue"] },
      { types: [""] },
      { limit: 1_001 },
      { limit: -1 },
      { finished: { startTime: timestampFromMs(2_000), endTime: timestampFromMs(1_000) } },
    ].entries()) {
      expect(await codeOf(s.scheduler.retryJobs(req)), `filter ${i}`).toBe(Code.InvalidArgument);
    }
  });
});
