import { randomUUID } from "node:crypto";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobEventType, JobStatus, WorkerStatus } from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HandWorker } from "./hand-worker.js";
import {
  type ClientProtocol,
  createTaskFlowClient,
  type JobFilter,
  jobPayload,
  jobResult,
  type TaskFlowClient,
  WaitTimeoutError,
} from "@taskflow/client";

let stack: InProcessStack;
let client: TaskFlowClient;
const handWorkers: HandWorker[] = [];

beforeAll(async () => {
  stack = await startInProcessStack();
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
});

afterAll(async () => {
  for (const w of handWorkers) w.close();
  await client?.close();
  await stack?.close();
});

async function handWorker(queue: string, jobTypes: string[]): Promise<HandWorker> {
  const worker = new HandWorker(stack.schedulerUrl, `hand-${queue}`, queue);
  handWorkers.push(worker);
  await worker.register(jobTypes);
  return worker;
}

const errorCode = (err: unknown): Code | undefined => (err instanceof ConnectError ? err.code : undefined);

describe("submit", () => {
  it("maps every field of the input onto the job", async () => {
    const queue = uniqueQueue();
    const before = Date.now();
    const job = await client.submit({
      type: "email.send",
      payload: { to: "a@example.com" },
      queue,
      priority: 7,
      delayMs: 60_000,
      maxAttempts: 4,
      timeoutMs: 5_000,
      idempotencyKey: `key-${queue}`,
    });
    expect(job).toMatchObject({ type: "email.send", queue, priority: 7, maxAttempts: 4, status: JobStatus.PENDING });
    expect(job.idempotencyKey).toBe(`key-${queue}`);
    expect(jobPayload(job)).toEqual({ to: "a@example.com" });
    expect(durationMs(job.timeout!)).toBe(5_000);
    expect(timestampMs(job.scheduledAt!)).toBeGreaterThanOrEqual(before + 59_000);
    expect(await client.get(job.id)).toMatchObject({ id: job.id, type: "email.send", status: JobStatus.PENDING });
  });

  it("schedules at runAt", async () => {
    const runAt = new Date(Date.now() + 3_600_000);
    const job = await client.submit({ type: "later", queue: uniqueQueue(), runAt });
    expect(timestampMs(job.scheduledAt!)).toBe(runAt.getTime());
  });

  it("returns the first job for a reused idempotency key", async () => {
    const input = { type: "once", queue: uniqueQueue(), idempotencyKey: randomUUID() };
    const first = await client.submit(input);
    const second = await client.submit(input);
    expect(second.id).toBe(first.id);
  });

  it("submits a batch, keeping its order", async () => {
    const queue = uniqueQueue();
    const jobs = await client.submitMany([0, 1, 2].map((i) => ({ type: "batch", queue, payload: { i } })));
    expect(jobs.map((j) => jobPayload(j))).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(3);
  });

  it("passes the scheduler's invalid_argument through", async () => {
    const err = await client.submit({ type: "bad type!" }).catch((e: unknown) => e);
    expect(errorCode(err)).toBe(Code.InvalidArgument);
  });
});

describe("get, list and listAll", () => {
  it("throws not_found for an unknown job", async () => {
    const err = await client.get(randomUUID()).catch((e: unknown) => e);
    expect(errorCode(err)).toBe(Code.NotFound);
  });

  it("filters by queue, type and status, and pages", async () => {
    const queue = uniqueQueue();
    const jobs = await client.submitMany([
      ...Array.from({ length: 5 }, () => ({ type: "a", queue })),
      ...Array.from({ length: 2 }, () => ({ type: "b", queue })),
    ]);
    const firstPage = await client.list({ queues: [queue], pageSize: 3 });
    expect(firstPage.jobs).toHaveLength(3);
    expect(firstPage.nextPageToken).not.toBe("");
    const all = [];
    for await (const job of client.listAll({ queues: [queue], pageSize: 3 })) all.push(job.id);
    expect(all).toHaveLength(7);
    expect(new Set(all)).toEqual(new Set(jobs.map((j) => j.id)));
    expect((await client.list({ queues: [queue], types: ["b"] })).jobs.map((j) => j.type)).toEqual(["b", "b"]);
    await client.cancel(jobs[0]!.id);
    await client.waitFor(jobs[0]!.id, { timeoutMs: 10_000 });
    const cancelled = await client.list({ queues: [queue], statuses: [JobStatus.CANCELLED] });
    expect(cancelled.jobs.map((j) => j.id)).toEqual([jobs[0]!.id]);
  });
});

