import { createTaskFlowClient, JobStatus, type Job, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { uniqueQueue } from "@taskflow/testkit";
import { createWorker, type JobContext } from "@taskflow/worker-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred } from "./helpers.js";
import { startWorkerServiceRelay, type WorkerServiceRelay } from "./worker-service-relay.js";

let stack: InProcessStack;
let client: TaskFlowClient;
let relay: WorkerServiceRelay;

beforeAll(async () => {
  // Leases of 30 s: regular heartbeats every 10 s, so progress seen within a few seconds came
  // with an early beat.
  stack = await startInProcessStack({ LEASE_MS: "30000" });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  relay = await startWorkerServiceRelay(stack.schedulerUrl);
});

afterAll(async () => {
  await relay?.close();
  await client?.close();
  await stack?.close();
});

/** A handler that reports `steps` one by one, each after the test lets it go on. */
function steppedHandler() {
  const started = deferred<JobContext>();
  const gates = [deferred(), deferred()];
  const handler = async (ctx: JobContext) => {
    started.resolve(ctx);
    ctx.progress(25, { step: "download" });
    await gates[0]!.promise;
    // Coalesced: only the latest of values reported together is sent.
    ctx.progress(50, { step: "unpack" });
    ctx.progress(75, { step: "convert" });
    await gates[1]!.promise;
    return "done";
  };
  return { handler, started, gates };
}

/** Messages of the job's watch until one passes `match`. */
async function watchUntil(stream: AsyncIterator<{ job: Job }>, match: (j: Job) => boolean): Promise<Job> {
  for (;;) {
    const r = await stream.next();
    if (r.done === true) throw new Error("the watch ended first");
    if (match(r.value.job)) return r.value.job;
  }
}

describe.each([
  ["the DispatchJobs stream", () => stack.schedulerUrl],
  ["LeaseJobs long polls", () => relay.url],
] as const)("a handler's progress, with a worker on %s", (_path, schedulerUrl) => {
  it("shows in GetJob and is streamed by WatchJob and WatchJobs, soon after each report", async () => {
    const queue = uniqueQueue();
    const { handler, started, gates } = steppedHandler();
    const worker = createWorker({ scheduler: schedulerUrl(), queues: [queue], logger: stack.logger, handlers: { convert: handler } });
    const watching = new AbortController();
    const dashboard: Job[] = [];
    const live = deferred();
    const following = (async () => {
      for await (const j of client.watchJobs({ queues: [queue] }, { signal: watching.signal, onLive: live.resolve })) dashboard.push(j);
    })();
    await live.promise;
    await worker.start();
    try {
      const { id } = await client.submit({ type: "convert", queue });
      const watch = client.watch(id)[Symbol.asyncIterator]();
      await started.promise;
      const t0 = Date.now();
      const first = await watchUntil(watch, (j) => j.progress?.percent === 25);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(first.progress).toMatchObject({ details: { step: "download" }, attempt: 1 });
      expect((await client.get(id)).progress?.percent).toBe(25);

      gates[0]!.resolve();
      const second = await watchUntil(watch, (j) => (j.progress?.percent ?? 0) > 25);
      expect(second.progress).toMatchObject({ percent: 75, details: { step: "convert" } });

      gates[1]!.resolve();
      const done = await watchUntil(watch, (j) => j.status === JobStatus.COMPLETED);
      expect(done.progress?.percent).toBe(75);
      expect((await watch.next()).done).toBe(true);
      // The trail holds transitions only: no event per progress report.
      expect((await client.events(id)).map((e) => e.type)).toHaveLength(3);

      // The dashboard's watch saw the same job's progress and end.
      const seen = () => dashboard.filter((j) => j.id === id);
      while (!seen().some((j) => j.status === JobStatus.COMPLETED)) await new Promise((r) => setTimeout(r, 20));
      expect(seen().map((j) => j.progress?.percent ?? 0)).toEqual(expect.arrayContaining([25, 75]));
      expect(dashboard.every((j) => j.queue === queue)).toBe(true);
    } finally {
      gates.forEach((g) => g.resolve());
      await worker.stop();
      watching.abort();
      await following;
    }
  });
});

describe("progress on the heartbeat", () => {
  it("is sent once per value, at most one early beat a second, and refused locally when out of range", async () => {
    const queue = uniqueQueue();
    const reported = deferred();
    const finish = deferred();
    const refusals: string[] = [];
    const worker = createWorker({
      scheduler: relay.url,
      queues: [queue],
      logger: stack.logger,
      handlers: {
        busy: async (ctx) => {
          for (let i = 0; i <= 100; i++) ctx.progress(i, { i });
          for (const bad of [() => ctx.progress(101), () => ctx.progress(5, { s: "x".repeat(5_000) })]) {
            try {
              bad();
            } catch (err) {
              refusals.push((err as Error).message);
            }
          }
          reported.resolve();
          await finish.promise;
        },
      },
    });
    await worker.start();
    try {
      const { id } = await client.submit({ type: "busy", queue });
      await reported.promise;
      const job = await (async () => {
        for await (const m of client.watch(id)) if (m.job.progress?.percent === 100) return m.job;
        throw new Error("the watch ended first");
      })();
      expect(job.progress?.details).toEqual({ i: 100 });
      expect(refusals).toEqual([expect.stringMatching(/percent/), expect.stringMatching(/4096 bytes/)]);
      const carrying = relay
        .callsOf("heartbeat")
        .filter((c) => c.request.leases.some((l: { jobId: string; progress?: unknown }) => l.jobId === id && l.progress !== undefined));
      // 101 reports in a tight loop: one or two beats carry them (the first may go before the loop ends), never one per report.
      expect(carrying.length).toBeGreaterThanOrEqual(1);
      expect(carrying.length).toBeLessThanOrEqual(2);
      expect(carrying.at(-1)!.request.leases[0].progress.percent).toBe(100);
    } finally {
      finish.resolve();
      await worker.stop();
    }
  });
});
