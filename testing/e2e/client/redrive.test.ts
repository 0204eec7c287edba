import { JobEventType, JobStatus } from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTaskFlowClient, type TaskFlowClient } from "@taskflow/client";
import { HandWorker } from "./hand-worker.js";

let stack: InProcessStack;
let client: TaskFlowClient;
const handWorkers: HandWorker[] = [];

beforeAll(async () => {
  stack = await startInProcessStack();
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
});

afterAll(async () => {
  for (const w of handWorkers) w.close();
  await client?.close();
  await stack?.close();
});

async function handWorker(queue: string): Promise<HandWorker> {
  const worker = new HandWorker(stack.schedulerUrl, `hand-${queue}`, queue);
  handWorkers.push(worker);
  await worker.register(["report.build"]);
  return worker;
}

const untilStatus = (id: string, status: JobStatus) =>
  eventually(async () => ((await client.get(id)).status === status ? true : undefined));

describe("redrive through the client", () => {
  it("shows a failed job among the dead letters, retries it, and it completes", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue);
    const job = await client.submit({ type: "report.build", queue, maxAttempts: 1 });
    await worker.fail(await worker.leaseOne(), "upstream 503");
    await untilStatus(job.id, JobStatus.FAILED);

    const dead = await client.deadLetters({ queues: [queue] });
    expect(dead.failed.map((j) => [j.id, j.error])).toEqual([[job.id, "upstream 503"]]);
    expect(dead).toMatchObject({ moreFailed: false, parked: [] });
    expect(await client.parkedEvents(queue)).toEqual([]);

    const dry = await client.retryJobs({ queues: [queue], text: "upstream", dryRun: true });
    expect(dry.jobs.map((j) => j.id)).toEqual([job.id]);
    expect((await client.get(job.id)).status).toBe(JobStatus.FAILED);

    const retried = await client.retry(job.id);
    expect(retried).toMatchObject({ id: job.id, status: JobStatus.PENDING, attempts: 0 });
    const leased = await worker.leaseOne();
    expect(leased.job).toMatchObject({ id: job.id, attempts: 1 });
    await worker.complete(leased, { ok: true });
    const done = await client.waitFor(job.id, { timeoutMs: 10_000 });
    expect(done.status).toBe(JobStatus.COMPLETED);
    expect((await client.events(job.id)).map((e) => e.type)).toEqual([
      JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.FAILED, JobEventType.RETRIED, JobEventType.STARTED, JobEventType.COMPLETED,
    ]);
    expect((await client.deadLetters({ queues: [queue] })).failed).toEqual([]);
    const [action] = await client.operatorActions({ target: job.id });
    expect(action).toMatchObject({ action: "job.retry", actor: "api" });
  });

  it("retries what a filter selects, a limit at a time", async () => {
    const queue = uniqueQueue();
    const worker = await handWorker(queue);
    const jobs = await client.submitMany([1, 2, 3].map(() => ({ type: "report.build", queue, maxAttempts: 1 })));
    for (let i = 0; i < jobs.length; i++) await worker.fail(await worker.leaseOne(), "timeout");
    for (const j of jobs) await untilStatus(j.id, JobStatus.FAILED);
    const first = await client.retryJobs({ queues: [queue], statuses: [JobStatus.FAILED], limit: 2 });
    expect(first).toMatchObject({ more: true });
    expect(first.jobs).toHaveLength(2);
    const second = await client.retryJobs({ queues: [queue], limit: 2 });
    expect(second).toMatchObject({ more: false });
    expect([...first.jobs, ...second.jobs].map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
  });
});
