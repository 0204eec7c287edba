import { createTaskFlowClient, JobEventType, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { spawnTestStack, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A payload a little under the 1 MiB limit, as JSON. */
const NEAR_LIMIT = 1_048_576 - 4_096;
const JOBS = 40;

let stack: TestStack;
let client: TaskFlowClient;

beforeAll(async () => {
  stack = await spawnTestStack({ worker: { WORKER_CONCURRENCY: "10" } });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

describe("jobs at the payload limit (HTTP/2, real processes)", () => {
  it("runs dozens of echo jobs near 1 MiB submitted at once, each once, with its result in history", async () => {
    const blob = "x".repeat(NEAR_LIMIT - 32);
    // Every hop carries them: lease answers, reports with 1 MiB results, outbox batches to history.
    const jobs = await Promise.all(Array.from({ length: JOBS }, (_, n) => client.submit({ type: "echo", payload: { n, blob } })));
    const done = await Promise.all(jobs.map((j) => client.waitFor(j.id, { timeoutMs: 120_000 })));
    expect(done.map((j) => [j.status, j.attempts])).toEqual(jobs.map(() => [JobStatus.COMPLETED, 1]));
    for (const job of jobs.slice(0, 3)) {
      const events = await client.events(job.id);
      expect(events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.COMPLETED]);
      const stored = await client.get(job.id);
      expect(JSON.stringify(stored.result).length).toBeGreaterThan(NEAR_LIMIT - 1_000);
    }
  }, 150_000);
});
