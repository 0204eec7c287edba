import { createTaskFlowClient, JobStatus, jobResult, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { uniqueQueue } from "@taskflow/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred, LogTap, logWatch } from "./helpers.js";
import { createWorker } from "@taskflow/worker-sdk";

let stack: InProcessStack;
let client: TaskFlowClient;

beforeAll(async () => {
  stack = await startInProcessStack();
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
});

afterAll(async () => {
  await client?.close();
  await stack?.close();
});

describe("reports", () => {
  it("are retried while the scheduler is down and delivered once it is back", async () => {
    const queue = uniqueQueue();
    const started = deferred();
    const finish = deferred();
    const watch = logWatch("report failed, retrying");
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      queues: [queue],
      logger: pino({ level: "warn" }, watch.stream),
      leaseWaitMs: 500,
      handlers: { work: async () => (started.resolve(), await finish.promise, "after the outage") },
    });
    await worker.start();
    try {
      const { id } = await client.submit({ type: "work", queue });
      await started.promise;
      const restart = await stack.stopScheduler();
      finish.resolve();
      await watch.seen;
      await restart();
      const job = await client.waitFor(id, { timeoutMs: 20_000 });
      expect(job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId: worker.id });
      expect(jobResult(job)).toBe("after the outage");
    } finally {
      await worker.stop();
    }
  });

  it("are sent in batches, and every outcome lands", async () => {
    const queue = uniqueQueue();
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      queues: [queue],
      logger: stack.logger,
      // Up to 200 outcomes at once: more than one ReportJobs batch holds.
      concurrency: 200,
      reportBatchMs: 20,
      handlers: { n: (ctx) => Promise.resolve(ctx.payload["n"] ?? null) },
    });
    await worker.start();
    try {
      const jobs = await client.submitMany(Array.from({ length: 250 }, (_, n) => ({ type: "n", queue, payload: { n } })));
      const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 30_000 })));
      expect(done.map((j) => jobResult(j))).toEqual(jobs.map((_, n) => n));
      expect(worker.stats()).toMatchObject({ leased: 250, completed: 250 });
    } finally {
      await worker.stop();
    }
  });

  it("bound a batch by bytes, so results near the payload limit all land", async () => {
    const queue = uniqueQueue();
    const count = 20;
    // Each result is close to the scheduler's 1 MiB result limit; 20 of them are far past its
    // 4 MiB request limit, so one ReportJobs call cannot carry them all.
    const big = "r".repeat(900 * 1024);
    const gate = deferred();
    let started = 0;
    const tap = new LogTap();
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      queues: [queue],
      logger: pino({ level: "debug" }, tap.stream),
      concurrency: count,
      handlers: {
        big: async (ctx) => {
          started += 1;
          if (started === count) gate.resolve();
          // All finish together, so their outcomes queue up in the same batch window.
          await gate.promise;
          return { n: ctx.payload["n"] ?? null, big };
        },
      },
    });
    await worker.start();
    try {
      const jobs = await client.submitMany(Array.from({ length: count }, (_, n) => ({ type: "big", queue, payload: { n } })));
      const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 25_000 })));
      done.forEach((job, n) => {
        expect(job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId: worker.id });
        expect(jobResult(job)).toEqual({ n, big });
      });
      expect(worker.stats()).toMatchObject({ leased: count, completed: count, failed: 0 });
      // The worker heard every answer: recorded results alone are not enough, since a report
      // the scheduler took but whose answer was lost counts as refused.
      const accepted = tap.withMsg("report accepted").map((l) => l["job_id"]);
      expect(accepted.sort()).toEqual(jobs.map((j) => j.id).sort());
      expect(tap.lines.filter((l) => l.msg?.startsWith("report"))).toHaveLength(count);
    } finally {
      await worker.stop();
    }
  });

  it("fail a job for good when its result is past what the scheduler reads, instead of retrying it", async () => {
    const queue = uniqueQueue();
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      queues: [queue],
      logger: stack.logger,
      // Past the scheduler's 4 MiB request limit: no retry can deliver it.
      handlers: { huge: () => Promise.resolve("h".repeat(5 * 1024 * 1024)) },
    });
    await worker.start();
    try {
      const { id } = await client.submit({ type: "huge", queue, maxAttempts: 3 });
      const job = await client.waitFor(id, { timeoutMs: 20_000 });
      expect(job).toMatchObject({ status: JobStatus.FAILED, attempts: 1 });
      expect(job.error).toMatch(/^result refused: /);
    } finally {
      await worker.stop();
    }
  });
});