describe("waitFor and events", () => {
  it("resolves with a completed job and its result; events give the whole trail", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue, ["work"]);
    const { id } = await client.submit({ type: "work", queue });
    const waiting = client.waitFor(id, { timeoutMs: 10_000 });
    await worker.complete(await worker.leaseOne(), { ok: true, n: 2 });
    const job = await waiting;
    expect(job).toMatchObject({ id, status: JobStatus.COMPLETED, attempts: 1, workerId: worker.id });
    expect(jobResult(job)).toEqual({ ok: true, n: 2 });
    const events = await client.events(id);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, JobEventType.SUBMITTED],
      [2, JobEventType.STARTED],
      [3, JobEventType.COMPLETED],
    ]);
    expect(jobResult(events[2]!)).toEqual({ ok: true, n: 2 });
  });

  it("watch yields the job as history records it, each event once, and ends when the job is terminal", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue, ["work"]);
    const { id } = await client.submit({ type: "work", queue });
    const seen: { status: JobStatus; seqs: number[] }[] = [];
    const watching = (async () => {
      for await (const { job, events } of client.watch(id)) seen.push({ status: job.status, seqs: events.map((e) => e.seq) });
    })();
    await eventually(() => Promise.resolve(seen.length > 0 || undefined));
    const leased = await worker.leaseOne();
    await eventually(() => Promise.resolve(seen.some((m) => m.status === JobStatus.PROCESSING) || undefined));
    await worker.complete(leased, { ok: true });
    await watching;
    expect(seen[0]).toEqual({ status: JobStatus.PENDING, seqs: [1] });
    expect(seen.at(-1)!.status).toBe(JobStatus.COMPLETED);
    expect(seen.flatMap((m) => m.seqs)).toEqual([1, 2, 3]);
  });

  it("resolves with a failed job and its error", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue, ["work"]);
    const { id } = await client.submit({ type: "work", queue });
    await worker.fail(await worker.leaseOne(), "it broke");
    expect(await client.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ status: JobStatus.FAILED, error: "it broke" });
  });

  it("resolves with a cancelled job", async () => {
    const { id } = await client.submit({ type: "idle", queue: uniqueQueue(), delayMs: 60_000 });
    expect(await client.cancel(id, "not needed")).toEqual({ id, status: JobStatus.CANCELLED });
    expect((await client.waitFor(id, { timeoutMs: 10_000 })).status).toBe(JobStatus.CANCELLED);
    expect((await client.events(id)).at(-1)?.type).toBe(JobEventType.CANCELLED);
  });

  it("rejects with WaitTimeoutError when the job does not finish in time", async () => {
    const { id } = await client.submit({ type: "idle", queue: uniqueQueue() });
    const started = Date.now();
    const err = await client.waitFor(id, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err).toMatchObject({ jobId: id, lastStatus: JobStatus.PENDING });
    expect((err as Error).message).toContain(id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("keeps polling through not_found until its deadline", async () => {
    const err = await client.waitFor(randomUUID(), { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).lastStatus).toBeUndefined();
  });

  it("stops when its signal aborts", async () => {
    const { id } = await client.submit({ type: "idle", queue: uniqueQueue() });
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const waiting = client.waitFor(id, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});

describe("search, stats, worker detail and the audit export", () => {
  it("finds jobs by payload, text, worker, attempts, creation time and order; counts them in stats; exports their trail", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue, ["search"]);
    const before = new Date(Date.now() - 1_000);
    const [done, broken, waiting] = await client.submitMany([
      { type: "search", queue, payload: { customer: { id: `c-${queue}` }, note: "invoice paid" } },
      { type: "search", queue, payload: { customer: { id: `d-${queue}` }, note: "refund" } },
      { type: "search", queue, payload: { note: "pending" }, delayMs: 600_000 },
    ]);
    await worker.complete(await worker.leaseOne(), { ok: true });
    await worker.fail(await worker.leaseOne(), `boom ${queue}`);
    await client.waitFor(done!.id, { timeoutMs: 10_000 });
    await client.waitFor(broken!.id, { timeoutMs: 10_000 });
    const after = new Date(Date.now() + 1_000);
    const ids = async (filter: JobFilter) => (await client.list({ queues: [queue], ...filter })).jobs.map((j) => j.id);

    expect(await ids({ payloadContains: { customer: { id: `c-${queue}` } } })).toEqual([done!.id]);
    expect(await ids({ text: "refund" })).toEqual([broken!.id]);
    expect(await ids({ text: "boom" })).toEqual([broken!.id]);
    expect(await ids({ workerId: worker.id, order: "oldest" })).toEqual([done!.id, broken!.id]);
    expect(await ids({ attemptsAbove: 0 })).toEqual([broken!.id, done!.id]);
    expect(await ids({ created: { from: before, to: after }, order: "oldest" })).toEqual([done!.id, broken!.id, waiting!.id]);
    expect(await ids({ created: { to: before } })).toEqual([]);
    expect(await ids({ finished: { from: before }, statuses: [JobStatus.FAILED] })).toEqual([broken!.id]);

    // The worker's counters follow its outcomes once history has recorded them.
    await eventually(async () => {
      expect(await client.worker(worker.id)).toMatchObject({ id: worker.id, jobsCompleted: 1n, jobsFailed: 1n });
      return true;
    });
    expect(errorCode(await client.worker(`nobody-${queue}`).catch((e: unknown) => e))).toBe(Code.NotFound);

    const stats = await client.stats({ from: before, to: after, queues: [queue], bucket: "minute" });
    expect(stats.created).toMatchObject({ total: 3n, completed: 1n, failed: 1n, pending: 1n });
    expect(stats.failureRate).toBe(0.5);
    expect(stats.topErrors.map((e) => [e.error, e.count])).toEqual([[`boom ${queue}`, 1n]]);
    expect(stats.runTime?.count).toBe(2n);

    const lines: { jobId: string; type: string; jobQueue: string; actor: string }[] = [];
    for await (const chunk of client.exportAuditTrail({ from: before, to: after, queues: [queue] })) {
      for (const line of Buffer.from(chunk).toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as (typeof lines)[number]);
    }
    expect(lines.map((l) => l.type).sort()).toEqual(
      ["JOB_EVENT_TYPE_COMPLETED", "JOB_EVENT_TYPE_FAILED", "JOB_EVENT_TYPE_STARTED", "JOB_EVENT_TYPE_STARTED",
        "JOB_EVENT_TYPE_SUBMITTED", "JOB_EVENT_TYPE_SUBMITTED", "JOB_EVENT_TYPE_SUBMITTED"],
    );
    expect(new Set(lines.map((l) => l.jobQueue))).toEqual(new Set([queue]));
  });

  it("reads database statistics and runs retention as a dry run", async () => {
    const stats = await client.databaseStats(5);
    expect(stats.pools.map((p) => p.name)).toEqual(["primary"]);
    expect(stats.tables.map((t) => t.name)).toEqual(expect.arrayContaining(["jobs", "job_events", "workers"]));
    expect(stats.slowestStatements.length).toBeLessThanOrEqual(5);
    const retention = await client.runRetention({ dryRun: true });
    expect(retention.cutoff).toBeDefined();
    expect(retention.droppedPartitions).toEqual([]);
  });
});

describe("schedules", () => {
  it("updates a schedule from the version it read, and leaves one changed since as it is", async () => {
    const id = `client.${randomUUID()}`;
    const created = await client.createSchedule({ id, intervalMs: 3_600_000, template: { type: "echo", queue: uniqueQueue() } });
    const updated = await client.updateSchedule({ id, intervalMs: 7_200_000, template: { type: "echo" } }, { expectedVersion: created.version });
    expect(updated.version).toBeGreaterThan(created.version);

    const stale = await client.updateSchedule({ id, cron: "0 3 * * *", template: { type: "echo" } }, { expectedVersion: created.version }).catch((e: unknown) => e);
    expect(errorCode(stale)).toBe(Code.FailedPrecondition);
    const now = await client.schedule(id);
    expect([now.version, now.spec.case, now.spec.case === "interval" ? durationMs(now.spec.value) : 0]).toEqual([updated.version, "interval", 7_200_000]);
    await client.deleteSchedule(id);
  });
});

describe("workers", () => {
  it("lists registered workers with their health", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue, ["x", "y"]);
    const listed = (await client.workers()).find((w) => w.id === worker.id);
    expect(listed).toMatchObject({ status: WorkerStatus.HEALTHY, queues: [queue], jobTypes: ["x", "y"] });
  });
});

describe.each<ClientProtocol>(["connect", "grpc", "connect-http1", "grpc-web"])("over %s", (protocol) => {
  it("submits, reads, lists, cancels and waits", async () => {
    const other = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, protocol });
    try {
      const queue = uniqueQueue();
      const job = await other.submit({ type: "proto", queue, payload: { protocol } });
      expect(jobPayload(await other.get(job.id))).toEqual({ protocol });
      expect((await other.list({ queues: [queue] })).jobs.map((j) => j.id)).toEqual([job.id]);
      expect((await other.cancel(job.id)).status).toBe(JobStatus.CANCELLED);
      expect((await other.waitFor(job.id, { timeoutMs: 10_000 })).status).toBe(JobStatus.CANCELLED);
      expect((await other.events(job.id)).map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.CANCELLED]);
      expect(errorCode(await other.get(randomUUID()).catch((e: unknown) => e))).toBe(Code.NotFound);
    } finally {
      await other.close();
    }
  });
});
