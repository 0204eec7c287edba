import { eventually, startPrivateRedis, type PrivateRedis } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, until, type FaultStack } from "./fault-stack.js";
import { expectInvariants } from "./invariants.js";
import { ackedIds, startSteadyLoad } from "./steady-load.js";

/** Delay of the delayed jobs, in ms: they come due after Redis has lost them. */
const DELAY_MS = 4_000;

let redis: PrivateRedis;
let fs: FaultStack;

beforeAll(async () => {
  // A server of this file's own: restarting the shared one would wipe every other test's keys.
  redis = await startPrivateRedis();
  // The reconciler's default period and grace: the restore after the loss must not wait for them.
  fs = await startFaultStack({ workers: 2, redisUrl: redis.url });
});

afterAll(async () => {
  try {
    await fs?.close();
  } finally {
    await redis?.stop();
  }
});

describe("fault: Redis loses all its data under load (restart without persistence)", () => {
  it("brings every unfinished job back from PostgreSQL and completes it", async () => {
    const load = startSteadyLoad({
      submit: fs.submit,
      input: (n) => ({ type: "echo", queue: "load", payload: { n } }),
      paceMs: 20,
      maxDurationMs: 60_000,
    });
    await fs.addWorker({ WORKER_QUEUES: "load" });
    const running = await Promise.all([1, 2, 3, 4, 5].map(() => fs.submit({ type: "sleep", payload: { ms: 3_000 } })));
    // No worker serves this queue until after the loss: these jobs are pending throughout.
    const pending = await Promise.all([1, 2, 3, 4, 5].map(() => fs.submit({ type: "echo", queue: "held", payload: {} })));
    const delayedAt = Date.now();
    const delayed = await Promise.all(
      [1, 2, 3, 4, 5].map(() => fs.submit({ type: "echo", payload: {}, delayMs: DELAY_MS })),
    );
    await fs.untilLogged(running);

    await fs.redis.set(`${fs.stack.keyPrefix}:sentinel`, "1");
    await redis.restart();
    const lostAt = Date.now();
    expect(await fs.redis.exists(`${fs.stack.keyPrefix}:sentinel`)).toBe(0);
    // The scheduler notices at its next sweep that Redis lost its data and restores from
    // PostgreSQL at once: every acknowledged unfinished job is back within seconds.
    const jobKey = (job: { id: string; queue: string }) => `${fs.stack.keyPrefix}:{${job.queue}}:job:${job.id}`;
    await eventually(async () => {
      const held = await Promise.all([...running, ...pending, ...delayed].map((j) => fs.redis.exists(jobKey(j))));
      return held.every((n) => n === 1) ? true : undefined;
    }, 10_000);
    const recoveredMs = Date.now() - lostAt;
    expect(recoveredMs).toBeLessThan(10_000);
    await fs.addWorker({ WORKER_QUEUES: "held" });
    await until(() => load.outcomes.some((o) => o.sentAt > lostAt + 2_000 && o.job), 20_000);
    const outcomes = await load.stop();

    // A job that ran around the loss may run once more: its lease, or its report still in the
    // outbox, went with Redis, and nothing in its trail can say so. (A lease granted just before
    // the loss may reach its worker, loaded or not, a moment after: hence the second of margin.)
    const aroundLoss = (await fs.executions()).filter((r) => r.event === "start" && r.at <= lostAt + 1_000);
    const ranBefore = new Set(aroundLoss.map((r) => r.job_id));
    const all = [...running, ...pending, ...delayed].map((j) => j.id).concat(ackedIds(outcomes));
    const facts = await expectInvariants(fs, {
      acked: all,
      reconcile: true,
      extraExecutions: (id) => (ranBefore.has(id) ? 1 : 0),
      settleTimeoutMs: 60_000,
    });
    for (const id of all) expect(facts.get(id)!.status).toBe("completed");
    const log = await fs.executions();
    // The running attempts learned at a heartbeat that their leases were gone, and their jobs
    // ran again from what PostgreSQL held. Either may come first: a heartbeat answered by a
    // replica still reconnecting to Redis fails (`unavailable`) and is tried again, while the
    // other replica's reconciler may already have requeued the job.
    for (const job of running) {
      const runs = log.filter((r) => r.job_id === job.id);
      expect(runs[0]?.event).toBe("start");
      const next = runs.slice(1, 3).map((r) => [r.event, r.reason, r.pid === runs[0]!.pid ? "same process" : "other"]);
      expect(next).toContainEqual(["abort", "lost", "same process"]);
      expect(next.map(([event, reason]) => [event, reason])).toContainEqual(["start", undefined]);
    }
    // Delayed jobs came back delayed: none ran before it was due.
    for (const job of delayed) {
      const first = log.find((r) => r.job_id === job.id && r.event === "start")!;
      expect(first.at).toBeGreaterThanOrEqual(delayedAt + DELAY_MS - 50);
    }
  }, 120_000);
});
