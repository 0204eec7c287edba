import { createTaskFlowClient, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, startTcpProxy, uniqueQueue } from "@taskflow/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogTap } from "./helpers.js";
import { startWorkerServiceRelay, type RelayedCall } from "./worker-service-relay.js";
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

describe("lease asks, against a scheduler that does not serve DispatchJobs", () => {
  it("name the worker's job types, and a retry keeps the id of the ask whose answer was lost", async () => {
    const queue = uniqueQueue();
    // Worker -> link the test cuts -> relay that keeps what the scheduler received -> scheduler.
    const relay = await startWorkerServiceRelay(stack.schedulerUrl);
    const link = await startTcpProxy(relay.url);
    const tap = new LogTap();
    const worker = createWorker({
      scheduler: link.url,
      queues: [queue],
      logger: pino({ level: "debug" }, tap.stream),
      leaseWaitMs: 5_000,
      handlers: { "mail.send": () => Promise.resolve("sent"), "pdf.render": () => Promise.resolve(null) },
    });
    await worker.start();
    const asks = (): RelayedCall[] => relay.callsOf("leaseJobs");
    try {
      // Cut the link under a long poll: its answer, had it leased anything, would be lost.
      const cut = await eventually(() => Promise.resolve(asks().find((c) => !c.done)));
      const at = asks().indexOf(cut);
      const failed = tap.next("of the failed lease", (l) => l.msg === "lease failed, retrying");
      link.partition();
      await failed;
      link.heal();
      const retry = await eventually(() => Promise.resolve(asks()[at + 1]));
      expect(retry.request.requestId).toBe(cut.request.requestId);
      expect(retry.request.maxJobs).toBe(cut.request.maxJobs);
      // A job ends the retried poll with an answer; the next ask is a new one.
      const { id } = await client.submit({ type: "mail.send", queue });
      expect(await client.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ status: JobStatus.COMPLETED });
      const next = await eventually(() => Promise.resolve(asks()[at + 2]));
      expect(retry.response?.jobs.map((j: { job: { id: string } }) => j.job.id)).toEqual([id]);
      expect(next.request.requestId).not.toBe(retry.request.requestId);
      for (const ask of asks()) {
        expect(ask.request.jobTypes).toEqual(["mail.send", "pdf.render"]);
        expect(ask.request.requestId).toMatch(/^[A-Za-z0-9_-]{16}$/);
      }
      // Only the last call of an id may have been answered: an answered ask is never repeated.
      const ids = asks().map((c) => c.request.requestId as string);
      asks().forEach((c, i) => {
        if (c.response !== undefined) expect(ids.indexOf(c.request.requestId, i + 1)).toBe(-1);
      });
    } finally {
      await worker.stop();
      await link.close();
      await relay.close();
    }
  });
});
