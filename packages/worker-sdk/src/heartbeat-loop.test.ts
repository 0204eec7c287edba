import { createTaskFlowClient, JobEventType, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, startTcpProxy, uniqueQueue, type TcpProxy } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred } from "../test/helpers.js";
import { createWorker } from "./create-worker.js";
import type { JobAbortError } from "./job-abort-error.js";
import type { JobContext } from "./types.js";

let stack: InProcessStack;
let client: TaskFlowClient;
let proxy: TcpProxy;

beforeAll(async () => {
  stack = await startInProcessStack({ LEASE_MS: "1000" });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  proxy = await startTcpProxy(stack.schedulerUrl);
});

afterAll(async () => {
  await proxy?.close();
  await client?.close();
  await stack?.close();
});

describe("heartbeats", () => {
  it("stop an attempt whose lease was lost, without reporting it", async () => {
    const queue = uniqueQueue();
    const firstRun = deferred<JobContext>();
    const firstAborted = deferred();
    // Worker A reaches the scheduler through a link the test cuts.
    const a = createWorker({
      scheduler: proxy.url,
      queues: [queue],
      logger: stack.logger,
      leaseWaitMs: 500,
      handlers: {
        work: (ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => (firstAborted.resolve(), reject(ctx.signal.reason as JobAbortError)));
            firstRun.resolve(ctx);
          }),
      },
    });
    await a.start();
    const b = createWorker({
      scheduler: stack.schedulerUrl,
      queues: [queue],
      logger: stack.logger,
      handlers: { work: () => Promise.resolve("by b") },
    });
    try {
      const { id } = await client.submit({ type: "work", queue, maxAttempts: 3 });
      const ctx = await firstRun.promise;
      proxy.partition();
      await eventually(async () =>
        (await client.events(id)).some((e) => e.type === JobEventType.LEASE_EXPIRED) || undefined,
      );
      // B takes the job over and finishes it while A still believes it holds the lease.
      await b.start();
      const done = await client.waitFor(id, { timeoutMs: 20_000 });
      expect(done).toMatchObject({ status: JobStatus.COMPLETED, workerId: b.id, attempts: 2 });
      proxy.heal();
      await firstAborted.promise;
      expect((ctx.signal.reason as JobAbortError).kind).toBe("lost");
      await eventually(() => Promise.resolve(a.stats().lost === 1 ? true : undefined));
      expect(a.stats()).toMatchObject({ lost: 1, completed: 0, failed: 0, inFlight: 0 });
      const after = await client.get(id);
      expect(after).toMatchObject({ status: JobStatus.COMPLETED, workerId: b.id });
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
