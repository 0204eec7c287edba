import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DispatchJobsRequestSchema, DispatchJobsResponse } from "@taskflow/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadUrl, startStack, type Stack } from "../../test/stack.js";

let s: Stack;
beforeAll(async () => {
  // Idle queues are forgotten after a second: a paused one must stay.
  s = await startStack({ env: { QUEUE_IDLE_MS: "1000" } });
});
afterAll(async () => {
  await s.close();
});

const submit = async (queue: string, n = 1) =>
  (await s.scheduler.submitJobs({ jobs: Array.from({ length: n }, () => ({ type: "t.q", queue })) })).jobs.map((j) => j.id);

describe("QueueService", () => {
  it("pauses a queue: no lease, no push, submits still taken; resuming wakes the waiting stream at once", async () => {
    const before = Date.now();
    const paused = await s.queues.pauseQueue({ name: "qp1" });
    expect(paused.queue).toMatchObject({ name: "qp1", paused: true, pausedBy: "api", ready: 0n });
    expect(timestampMs(paused.queue!.pausedAt!)).toBeGreaterThanOrEqual(before - 1_000);
    const ids = await submit("qp1", 3);

    // A stream with credits waits; a long poll answers empty.
    const requests = createWritableIterable<MessageInitShape<typeof DispatchJobsRequestSchema>>();
    const stream = s.worker.dispatchJobs(requests)[Symbol.asyncIterator]();
    void requests.write({ workerId: "wq1", queues: ["qp1"], credits: 10 });
    expect((await stream.next()).value).toMatchObject({ takesReports: true });
    const pushed = stream.next();
    const poll = await s.worker.leaseJobs({ workerId: "wq2", queues: ["qp1"], maxJobs: 10, wait: durationFromMs(300) });
    expect(poll.jobs).toEqual([]);
    const race = await Promise.race([pushed, new Promise((r) => setTimeout(() => r("quiet"), 300))]);
    expect(race).toBe("quiet");
    const held = await s.queues.getQueue({ name: "qp1" });
    expect(held.queue).toMatchObject({ ready: 3n, leased: 0n, paused: true });

    // A second pause changes nothing; resuming pushes the jobs to the waiting stream within the recheck period.
    const again = await s.queues.pauseQueue({ name: "qp1" });
    expect(again.queue!.pausedAt).toEqual(paused.queue!.pausedAt);
    const resumedAt = Date.now();
    const resumed = await s.queues.resumeQueue({ name: "qp1" });
    expect(resumed.queue).toMatchObject({ paused: false, pausedBy: "" });
    expect(resumed.queue!.pausedAt).toBeUndefined();
    const batch = (await pushed).value as DispatchJobsResponse;
    expect(batch.jobs.map((j) => j.job!.id).sort()).toEqual([...ids].sort());
    expect(Date.now() - resumedAt).toBeLessThan(2_000);
    requests.close();
    // Every change is in history's operator actions, newest first, with its actor.
    const { actions } = await s.history.listOperatorActions({ target: "qp1" });
    expect(actions.map((a) => [a.action, a.actor])).toEqual([
      ["queue.resume", "api"],
      ["queue.pause", "api"],
      ["queue.pause", "api"],
    ]);
  });

  it("keeps a paused queue listed while it is idle, and lists and reads every known queue", async () => {
    await s.queues.pauseQueue({ name: "qp2" });
    await s.queues.setQueueLimits({ name: "qp4", type: "t.q", limits: { maxRunning: 1 } });
    await submit("qp3", 2);
    // Past the idle period and several sweeps, the empty paused queue is still known and still paused.
    await new Promise((r) => setTimeout(r, 1_600));
    const { queues } = await s.queues.listQueues({});
    const byName = new Map(queues.map((q) => [q.name, q]));
    expect(byName.get("qp2")).toMatchObject({ paused: true, ready: 0n });
    // So is a queue whose only limits are one job type's.
    expect(byName.get("qp4")!.typeLimits).toMatchObject([{ type: "t.q", limits: { maxRunning: 1 } }]);
    expect(byName.get("qp3")).toMatchObject({ paused: false, ready: 2n, delayed: 0n });
    expect(byName.get("qp3")!.oldestReadyAge).toBeDefined();
    expect((await s.worker.leaseJobs({ workerId: "wq3", queues: ["qp2"], maxJobs: 1 })).jobs).toEqual([]);
    await submit("qp2");
    expect((await s.worker.leaseJobs({ workerId: "wq3", queues: ["qp2"], maxJobs: 1 })).jobs).toEqual([]);
    await s.queues.resumeQueue({ name: "qp2" });
    expect((await s.worker.leaseJobs({ workerId: "wq3", queues: ["qp2"], maxJobs: 1 })).jobs).toHaveLength(1);
    // A queue nobody used reads as empty; resuming it changes nothing.
    expect((await s.queues.resumeQueue({ name: "qp-none" })).queue).toMatchObject({ name: "qp-none", ready: 0n, paused: false });
  });

  it("refuses a bad queue name with invalid_argument", async () => {
    const err = await s.queues.pauseQueue({ name: "no spaces" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.InvalidArgument });
    expect((await s.queues.listQueues({})).queues.map((q) => q.name)).not.toContain("no spaces");
  });

  it("holds leases to max_running across calls, and frees a slot when a job ends", async () => {
    const res = await s.queues.setQueueLimits({ name: "ql1", limits: { maxRunning: 2 } });
    expect(res.queue!.limits).toMatchObject({ maxRunning: 2, maxStarts: 0 });
    expect(res.queue!.limits!.per).toBeUndefined();
    await submit("ql1", 5);
    const first = await s.worker.leaseJobs({ workerId: "wl1", queues: ["ql1"], maxJobs: 10 });
    expect(first.jobs).toHaveLength(2);
    expect((await s.worker.leaseJobs({ workerId: "wl2", queues: ["ql1"], maxJobs: 10 })).jobs).toEqual([]);
    // A long poll waiting at the limit gets the slot a finished job frees, well before its wait ends.
    const waiting = s.worker.leaseJobs({ workerId: "wl2", queues: ["ql1"], maxJobs: 10, wait: durationFromMs(5_000) });
    const j = first.jobs[0]!;
    const startedAt = Date.now();
    await s.worker.reportJobs({
      workerId: "wl1",
      reports: [{ lease: { jobId: j.job!.id, queue: "ql1", leaseToken: j.leaseToken }, outcome: { case: "completed", value: {} } }],
    });
    expect((await waiting).jobs).toHaveLength(1);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    // One job completed: the queue's throughput over the last minute counts it.
    expect((await s.queues.getQueue({ name: "ql1" })).queue).toMatchObject({ leased: 2n, ready: 2n, completedLastMinute: 1n });
    // No limits again: everything ready is leased.
    const cleared = await s.queues.setQueueLimits({ name: "ql1", limits: {} });
    const { actions } = await s.history.listOperatorActions({ target: "ql1", action: "queue.limits" });
    expect(actions.map((a) => a.details)).toEqual([
      { maxRunning: 0, maxStarts: 0, perMs: 0 },
      { maxRunning: 2, maxStarts: 0, perMs: 0 },
    ]);
    expect(cleared.queue!.limits).toBeUndefined();
    expect((await s.worker.leaseJobs({ workerId: "wl3", queues: ["ql1"], maxJobs: 10 })).jobs).toHaveLength(2);
  });

  it("holds starts to max_starts per window, a burst then one per interval, and wakes a waiting worker when the next is allowed", async () => {
    await s.queues.setQueueLimits({ name: "ql2", limits: { maxStarts: 4, per: durationFromMs(1_000) } });
    expect((await s.queues.getQueue({ name: "ql2" })).queue!.limits).toMatchObject({ maxStarts: 4, per: { seconds: 1n } });
    await submit("ql2", 8);
    const burst = await s.worker.leaseJobs({ workerId: "wr1", queues: ["ql2"], maxJobs: 10 });
    expect(burst.jobs).toHaveLength(4);
    expect((await s.worker.leaseJobs({ workerId: "wr1", queues: ["ql2"], maxJobs: 10 })).jobs).toEqual([]);
    // The next start is allowed 250 ms after the burst: a long poll gets it then, not at its end.
    const t0 = Date.now();
    const next = await s.worker.leaseJobs({ workerId: "wr1", queues: ["ql2"], maxJobs: 10, wait: durationFromMs(5_000) });
    const waited = Date.now() - t0;
    expect(next.jobs).toHaveLength(1);
    expect(waited).toBeGreaterThanOrEqual(100);
    expect(waited).toBeLessThan(1_500);
  });

  it("holds one job type to its own max_running, across parallel leases, while other types of the queue run", async () => {
    const queue = "qt1";
    const res = await s.queues.setQueueLimits({ name: queue, type: "t.slow", limits: { maxRunning: 3 } });
    expect(res.queue!.limits).toBeUndefined();
    expect(res.queue!.typeLimits).toMatchObject([{ type: "t.slow", limits: { maxRunning: 3, maxStarts: 0 }, running: 0n }]);
    // The limited type's jobs come first by priority: they must not crowd out the others.
    await s.scheduler.submitJobs({ jobs: Array.from({ length: 12 }, () => ({ type: "t.slow", queue, priority: 9 })) });
    await s.scheduler.submitJobs({ jobs: Array.from({ length: 4 }, () => ({ type: "t.fast", queue })) });
    const leases = await Promise.all(
      Array.from({ length: 8 }, (_, i) => s.worker.leaseJobs({ workerId: `wt${i}`, queues: [queue], maxJobs: 4 })),
    );
    const leased = leases.flatMap((r) => r.jobs);
    expect(leased.filter((j) => j.job!.type === "t.slow")).toHaveLength(3);
    expect(leased.filter((j) => j.job!.type === "t.fast")).toHaveLength(4);
    expect((await s.queues.getQueue({ name: queue })).queue!.typeLimits[0]!.running).toBe(3n);
    // A long poll waiting at the type's limit gets the slot a released job frees.
    const waiting = s.worker.leaseJobs({ workerId: "wt9", queues: [queue], maxJobs: 10, wait: durationFromMs(5_000) });
    const slow = leased.find((j) => j.job!.type === "t.slow")!;
    const owner = leases.findIndex((r) => r.jobs.includes(slow));
    await s.worker.releaseJobs({ workerId: `wt${owner}`, leases: [{ jobId: slow.job!.id, queue, leaseToken: slow.leaseToken }] });
    expect((await waiting).jobs.map((j) => j.job!.type)).toEqual(["t.slow"]);
    expect((await s.queues.getQueue({ name: queue })).queue!.typeLimits[0]!.running).toBe(3n);
    // Completions free slots and bring the count down.
    for (const j of leased.filter((x) => x.job!.type === "t.slow" && x !== slow)) {
      const by = leases.findIndex((r) => r.jobs.includes(j));
      await s.worker.reportJobs({
        workerId: `wt${by}`,
        reports: [{ lease: { jobId: j.job!.id, queue, leaseToken: j.leaseToken }, outcome: { case: "completed", value: {} } }],
      });
    }
    expect((await s.queues.getQueue({ name: queue })).queue!.typeLimits[0]!.running).toBe(1n);
    expect((await s.worker.leaseJobs({ workerId: "wt10", queues: [queue], maxJobs: 10 })).jobs).toHaveLength(2);
    // Clearing the type's limits removes them; the trail names the type.
    const cleared = await s.queues.setQueueLimits({ name: queue, type: "t.slow", limits: {} });
    expect(cleared.queue!.typeLimits).toEqual([]);
    const { actions } = await s.history.listOperatorActions({ target: queue, action: "queue.limits" });
    expect(actions.map((a) => a.details)).toEqual([
      { maxRunning: 0, maxStarts: 0, perMs: 0, type: "t.slow" },
      { maxRunning: 3, maxStarts: 0, perMs: 0, type: "t.slow" },
    ]);
    expect((await s.worker.leaseJobs({ workerId: "wt10", queues: [queue], maxJobs: 20 })).jobs).toHaveLength(7);
  });

  it("holds one job type to its own start rate, and a job must fit its queue's limits as well", async () => {
    const queue = "qt2";
    await s.queues.setQueueLimits({ name: queue, type: "t.rated", limits: { maxStarts: 2, per: durationFromMs(1_000) } });
    await s.queues.setQueueLimits({ name: queue, limits: { maxRunning: 3 } });
    await s.scheduler.submitJobs({ jobs: Array.from({ length: 5 }, () => ({ type: "t.rated", queue, priority: 5 })) });
    await s.scheduler.submitJobs({ jobs: Array.from({ length: 5 }, () => ({ type: "t.other", queue })) });
    const first = await s.worker.leaseJobs({ workerId: "wq1", queues: [queue], maxJobs: 10 });
    // Two rated starts (the burst), then the queue's max_running of 3 leaves room for one other.
    expect(first.jobs.map((j) => j.job!.type).sort()).toEqual(["t.other", "t.rated", "t.rated"]);
    expect((await s.worker.leaseJobs({ workerId: "wq2", queues: [queue], maxJobs: 10 })).jobs).toEqual([]);
    await s.queues.setQueueLimits({ name: queue, limits: {} });
    const t0 = Date.now();
    const now = await s.worker.leaseJobs({ workerId: "wq2", queues: [queue], maxJobs: 10 });
    expect(now.jobs.map((j) => j.job!.type)).toEqual(["t.other", "t.other", "t.other", "t.other"]);
    // The next rated start is allowed 500 ms after the burst: a long poll gets it then.
    const next = await s.worker.leaseJobs({ workerId: "wq3", queues: [queue], maxJobs: 10, wait: durationFromMs(5_000) });
    expect(next.jobs.map((j) => j.job!.type)).toEqual(["t.rated"]);
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it("refuses a bad job type for limits with invalid_argument, changing nothing", async () => {
    const err = await s.queues.setQueueLimits({ name: "qt3", type: "bad type", limits: { maxRunning: 1 } }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.InvalidArgument });
    expect((await s.queues.getQueue({ name: "qt3" })).queue!.typeLimits).toEqual([]);
  });

  it("refuses limits out of range or a window without a rate, with invalid_argument, changing nothing", async () => {
    const bad = [
      { maxRunning: -1 },
      { maxRunning: 100_001 },
      { maxStarts: 5 },
      { maxStarts: 5, per: durationFromMs(0) },
      { maxStarts: 5, per: durationFromMs(86_400_001) },
      { per: durationFromMs(1_000) },
    ];
    for (const limits of bad) {
      const err = await s.queues.setQueueLimits({ name: "ql3", limits }).catch((e: unknown) => ConnectError.from(e));
      expect([limits, err]).toMatchObject([limits, { code: Code.InvalidArgument }]);
    }
    expect((await s.queues.getQueue({ name: "ql3" })).queue!.limits).toBeUndefined();
  });

  it("changes nothing when history cannot record the change: unavailable", async () => {
    const cut = await startStack({ historyUrl: await deadUrl() });
    try {
      const err = await cut.queues.pauseQueue({ name: "qh1" }).catch((e: unknown) => ConnectError.from(e));
      expect(err).toMatchObject({ code: Code.Unavailable });
      const limits = await cut.queues.setQueueLimits({ name: "qh1", limits: { maxRunning: 1 } }).catch((e: unknown) => ConnectError.from(e));
      expect(limits).toMatchObject({ code: Code.Unavailable });
      expect((await cut.queues.getQueue({ name: "qh1" })).queue).toMatchObject({ paused: false });
      expect((await cut.queues.getQueue({ name: "qh1" })).queue!.limits).toBeUndefined();
    } finally {
      await cut.close();
    }
  });
});
