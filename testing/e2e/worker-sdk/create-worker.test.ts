import { setTimeout as delay } from "node:timers/promises";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createTaskFlowClient, JobEventType, JobStatus, WorkerStatus, jobResult, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deferred } from "./helpers.js";
import { createWorker, JobAbortError, PermanentError, type Handler, type JobContext, type ParentResult, type Worker, type WorkerOptions } from "@taskflow/worker-sdk";

let stack: InProcessStack;
let client: TaskFlowClient;
const workers: Worker[] = [];

beforeAll(async () => {
  // Short leases: heartbeats every second, so cancellations arrive quickly.
  stack = await startInProcessStack({ LEASE_MS: "3000" });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await client?.close();
  await stack?.close();
});

async function startWorker(options: Partial<WorkerOptions> & Pick<WorkerOptions, "queues" | "handlers">): Promise<Worker> {
  const worker = createWorker({ scheduler: stack.schedulerUrl, logger: stack.logger, leaseWaitMs: 2000, ...options });
  workers.push(worker);
  await worker.start();
  return worker;
}

/** A handler that signals its start, then runs until its signal aborts. */
function untilAborted(started: (ctx: JobContext) => void): Handler {
  return (ctx) =>
    new Promise((_resolve, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as JobAbortError));
      started(ctx);
    });
}

