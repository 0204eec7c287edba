import { createTaskFlowClient, JobStatus, type Job, type TaskFlowClient } from "@taskflow/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, type FaultStack } from "./fault-stack.js";
import { expectInvariants, withoutLapses } from "./invariants.js";
import { ackedIds, startSteadyLoad } from "./steady-load.js";

let fs: FaultStack;
/** Cancels through the last scheduler replica, while the workers poll the first. */
let canceller: TaskFlowClient;

beforeAll(async () => {
  // One worker with three slots on the default queue, so jobs queue up behind the running ones;
  // another serves the load's queue. Leases of 3 s: the case is about cancels, and a lease lost
  // to a loaded machine would turn a running job back into a waiting one mid-case.
  fs = await startFaultStack({ workers: 0, scheduler: { LEASE_MS: "3000" } });
  // Past the balancer: a cancel must reach the handler through Redis, whichever replica took it.
  const { schedulers, historyUrl } = fs.stack;
  const polled = { SCHEDULER_URL: schedulers[0]!.url };
  await fs.addWorker({ ...polled, WORKER_CONCURRENCY: "3" });
  await fs.addWorker({ ...polled, WORKER_QUEUES: "load" });
  canceller = createTaskFlowClient({ schedulerUrl: schedulers.at(-1)!.url, historyUrl });
});

afterAll(async () => {
  await canceller?.close();
  await fs?.close();
});

const submitAll = (n: number, make: (i: number) => Parameters<FaultStack["submit"]>[0]): Promise<Job[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => fs.submit(make(i))));

describe("fault: pending, delayed and running jobs are cancelled under load", () => {
  it("ends each cancelled job CANCELLED, aborts running handlers, and leaves the other jobs alone", async () => {
    const load = startSteadyLoad({
      submit: fs.submit,
      input: (n) => ({ type: "echo", queue: "load", payload: { n } }),
      paceMs: 20,
      maxDurationMs: 30_000,
    });
    const running = await submitAll(3, () => ({ type: "sleep", payload: { ms: 30_000 }, maxAttempts: 10 }));
    await fs.untilLogged(running);
    const pending = await submitAll(10, () => ({ type: "sleep", payload: { ms: 100 } }));
    const delayed = await submitAll(5, () => ({ type: "sleep", payload: { ms: 100 }, delayMs: 60_000 }));
    const waiting = [...pending.slice(0, 5), ...delayed];
    const cancel = (jobs: Job[]) => Promise.all(jobs.map(async (j) => (await canceller.cancel(j.id, "fault suite")).status));
    // Waiting jobs first: cancelling the running ones frees slots the waiting ones would take.
    expect(await cancel(waiting)).toEqual(waiting.map(() => JobStatus.CANCELLED));
    expect(await cancel(running)).toEqual(running.map(() => JobStatus.PROCESSING));
    const cancelled = [...running, ...waiting];
    const ended = await Promise.all(cancelled.map((j) => fs.client.waitFor(j.id, { timeoutMs: 20_000 })));
    const outcomes = await load.stop();

    expect(ended.map((j) => j.status)).toEqual(cancelled.map(() => JobStatus.CANCELLED));
    const acked = [...running, ...pending, ...delayed].map((j) => j.id).concat(ackedIds(outcomes));
    const facts = await expectInvariants(fs, { acked });
    const log = await fs.executions();
    for (const job of running) {
      expect(withoutLapses(facts.get(job.id)!.trail).map((e) => e.type)).toEqual(["submitted", "started", "cancelled"]);
      // The attempt running when the cancel came saw its signal abort, and nothing ran after it.
      expect(log.filter((r) => r.job_id === job.id).slice(-2).map((r) => [r.event, r.reason])).toEqual([
        ["start", undefined],
        ["abort", "cancel"],
      ]);
    }
    for (const job of waiting) {
      expect(facts.get(job.id)!.trail.map((e) => e.type)).toEqual(["submitted", "cancelled"]);
      expect(facts.get(job.id)!.executions).toBe(0);
    }
    for (const id of [...pending.slice(5).map((j) => j.id), ...ackedIds(outcomes)]) {
      expect(facts.get(id)!.status).toBe("completed");
    }
  }, 60_000);
});
