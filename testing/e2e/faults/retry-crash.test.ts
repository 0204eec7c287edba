import { Code, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { JobEventType, JobStatus, SchedulerService } from "@taskflow/proto";
import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAST_RECONCILE, startFaultStack, until, type FaultStack } from "./fault-stack.js";

let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack({ workers: 1, scheduler: FAST_RECONCILE });
});

afterAll(async () => {
  await fs?.close();
});

describe("fault: a retry's scheduler is killed (SIGKILL) between history's commit and Redis", () => {
  it("the job history reopened still runs, once, its trail whole: the other replica's reconciliation finishes the retry", async () => {
    const job = await fs.submit({ type: "echo", payload: { n: 1 }, delayMs: 3_600_000 });
    await fs.client.cancel(job.id);
    await eventually(async () => ((await fs.client.get(job.id)).status === JobStatus.CANCELLED ? true : undefined));

    // One replica crashes inside the retry it was sent directly; the other keeps running.
    const { scheduler } = fs.stack;
    await scheduler.restart({ env: { FAULT_CRASH_AFTER_HISTORY_COMMIT: "true" } });
    const session = new Http2SessionManager(scheduler.url);
    const direct = createClient(SchedulerService, createGrpcTransport({ baseUrl: scheduler.url, sessionManager: session }));
    try {
      // A retry waits up to 2 s for Redis to acknowledge the cancel; on a busy machine it may
      // answer `unavailable` ("retry in a moment"), changing nothing, and the caller tries again.
      let error: unknown;
      do {
        error = await direct.retryJob({ id: job.id }, { timeoutMs: 10_000 }).then(() => undefined, (e: unknown) => e);
        if ((error as { code?: Code } | undefined)?.code === Code.Unavailable) await new Promise((r) => setTimeout(r, 50));
      } while ((error as { code?: Code } | undefined)?.code === Code.Unavailable);
      expect(error).toMatchObject({ code: Code.Canceled });
    } finally {
      session.abort();
    }
    await until(() => scheduler.exited);
    const [row] = await fs.sql<{ status: string }>("SELECT status FROM jobs WHERE id = $1", [job.id]);
    expect(row?.status).toBe("pending");
    await scheduler.start({ FAULT_CRASH_AFTER_HISTORY_COMMIT: undefined });

    // A reconciler killed mid-run leaves its lock to expire first (30 s), hence the long wait.
    const done = await fs.client.waitFor(job.id, { timeoutMs: 60_000 });
    expect(done.status).toBe(JobStatus.COMPLETED);
    const events = await fs.client.events(job.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.type)).toEqual([
      JobEventType.SUBMITTED, JobEventType.CANCELLED, JobEventType.RETRIED, JobEventType.STARTED, JobEventType.COMPLETED,
    ]);
    expect((await fs.executions()).filter((r) => r.job_id === job.id && r.event === "start")).toHaveLength(1);
    await eventually(async () => ((await fs.redis.keys("*:retrying")).length === 0 ? true : undefined));
  }, 90_000);
});