describe("createWorker against a real scheduler", () => {
  it("runs jobs and reports their results, which history records", async () => {
    const queue = uniqueQueue();
    const worker = await startWorker({ queues: [queue], handlers: { echo: (ctx) => Promise.resolve(ctx.payload) } });
    const jobs = await client.submitMany(
      Array.from({ length: 30 }, (_, i) => ({ type: "echo", queue, payload: { i } })),
    );
    const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 20_000 })));
    done.forEach((job, i) => {
      expect(job.status).toBe(JobStatus.COMPLETED);
      expect(jobResult(job)).toEqual({ i });
      expect(job.attempts).toBe(1);
      expect(job.workerId).toBe(worker.id);
    });
    expect(worker.stats()).toMatchObject({ leased: 30, completed: 30, failed: 0, inFlight: 0 });
  });

  it("retries a failing job until it succeeds", async () => {
    const queue = uniqueQueue();
    const flaky: Handler = (ctx) =>
      ctx.attempt <= 2
        ? Promise.reject(new Error(`flaky failure ${ctx.attempt} of 2`))
        : Promise.resolve({ attempt: ctx.attempt });
    await startWorker({ queues: [queue], handlers: { flaky } });
    const { id } = await client.submit({ type: "flaky", queue, maxAttempts: 5 });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job.status).toBe(JobStatus.COMPLETED);
    expect(job.attempts).toBe(3);
    expect(jobResult(job)).toEqual({ attempt: 3 });
    const events = await client.events(id);
    expect(events.map((e) => e.type)).toEqual([
      JobEventType.SUBMITTED,
      JobEventType.STARTED,
      JobEventType.RETRY_SCHEDULED,
      JobEventType.STARTED,
      JobEventType.RETRY_SCHEDULED,
      JobEventType.STARTED,
      JobEventType.COMPLETED,
    ]);
    expect(events.filter((e) => e.type === JobEventType.RETRY_SCHEDULED).map((e) => e.error)).toEqual([
      "flaky failure 1 of 2",
      "flaky failure 2 of 2",
    ]);
  });

  it("fails a job for good after max_attempts, and at once on a PermanentError", async () => {
    const queue = uniqueQueue();
    const handlers: Record<string, Handler> = {
      fail: () => Promise.reject(new Error("boom")),
      reject: () => Promise.reject(new PermanentError("bad input")),
    };
    const worker = await startWorker({ queues: [queue], handlers });
    const [failing, rejected] = await client.submitMany([
      { type: "fail", queue, maxAttempts: 3 },
      { type: "reject", queue, maxAttempts: 3 },
    ]);
    const failed = await client.waitFor(failing!.id, { timeoutMs: 20_000 });
    expect(failed).toMatchObject({ status: JobStatus.FAILED, error: "boom", attempts: 3 });
    const permanent = await client.waitFor(rejected!.id, { timeoutMs: 20_000 });
    expect(permanent).toMatchObject({ status: JobStatus.FAILED, error: "bad input", attempts: 1 });
    expect(worker.stats().failed).toBe(4);
  });

  it("tells its observer of each attempt's start and end, and runs on when the observer throws", async () => {
    const queue = uniqueQueue();
    const heard: string[] = [];
    const seconds: number[] = [];
    const worker = await startWorker({
      queues: [queue],
      concurrency: 3,
      handlers: {
        ok: () => delay(20).then(() => null),
        bad: () => Promise.reject(new PermanentError("no")),
      },
      observer: {
        attemptStarted: ({ type, queue: q }) => {
          heard.push(`start ${type} ${q === queue}`);
          throw new Error("observer bug");
        },
        attemptEnded: ({ type, outcome, seconds: s }) => {
          heard.push(`end ${type} ${outcome}`);
          seconds.push(s);
        },
      },
    });
    expect(worker.stats()).toMatchObject({ slots: 3, inFlight: 0 });
    const [ok, bad] = await client.submitMany([{ type: "ok", queue }, { type: "bad", queue }]);
    expect((await client.waitFor(ok!.id, { timeoutMs: 20_000 })).status).toBe(JobStatus.COMPLETED);
    expect((await client.waitFor(bad!.id, { timeoutMs: 20_000 })).status).toBe(JobStatus.FAILED);
    expect([...heard].sort()).toEqual(["end bad failed", "end ok completed", "start bad true", "start ok true"]);
    expect(Math.max(...seconds)).toBeGreaterThanOrEqual(0.015);
  });

  it("leaves a job whose type it has no handler for to a worker that has one, spending no attempt", async () => {
    const queue = uniqueQueue();
    const echoOnly = await startWorker({ queues: [queue], handlers: { echo: () => Promise.resolve(null) } });
    const { id } = await client.submit({ type: "mystery", queue, maxAttempts: 1 });
    const echo = await client.submit({ type: "echo", queue });
    // The first worker leases only what it can run: the echo job, not the mystery one.
    expect((await client.waitFor(echo.id, { timeoutMs: 20_000 })).status).toBe(JobStatus.COMPLETED);
    expect((await client.get(id)).status).toBe(JobStatus.PENDING);
    expect(echoOnly.stats().leased).toBe(1);
    // A worker with the handler arrives, as in a rolling deploy that adds a type.
    await startWorker({ queues: [queue], handlers: { mystery: () => Promise.resolve({ solved: true }) } });
    expect(await client.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
  });

  it("never runs more jobs at once than its concurrency", async () => {
    const queue = uniqueQueue();
    let running = 0;
    let most = 0;
    const statsSeen: number[] = [];
    // Runs only for the jobs submitted below, so `worker` is set by then.
    const work: Handler = async () => {
      running += 1;
      most = Math.max(most, running);
      statsSeen.push(worker.stats().inFlight);
      await delay(30); // the job's own work
      running -= 1;
    };
    const worker = await startWorker({ queues: [queue], handlers: { work }, concurrency: 3 });
    const jobs = await client.submitMany(Array.from({ length: 15 }, () => ({ type: "work", queue })));
    await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 20_000 })));
    expect(most).toBe(3);
    expect(Math.max(...statsSeen)).toBeLessThanOrEqual(3);
  });

  it("fails an attempt that outlives its timeout, aborting its signal", async () => {
    const queue = uniqueQueue();
    const seen = deferred<JobContext>();
    await startWorker({ queues: [queue], handlers: { slow: untilAborted(seen.resolve) } });
    const { id } = await client.submit({ type: "slow", queue, timeoutMs: 1000, maxAttempts: 1 });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job).toMatchObject({ status: JobStatus.FAILED, error: "timed out after 1000 ms" });
    const ctx = await seen.promise;
    expect(ctx.signal.aborted).toBe(true);
    expect((ctx.signal.reason as JobAbortError).kind).toBe("timeout");
  });

  it("aborts a running job that is cancelled, which ends CANCELLED", async () => {
    const queue = uniqueQueue();
    const seen = deferred<JobContext>();
    const worker = await startWorker({ queues: [queue], handlers: { sleep: untilAborted(seen.resolve) } });
    const { id } = await client.submit({ type: "sleep", queue, payload: { ms: 3_600_000 } });
    const ctx = await seen.promise;
    const answer = await client.cancel(id, "test");
    expect(answer.status).toBe(JobStatus.PROCESSING);
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job.status).toBe(JobStatus.CANCELLED);
    expect(ctx.signal.aborted).toBe(true);
    expect((ctx.signal.reason as JobAbortError).kind).toBe("cancel");
    expect(worker.stats()).toMatchObject({ failed: 1, inFlight: 0 });
  });

  it("lets running jobs finish within the grace period on stop()", async () => {
    const queue = uniqueQueue();
    const started = deferred();
    const finish = deferred();
    const worker = await startWorker({
      queues: [queue],
      shutdownGraceMs: 20_000,
      handlers: { work: async () => (started.resolve(), await finish.promise, "finished") },
    });
    const { id } = await client.submit({ type: "work", queue });
    await started.promise;
    const stopping = worker.stop();
    finish.resolve();
    await stopping;
    expect(worker.stats()).toMatchObject({ completed: 1, released: 0 });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job.status).toBe(JobStatus.COMPLETED);
    expect(jobResult(job)).toBe("finished");
  });

  it("hands a job still running after the grace period back, and another worker runs it", async () => {
    const queue = uniqueQueue();
    const seen = deferred<JobContext>();
    const first = await startWorker({ queues: [queue], shutdownGraceMs: 100, handlers: { long: untilAborted(seen.resolve) } });
    const { id } = await client.submit({ type: "long", queue });
    const ctx = await seen.promise;
    await first.stop();
    expect((ctx.signal.reason as JobAbortError).kind).toBe("shutdown");
    expect(first.stats()).toMatchObject({ released: 1, completed: 0, failed: 0, inFlight: 0 });
    const second = await startWorker({ queues: [queue], handlers: { long: () => Promise.resolve("second") } });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job).toMatchObject({ status: JobStatus.COMPLETED, workerId: second.id });
    const types = (await client.events(id)).map((e) => e.type);
    // Released, not expired: the second run did not wait for the first lease to lapse.
    expect(types).toEqual([
      JobEventType.SUBMITTED,
      JobEventType.STARTED,
      JobEventType.RELEASED,
      JobEventType.STARTED,
      JobEventType.COMPLETED,
    ]);
  });

  it("waits for a handler stopping after the abort, then hands its job back with the attempt counted", async () => {
    const queue = uniqueQueue();
    const seen = deferred();
    let settledAt = 0;
    const first = await startWorker({
      queues: [queue],
      shutdownGraceMs: 100,
      handlers: {
        // Honours its signal, but takes 300 ms to wind down.
        slow: (ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () =>
              setTimeout(() => ((settledAt = Date.now()), reject(ctx.signal.reason as JobAbortError)), 300),
            );
            seen.resolve();
          }),
      },
    });
    const { id } = await client.submit({ type: "slow", queue, maxAttempts: 3 });
    await seen.promise;
    await first.stop();
    expect(settledAt).toBeGreaterThan(0);
    expect(first.stats()).toMatchObject({ released: 1, completed: 0, failed: 0, inFlight: 0 });
    const released = await eventually(async () => (await client.events(id)).find((e) => e.type === JobEventType.RELEASED));
    expect(released).toMatchObject({ reason: "handler_stopped", attempt: 1 });
    // Handed back only once the handler had settled (the event bears the scheduler's clock, on this machine).
    expect(timestampMs(released.occurredAt!)).toBeGreaterThanOrEqual(settledAt);
    await startWorker({ queues: [queue], handlers: { slow: (ctx) => Promise.resolve(ctx.attempt) } });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 2 });
    expect(jobResult(job)).toBe(2);
  });

  it("reports a handler that returns a result after the shutdown abort as completed", async () => {
    const queue = uniqueQueue();
    const seen = deferred();
    const worker = await startWorker({
      queues: [queue],
      shutdownGraceMs: 100,
      handlers: {
        // Saves what it has when told to stop, and returns it.
        partial: (ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener("abort", () => setTimeout(() => resolve({ saved: "partial" }), 100));
            seen.resolve();
          }),
      },
    });
    const { id } = await client.submit({ type: "partial", queue });
    await seen.promise;
    await worker.stop();
    expect(worker.stats()).toMatchObject({ completed: 1, released: 0, inFlight: 0 });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
    expect(jobResult(job)).toEqual({ saved: "partial" });
  });

  it("hands back a handler that ignores the abort after abortWaitMs; on its last attempt the job fails", async () => {
    const queue = uniqueQueue();
    const seen = deferred();
    const worker = await startWorker({
      queues: [queue],
      shutdownGraceMs: 100,
      abortWaitMs: 200,
      handlers: { stuck: () => (seen.resolve(), new Promise(() => undefined)) },
    });
    const { id } = await client.submit({ type: "stuck", queue, maxAttempts: 1 });
    await seen.promise;
    await worker.stop();
    expect(worker.stats()).toMatchObject({ released: 1, inFlight: 0 });
    const job = await client.waitFor(id, { timeoutMs: 20_000 });
    expect(job).toMatchObject({ status: JobStatus.FAILED, attempts: 1, error: "handler stopped on worker shutdown" });
  });

  it("registers, shows as healthy, and deregisters on stop(), which is idempotent", async () => {
    const queue = uniqueQueue();
    const worker = await startWorker({ queues: [queue], handlers: { echo: () => Promise.resolve(null) }, concurrency: 4 });
    const listed = (await client.workers()).find((w) => w.id === worker.id);
    expect(listed).toMatchObject({ status: WorkerStatus.HEALTHY, queues: [queue], jobTypes: ["echo"], concurrency: 4 });
    const stopping = worker.stop();
    expect(worker.stop()).toBe(stopping);
    await stopping;
    const gone = (await client.workers()).find((w) => w.id === worker.id);
    expect(gone?.status).toBe(WorkerStatus.GONE);
  });
});

