import { createTaskFlowClient, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, startTcpProxy, uniqueQueue } from "@taskflow/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorker } from "@taskflow/worker-sdk";
import { deferred, LogTap } from "./helpers.js";
import { startWorkerServiceRelay } from "./worker-service-relay.js";

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

const credits = (reqs: Array<{ credits: number }>): number => reqs.reduce((n, r) => n + r.credits, 0);

describe("the worker's DispatchJobs stream", () => {
  it("fills free slots on one stream, a credit per slot freed, and never runs more than its concurrency", async () => {
    const queue = uniqueQueue();
    const relay = await startWorkerServiceRelay(stack.schedulerUrl, { streams: true });
    const gate = deferred();
    let running = 0;
    let most = 0;
    const worker = createWorker({
      scheduler: relay.url,
      queues: [queue],
      concurrency: 3,
      logger: stack.logger,
      handlers: {
        hold: async () => {
          running += 1;
          most = Math.max(most, running);
          await gate.promise;
          running -= 1;
          return null;
        },
      },
    });
    await worker.start();
    try {
      const jobs = await client.submitMany(Array.from({ length: 10 }, () => ({ type: "hold", queue })));
      await eventually(() => Promise.resolve(running === 3 || undefined));
      gate.resolve();
      const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 20_000 })));
      expect(done.every((j) => j.status === JobStatus.COMPLETED)).toBe(true);
      expect(most).toBe(3);
      expect(relay.callsOf("leaseJobs")).toHaveLength(0);
      const [stream, ...others] = relay.callsOf("dispatchJobs");
      expect(others).toHaveLength(0);
      expect(stream!.request).toMatchObject({ queues: [queue], jobTypes: ["hold"], credits: 3 });
      // Every credit after the first three answers a job that left, and every job sent had a credit.
      await eventually(() => Promise.resolve(credits(stream!.requests!) === 13 || undefined));
      const sent = stream!.responses!.reduce((n: number, r: { jobs: unknown[] }) => n + r.jobs.length, 0);
      expect(sent).toBe(10);
      // The outcomes went on the stream, each answered there: no ReportJobs call.
      expect(stream!.responses![0]).toMatchObject({ takesReports: true, jobs: [] });
      const reported = stream!.requests!.flatMap((r: { reports: Array<{ lease: { jobId: string } }> }) => r.reports.map((x) => x.lease.jobId));
      expect(reported.sort()).toEqual(jobs.map((j) => j.id).sort());
      const answered = stream!.responses!.flatMap((r: { reportResults: Array<{ jobId: string }> }) => r.reportResults.map((x) => x.jobId));
      expect(answered.sort()).toEqual(jobs.map((j) => j.id).sort());
      expect(relay.callsOf("reportJobs")).toHaveLength(0);
      expect(worker.stats()).toMatchObject({ leased: 10, completed: 10, inFlight: 0 });
    } finally {
      gate.resolve();
      await worker.stop();
      await relay.close();
    }
  });

  it("opens a new stream after the link breaks, granting the slots free then, and runs what was submitted meanwhile", async () => {
    const queue = uniqueQueue();
    const relay = await startWorkerServiceRelay(stack.schedulerUrl, { streams: true });
    const link = await startTcpProxy(relay.url);
    const tap = new LogTap();
    const worker = createWorker({
      scheduler: link.url,
      queues: [queue],
      concurrency: 4,
      logger: pino({ level: "debug" }, tap.stream),
      handlers: { echo: (ctx) => Promise.resolve(ctx.payload) },
    });
    await worker.start();
    const streams = () => relay.callsOf("dispatchJobs");
    try {
      await eventually(() => Promise.resolve(streams()[0]));
      const failed = tap.next("of the broken stream", (l) => l.msg === "dispatch stream failed, retrying");
      link.partition();
      await failed;
      const { id } = await client.submit({ type: "echo", queue, payload: { n: 1 } });
      link.heal();
      expect(await client.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ status: JobStatus.COMPLETED });
      const reopened = streams().at(-1)!;
      expect(streams().length).toBeGreaterThanOrEqual(2);
      expect(reopened.request).toMatchObject({ workerId: worker.id, credits: 4 });
    } finally {
      await worker.stop();
      await link.close();
      await relay.close();
    }
  });

  it("ends its stream on stop, half-closing it, and leaves no job leased", async () => {
    const queue = uniqueQueue();
    const relay = await startWorkerServiceRelay(stack.schedulerUrl, { streams: true });
    const worker = createWorker({
      scheduler: relay.url,
      queues: [queue],
      logger: stack.logger,
      handlers: { echo: (ctx) => Promise.resolve(ctx.payload) },
    });
    await worker.start();
    const stream = await eventually(() => Promise.resolve(relay.callsOf("dispatchJobs")[0]));
    await worker.stop();
    expect(stream.done).toBe(true);
    expect(stream.error).toBeUndefined();
    // A job submitted after the stop waits for another worker: nothing leased it.
    const { id } = await client.submit({ type: "echo", queue });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await client.get(id)).status).toBe(JobStatus.PENDING);
    await relay.close();
  });
});
