import { createTaskFlowClient, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { spawnTestStack, uniqueQueue, type TestStack } from "@taskflow/testkit";
import { createWorker } from "@taskflow/worker-sdk";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: TestStack;
/** A client of each scheduler replica, to pause through one and watch through the other. */
let viaFirst: TaskFlowClient;
let viaSecond: TaskFlowClient;

beforeAll(async () => {
  stack = await spawnTestStack({ worker: false, schedulers: 2 });
  const [first, second] = stack.schedulers;
  viaFirst = createTaskFlowClient({ schedulerUrl: first!.url, historyUrl: stack.historyUrl });
  viaSecond = createTaskFlowClient({ schedulerUrl: second!.url, historyUrl: stack.historyUrl });
});

afterAll(async () => {
  await viaFirst?.close();
  await viaSecond?.close();
  await stack?.stop();
});

describe("pausing a queue", () => {
  it("stops workers on every replica at once and lets the running jobs finish; resuming through another replica starts the rest at once", async () => {
    const queue = uniqueQueue();
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Two workers, each on its own replica, streaming from it.
    const workers = stack.schedulers.map((s) =>
      createWorker({
        scheduler: s.url,
        queues: [queue],
        concurrency: 2,
        logger: pino({ level: "warn" }),
        handlers: {
          hold: async (ctx) => {
            started.push(ctx.id);
            await gate;
            return null;
          },
        },
      }),
    );
    await Promise.all(workers.map((w) => w.start()));
    try {
      const first = await viaFirst.submitMany(Array.from({ length: 4 }, () => ({ type: "hold", queue })));
      await expect.poll(() => started.length, { timeout: 10_000 }).toBe(4);

      const paused = await viaFirst.pauseQueue(queue);
      expect(paused).toMatchObject({ name: queue, paused: true, leased: 4n });
      const later = await viaSecond.submitMany(Array.from({ length: 6 }, () => ({ type: "hold", queue })));
      release();
      // The running jobs end well; none of the later ones starts, though every slot is free.
      for (const job of first) expect((await viaSecond.waitFor(job.id, { timeoutMs: 10_000 })).status).toBe(JobStatus.COMPLETED);
      await new Promise((r) => setTimeout(r, 500));
      expect(started).toHaveLength(4);
      expect(await viaSecond.queue(queue)).toMatchObject({ paused: true, ready: 6n, leased: 0n });
      expect((await viaSecond.queues()).find((q) => q.name === queue)).toMatchObject({ paused: true });

      const resumedAt = Date.now();
      expect(await viaSecond.resumeQueue(queue)).toMatchObject({ paused: false });
      for (const job of later) expect((await viaFirst.waitFor(job.id, { timeoutMs: 10_000 })).status).toBe(JobStatus.COMPLETED);
      // Woken at once, not at a worker's periodic recheck (10 s).
      expect(Date.now() - resumedAt).toBeLessThan(5_000);
      expect(started).toHaveLength(10);
    } finally {
      release();
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
});

describe("queue limits", () => {
  it("never run more of a queue's jobs at once than max_running, over two workers on two replicas, and run them all", async () => {
    const queue = uniqueQueue();
    await viaFirst.setQueueLimits(queue, { maxRunning: 3 });
    let running = 0;
    let most = 0;
    const workers = stack.schedulers.map((s) =>
      createWorker({
        scheduler: s.url,
        queues: [queue],
        concurrency: 5,
        logger: pino({ level: "warn" }),
        handlers: {
          work: async () => {
            running += 1;
            most = Math.max(most, running);
            await new Promise((r) => setTimeout(r, 40));
            running -= 1;
            return null;
          },
        },
      }),
    );
    await Promise.all(workers.map((w) => w.start()));
    try {
      const jobs = await viaSecond.submitMany(Array.from({ length: 40 }, () => ({ type: "work", queue })));
      for (const job of jobs) expect((await viaFirst.waitFor(job.id, { timeoutMs: 20_000 })).status).toBe(JobStatus.COMPLETED);
      // Ten slots between the two workers; the limit, not the slots, bounds what runs.
      expect(most).toBe(3);
      expect((await viaSecond.queue(queue)).limits).toMatchObject({ maxRunning: 3 });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });

  it("never run more of one job type at once than its max_running, over two workers on two replicas, while the queue's other type runs freely", async () => {
    const queue = uniqueQueue();
    await viaFirst.setQueueLimits(queue, { maxRunning: 2 }, "slow");
    const running = { slow: 0, fast: 0 };
    const most = { slow: 0, fast: 0 };
    const handler = (type: "slow" | "fast") => async () => {
      running[type] += 1;
      most[type] = Math.max(most[type], running[type]);
      await new Promise((r) => setTimeout(r, 40));
      running[type] -= 1;
      return null;
    };
    const workers = stack.schedulers.map((s) =>
      createWorker({
        scheduler: s.url,
        queues: [queue],
        concurrency: 5,
        logger: pino({ level: "warn" }),
        handlers: { slow: handler("slow"), fast: handler("fast") },
      }),
    );
    await Promise.all(workers.map((w) => w.start()));
    try {
      // The limited type first and at a higher priority: it must not hold the others back.
      const jobs = await viaSecond.submitMany([
        ...Array.from({ length: 30 }, () => ({ type: "slow", queue, priority: 10 })),
        ...Array.from({ length: 30 }, () => ({ type: "fast", queue })),
      ]);
      for (const job of jobs) expect((await viaFirst.waitFor(job.id, { timeoutMs: 30_000 })).status).toBe(JobStatus.COMPLETED);
      expect(most.slow).toBe(2);
      expect(most.fast).toBeGreaterThan(2);
      expect((await viaSecond.queue(queue)).typeLimits).toMatchObject([{ type: "slow", limits: { maxRunning: 2 }, running: 0n }]);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
});