describe("flows through the worker SDK", () => {
  it("gives a child's handler its parents' results (ctx.parents), across queues", async () => {
    const [q1, q2] = [uniqueQueue(), uniqueQueue()];
    const seen: ParentResult[][] = [];
    await startWorker({ queues: [q1, q2], handlers: {
      number: (ctx) => Promise.resolve((ctx.payload as { n: number }).n),
      sum: (ctx) => {
        seen.push(ctx.parents);
        return Promise.resolve(ctx.parents.reduce((total, p) => total + (p.result as number), 0));
      },
    } });
    const jobs = await client.submitMany([
      { ref: "two", type: "number", queue: q1, payload: { n: 2 } },
      { ref: "three", type: "number", queue: q2, payload: { n: 3 } },
      { type: "sum", queue: q1, dependsOn: ["two", "three"] },
    ]);
    const sum = await client.waitFor(jobs[2]!.id, { timeoutMs: 20_000 });
    expect(sum.status).toBe(JobStatus.COMPLETED);
    expect(jobResult(sum)).toBe(5);
    expect(seen).toHaveLength(1);
    expect(new Set(seen[0]!.map((p) => `${p.type}/${p.queue}/${p.status}/${JSON.stringify(p.result)}`))).toEqual(
      new Set([`number/${q1}/completed/2`, `number/${q2}/completed/3`]),
    );
  });

  it("submits a tree with submitFlow: children run after their parent, a failed parent's child runs only with RUN", async () => {
    const q = uniqueQueue();
    const order: string[] = [];
    await startWorker({ queues: [q], handlers: {
      step: (ctx) => {
        order.push((ctx.payload as { name: string }).name);
        return Promise.resolve(ctx.parents.map((p) => p.status));
      },
      broken: () => Promise.reject(new PermanentError("no")),
    } });
    const jobs = await client.submitFlow({
      type: "step",
      queue: q,
      payload: { name: "root" },
      children: [
        { type: "broken", queue: q, maxAttempts: 1, children: [
          { type: "step", queue: q, payload: { name: "after-broken" } },
          { type: "step", queue: q, payload: { name: "anyway" }, onParentFailure: "run" },
        ] },
        { type: "step", queue: q, payload: { name: "leaf" } },
      ],
    });
    expect(jobs).toHaveLength(5);
    const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 20_000 })));
    expect(done.map((j) => j.status)).toEqual([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.FAILED, JobStatus.COMPLETED, JobStatus.COMPLETED]);
    expect(order[0]).toBe("root");
    expect(new Set(order)).toEqual(new Set(["root", "anyway", "leaf"]));
    expect(jobResult(done[3]!)).toEqual(["failed"]);
    expect((await client.get(jobs[1]!.id)).children.map((c) => c.id)).toEqual([jobs[2]!.id, jobs[3]!.id].sort());
  });
});
