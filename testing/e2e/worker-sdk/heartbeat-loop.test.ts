import { createTaskFlowClient, JobEventType, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { LeaseStatus, ReportStatus } from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, startTcpProxy, uniqueQueue, type TcpProxy } from "@taskflow/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred, LogTap } from "./helpers.js";
import { startWorkerServiceRelay, type RelayedCall } from "./worker-service-relay.js";
import { createWorker, type JobAbortError, type JobContext } from "@taskflow/worker-sdk";

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

  it("stop carrying a lost lease whose outcome is queued, but its report is sent until answered", async () => {
    const queue = uniqueQueue();
    // Worker -> link the test cuts -> relay that keeps what the scheduler received -> scheduler.
    const relay = await startWorkerServiceRelay(stack.schedulerUrl);
    const link = await startTcpProxy(relay.url);
    const tap = new LogTap();
    const started = deferred();
    const finish = deferred();
    const worker = createWorker({
      scheduler: link.url,
      queues: [queue],
      logger: pino({ level: "debug" }, tap.stream),
      leaseWaitMs: 500,
      handlers: { work: async () => (started.resolve(), await finish.promise, "finished in the outage") },
    });
    await worker.start();
    try {
      const { id } = await client.submit({ type: "work", queue, maxAttempts: 3 });
      await started.promise;
      link.partition();
      finish.resolve();
      // The scheduler ends the lease while the finished job's report cannot reach it.
      await eventually(async () => (await client.events(id)).some((e) => e.type === JobEventType.LEASE_EXPIRED) || undefined);
      // Heal while the next report retry is seconds away: a heartbeat gets through first and
      // hears LOST for the lease the queued report holds.
      await tap.next("of a long report backoff", (l) => l.msg === "report failed, retrying" && Number(l["retry_in_ms"]) >= 2000);
      link.heal();
      const answer = await tap.next(
        "answering the report",
        (l) => l["job_id"] === id && (l.msg === "report accepted" || l.msg === "report refused, lease lost"),
      );
      const lostAt = relay.calls.findIndex((c) => c.method === "heartbeat" && heardLost(c, id));
      const reportAt = relay.calls.findIndex((c) => c.method === "reportJobs" && c.response !== undefined && carries(c, id));
      expect(lostAt).toBeGreaterThanOrEqual(0);
      expect(reportAt).toBeGreaterThan(lostAt);
      // The scheduler keeps the late outcome (ACCEPTED) unless the worker's lease loop leased the
      // job again first (LEASE_LOST, and the new attempt finishes it). Either way the finished
      // work is not turned into a failure.
      const status = relay.calls[reportAt]!.response.results[0].status as ReportStatus;
      expect([ReportStatus.ACCEPTED, ReportStatus.LEASE_LOST]).toContain(status);
      expect(answer.msg).toBe(status === ReportStatus.ACCEPTED ? "report accepted" : "report refused, lease lost");
      const done = await client.waitFor(id, { timeoutMs: 20_000 });
      expect(done.status).toBe(JobStatus.COMPLETED);
      if (status === ReportStatus.ACCEPTED) expect(done.attempts).toBe(1);
      // Two more beats, and none carries the lost lease again.
      await eventually(() => Promise.resolve(relay.calls.slice(lostAt + 1).filter((c) => c.method === "heartbeat").length >= 2 || undefined));
      const later = relay.calls.slice(lostAt + 1).filter((c) => c.method === "heartbeat");
      const lostToken = (relay.calls[lostAt]!.request.leases as { jobId: string; leaseToken: string }[]).find((l) => l.jobId === id)!.leaseToken;
      expect(later.filter((c) => c.request.leases.some((l: { leaseToken: string }) => l.leaseToken === lostToken))).toEqual([]);
      expect(worker.stats()).toMatchObject({ lost: 0, inFlight: 0 });
    } finally {
      await worker.stop();
      await link.close();
      await relay.close();
    }
  });
});

function heardLost(call: RelayedCall, jobId: string): boolean {
  return (call.response?.leases ?? []).some((s: { jobId: string; status: LeaseStatus }) => s.jobId === jobId && s.status === LeaseStatus.LOST);
}

function carries(call: RelayedCall, jobId: string): boolean {
  return call.request.reports.some((r: { lease?: { jobId: string } }) => r.lease?.jobId === jobId);
}
