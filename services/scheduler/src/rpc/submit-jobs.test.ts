import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus, SubmitJobRequestSchema, type SubmitJobRequest } from "@taskflow/proto";
import { codeOf } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobKeys, startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";
import { requestDigest } from "../request-digest.js";
import { parseSubmitJob } from "../validate.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ env: { MAX_SUBMIT_BATCH: "5", MAX_PAYLOAD_BYTES: "1000" } });
});
afterAll(async () => {
  await s.close();
});

type SubmitInit = MessageInitShape<typeof SubmitJobRequestSchema>;
const job = (init: SubmitInit = {}): SubmitJobRequest =>
  create(SubmitJobRequestSchema, { type: "email.send", payload: { to: "a@example.com" }, ...init });
const keys = (queue: string) => queueKeys(s.config.redisKeyPrefix, queue);

describe("SubmitJob", () => {
  it("commits the job to history, then makes it ready in Redis", async () => {
    const { job: stored } = await s.scheduler.submitJob(job({ queue: "mail", priority: 7 }));
    expect(stored).toMatchObject({ type: "email.send", queue: "mail", priority: 7, status: JobStatus.PENDING, maxAttempts: 3 });
    expect(stored!.payload).toEqual({ to: "a@example.com" });
    const { job: inHistory } = await s.history.getJob({ id: stored!.id });
    expect(inHistory!.status).toBe(JobStatus.PENDING);
    expect(await s.redis.zscore(keys("mail").ready("email.send"), stored!.id)).not.toBeNull();
    expect(await s.redis.sismember(`${s.config.redisKeyPrefix}:queues`, "mail")).toBe(1);
  });

  it("puts a delayed job in the delayed set", async () => {
    const { job: stored } = await s.scheduler.submitJob(
      job({ queue: "later", schedule: { case: "delay", value: durationFromMs(3_600_000) } }),
    );
    expect(await s.redis.zscore(keys("later").delayed, stored!.id)).not.toBeNull();
    expect(await s.redis.zcard(keys("later").ready("email.send"))).toBe(0);
  });

  it("enqueues at once the job a retried key holds when the first submit's enqueue never happened", async () => {
    // As a first submit leaves it when Redis failed after history's commit: in history only.
    const first = parseSubmitJob(job({ queue: "idem-retry", idempotencyKey: "order-43" }), s.config);
    await s.ingest.insertJobs({
      jobs: [{ id: first.id, type: first.type, queue: first.queue, payload: first.payload, maxAttempts: first.maxAttempts,
        timeout: durationFromMs(first.timeoutMs), idempotencyKey: first.idempotencyKey }],
      requestDigests: [requestDigest(first)],
    });
    // The caller, told unavailable, retries the same request.
    const { job: again } = await s.scheduler.submitJob(job({ queue: "idem-retry", idempotencyKey: "order-43" }));
    expect(again!.id).toBe(first.id);
    // Ready now, not after the reconciler's grace period.
    expect(await s.redis.zscore(keys("idem-retry").ready("email.send"), first.id)).not.toBeNull();
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["idem-retry"], maxJobs: 5 });
    expect(jobs.map((j) => j.job!.id)).toEqual([first.id]);
  });

  it("answers the first job again for a reused idempotency key and enqueues it once", async () => {
    const first = await s.scheduler.submitJob(job({ queue: "idem", idempotencyKey: "order-42" }));
    const again = await s.scheduler.submitJob(job({ queue: "idem", idempotencyKey: "order-42" }));
    expect(again.job!.id).toBe(first.job!.id);
    expect(await s.redis.zcard(keys("idem").ready("email.send"))).toBe(1);
  });
});

describe("SubmitJobs", () => {
  it("accepts a batch over several queues and answers in request order", async () => {
    const { jobs } = await s.scheduler.submitJobs({
      jobs: [job({ queue: "b1", type: "t.a" }), job({ queue: "b2", type: "t.b" }), job({ queue: "b1", type: "t.c" })],
    });
    expect(jobs.map((j) => [j.queue, j.type])).toEqual([["b1", "t.a"], ["b2", "t.b"], ["b1", "t.c"]]);
    expect(await s.redis.zrange(keys("b1").ready("t.a"), "0", "-1")).toEqual([jobs[0]!.id]);
    expect(await s.redis.zrange(keys("b1").ready("t.c"), "0", "-1")).toEqual([jobs[2]!.id]);
    expect(await s.redis.zrange(keys("b2").ready("t.b"), "0", "-1")).toEqual([jobs[1]!.id]);
    expect((await s.redis.smembers(keys("b1").types)).sort()).toEqual(["t.a", "t.c"]);
  });
});

describe("bad input", () => {
  const bad: [string, SubmitInit][] = [
    ["type", { type: "" }],
    ["type", { type: "bad type" }],
    ["queue", { queue: "a/b" }],
    ["priority", { priority: 1001 }],
    ["max_attempts", { maxAttempts: 0 }],
    ["timeout", { timeout: durationFromMs(500) }],
    ["delay", { schedule: { case: "delay", value: durationFromMs(-1_000) } }],
    ["run_at", { schedule: { case: "runAt", value: timestampFromMs(Date.now() + 400 * 86_400_000) } }],
    ["idempotency_key", { idempotencyKey: "k".repeat(257) }],
    ["payload.text", { payload: { text: "a\u0000b" } }],
  ];

  it.each(bad)("refuses a bad %s with invalid_argument and stores nothing", async (field, init) => {
    const before = await jobKeys(s);
    const { jobs: listedBefore } = await s.history.listJobs({ pageSize: 500 });
    const err = await s.scheduler.submitJobs({ jobs: [job(), job(init)] }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(new RegExp(`^jobs\\[1\\]\\.${field}:`));
    expect(await jobKeys(s)).toEqual(before);
    expect((await s.history.listJobs({ pageSize: 500 })).jobs.length).toBe(listedBefore.length);
  });

  it("refuses a payload over MAX_PAYLOAD_BYTES with resource_exhausted and stores nothing", async () => {
    const before = await jobKeys(s);
    const { jobs: listedBefore } = await s.history.listJobs({ pageSize: 500 });
    const err = ConnectError.from(await s.scheduler.submitJobs({ jobs: [job(), job({ payload: { big: "x".repeat(1_000) } })] }).catch((e: unknown) => e));
    expect([err.code, err.rawMessage]).toEqual([Code.ResourceExhausted, "jobs[1].payload: must be at most 1000 bytes as JSON, got 1010"]);
    expect(await jobKeys(s)).toEqual(before);
    expect((await s.history.listJobs({ pageSize: 500 })).jobs.length).toBe(listedBefore.length);
  });

  it("refuses an empty batch and one over MAX_SUBMIT_BATCH", async () => {
    expect(await codeOf(s.scheduler.submitJobs({ jobs: [] }))).toBe(Code.InvalidArgument);
    expect(await codeOf(s.scheduler.submitJobs({ jobs: Array.from({ length: 6 }, () => job()) }))).toBe(Code.InvalidArgument);
  });

  it("refuses a bad single submit the same way", async () => {
    expect(await codeOf(s.scheduler.submitJob(job({ priority: -1 })))).toBe(Code.InvalidArgument);
  });
});
