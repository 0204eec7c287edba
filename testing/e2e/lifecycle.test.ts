import { createTaskFlowClient, JobEventType, JobStatus, jobResult, type Job, type TaskFlowClient } from "@taskflow/client";
import { eventually, spawnTestStack, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planMixedJobs, type Expectation } from "./mixed-jobs.js";

const statusText: Record<number, string> = {
  [JobStatus.COMPLETED]: "completed",
  [JobStatus.FAILED]: "failed",
  [JobStatus.CANCELLED]: "cancelled",
  [JobStatus.PENDING]: "pending",
  [JobStatus.PROCESSING]: "processing",
};
const eventText = (t: JobEventType): string => JobEventType[t].toLowerCase();

let stack: TestStack;
let client: TaskFlowClient;

beforeAll(async () => {
  stack = await spawnTestStack({
    scheduler: { RETRY_BASE_MS: "20", RETRY_MAX_MS: "200", SWEEP_INTERVAL_MS: "100" },
    worker: { WORKER_CONCURRENCY: "50" },
  });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

/** Waits until history holds no pending or processing job, or fails after `timeoutMs`. */
async function settle(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; Date.now() < deadline; wait = Math.min(wait * 2, 500)) {
    const page = await client.list({ statuses: [JobStatus.PENDING, JobStatus.PROCESSING], pageSize: 1 });
    if (page.jobs.length === 0) return;
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`jobs still running after ${timeoutMs} ms`);
}

function outcome(job: Job, trail: string[], seqs: number[]) {
  return {
    status: statusText[job.status],
    attempts: job.attempts,
    result: job.status === JobStatus.COMPLETED ? jobResult(job) : undefined,
    error: job.status === JobStatus.FAILED ? job.error : undefined,
    trail,
    gapless: seqs.every((s, i) => s === i + 1),
  };
}

describe("the whole lifecycle across three processes", () => {
  it("runs 1,000 mixed jobs to the terminal status, attempts, result and audit trail each should have", async () => {
    const plan = planMixedJobs(1000);
    const submitted: Job[] = [];
    for (let i = 0; i < plan.length; i += 100) {
      submitted.push(...(await client.submitMany(plan.slice(i, i + 100).map((p) => p.input))));
    }
    expect(submitted.every((j) => j.status === JobStatus.PENDING && j.id.length === 36)).toBe(true);
    expect(new Set(submitted.map((j) => j.id)).size).toBe(1000);

    await settle(120_000);

    const mismatches: unknown[] = [];
    for (const [i, sent] of submitted.entries()) {
      const want: Expectation = plan[i]!.expect;
      const job = await client.get(sent.id);
      const events = await client.events(sent.id);
      const got = outcome(job, events.map((e) => eventText(e.type)), events.map((e) => e.seq));
      const expected = { status: want.status, attempts: want.attempts, result: want.result, error: want.error, trail: want.trail, gapless: true };
      if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push({ i, id: sent.id, got, expected });
      const startedMs = job.startedAt ? Number(job.startedAt.seconds) * 1000 + job.startedAt.nanos / 1e6 : 0;
      const createdMs = Number(job.createdAt!.seconds) * 1000 + job.createdAt!.nanos / 1e6;
      if (want.notBeforeMs !== undefined && startedMs - createdMs < want.notBeforeMs - 50) {
        mismatches.push({ i, id: sent.id, startedEarlyByMs: want.notBeforeMs - (startedMs - createdMs) });
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  }, 180_000);

  it("runs a queue's ready jobs highest priority first", async () => {
    const priorities = [5, 900, 0, 450, 1000, 100];
    const jobs = await client.submitMany(
      // Each job sleeps 20 ms so that start times are far apart enough to order.
      priorities.map((priority) => ({ type: "sleep", queue: "prio", priority, payload: { ms: 20 } })),
    );
    // Only now does a worker serve the queue, one job at a time, so order is the queue's order.
    await stack.addWorker({ WORKER_QUEUES: "prio", WORKER_CONCURRENCY: "1" });
    const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 30_000 })));
    const byStart = [...done].sort((a, b) => Number(a.startedAt!.seconds - b.startedAt!.seconds) || a.startedAt!.nanos - b.startedAt!.nanos);
    expect(byStart.map((j) => j.priority)).toEqual([1000, 900, 450, 100, 5, 0]);
  }, 60_000);

  it("wakes a worker long-polling one scheduler replica for a job submitted through the other", async (ctx) => {
    if (stack.schedulers.length < 2) return ctx.skip("one scheduler replica (TEST_STACK_REPLICAS=1)");
    const [polled, other] = stack.schedulers;
    // Past the balancers: the worker polls only the first replica, the job goes in through the second.
    await stack.addWorker({ SCHEDULER_URL: polled!.url, WORKER_QUEUES: "wake", WORKER_CONCURRENCY: "1" });
    const through = createTaskFlowClient({ schedulerUrl: other!.url, historyUrl: stack.historyUrl });
    try {
      // A first job makes sure the worker is up and back in a long poll (10 s) when the next comes.
      const [warm] = await through.submitMany([{ type: "echo", queue: "wake", payload: {} }]);
      await through.waitFor(warm!.id, { timeoutMs: 30_000 });
      const [job] = await through.submitMany([{ type: "echo", queue: "wake", payload: {} }]);
      expect((await through.waitFor(job!.id, { timeoutMs: 30_000 })).status).toBe(JobStatus.COMPLETED);
      // Each replica forwards its own share of the queue's outbox, so history may record the
      // COMPLETED event a moment before the STARTED one that carries the start time.
      const done = await eventually(async () => {
        const j = await through.get(job!.id);
        return j.startedAt === undefined ? undefined : j;
      });
      const ms = (t: { seconds: bigint; nanos: number }): number => Number(t.seconds) * 1000 + t.nanos / 1e6;
      // Woken through Redis at once, not when the poll ran out.
      expect(ms(done.startedAt!) - ms(done.createdAt!)).toBeLessThan(2_000);
    } finally {
      await through.close();
    }
  }, 60_000);
});
