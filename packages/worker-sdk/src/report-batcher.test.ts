import { createTaskFlowClient, JobStatus, jobResult, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { uniqueQueue } from "@taskflow/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred, logWatch } from "../test/helpers.js";
import { createWorker } from "./create-worker.js";

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
});
