import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { leaseIdOf } from "@taskflow/history";
import { JobEventType as E, JobStatus as S, type JobEvent } from "@taskflow/proto";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestReconciler, loseJobs, type TestReconciler } from "../../test/reconcile-fixture.js";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "./keys.js";

let s: Stack;
let r: TestReconciler;

beforeAll(async () => {
  // Retries due at once (promoted within a sweep); the stack's own reconciler stays idle.
  s = await startStack({ env: { RETRY_BASE_MS: "1", RECONCILE_INTERVAL_MS: "3600000" } });
  r = createTestReconciler(s, 0);
});
afterAll(async () => {
  await r.close();
  await s.close();
});

/** What the audit trail says about one transition: who, which attempt, under which lease, why. */
const audit = (e: JobEvent) => [e.type, e.status, e.actor, e.attempt, e.leaseId, e.reason];

/** The job's trail as history recorded it, once it holds `count` events. */
const trailOf = (id: string, count: number) =>
  eventually(async () => {
    const { events } = await s.history.listJobEvents({ jobId: id });
    return events.length >= count ? events : undefined;
  });

async function submit(queue: string, init: { maxAttempts?: number; timeoutMs?: number } = {}): Promise<string> {
  const timeout = init.timeoutMs === undefined ? undefined : durationFromMs(init.timeoutMs);
  const { job } = await s.scheduler.submitJob({ type: "t.audit", queue, maxAttempts: init.maxAttempts ?? 3, timeout });
  return job!.id;
}

/** Leases the queue's next job to `workerId` (waiting for it, e.g. a retry being promoted). */
async function lease(queue: string, workerId: string) {
  const { jobs } = await s.worker.leaseJobs({ workerId, queues: [queue], maxJobs: 1, wait: { seconds: 10n } });
  expect(jobs).toHaveLength(1);
  return { jobId: jobs[0]!.job!.id, queue, leaseToken: jobs[0]!.leaseToken };
}

const fail = (workerId: string, l: Awaited<ReturnType<typeof lease>>, permanent = false) =>
  s.worker.reportJobs({ workerId, reports: [{ lease: l, outcome: { case: "failed", value: { error: "boom", permanent } } }] });

/** Lets the lease run out now: expire-leases (every 50 ms here) picks it up. */
const expireLease = (l: Awaited<ReturnType<typeof lease>>) => s.redis.zadd(queueKeys(s.config.redisKeyPrefix, l.queue).leased, "XX", 1, l.jobId);

describe("audit trail: actor, attempt, lease and reason of every transition", () => {
  it("a retry then a completion: STARTED, RETRY_SCHEDULED and COMPLETED carry the attempt's own token", async () => {
    const q = uniqueQueue();
    const id = await submit(q, { maxAttempts: 2 });
    const first = await lease(q, "w-a");
    await fail("w-a", first);
    const second = await lease(q, "w-b");
    expect(second.leaseToken).not.toBe(first.leaseToken);
    await s.worker.reportJobs({ workerId: "w-b", reports: [{ lease: second, outcome: { case: "completed", value: {} } }] });

    const events = await trailOf(id, 5);
    expect(events.map(audit)).toEqual([
      [E.SUBMITTED, S.PENDING, "api", 0, "", "submitted"],
      [E.STARTED, S.PROCESSING, "worker:w-a", 1, leaseIdOf(first.leaseToken), "leased"],
      [E.RETRY_SCHEDULED, S.PENDING, "worker:w-a", 1, leaseIdOf(first.leaseToken), "handler_failed"],
      [E.STARTED, S.PROCESSING, "worker:w-b", 2, leaseIdOf(second.leaseToken), "leased"],
      [E.COMPLETED, S.COMPLETED, "worker:w-b", 2, leaseIdOf(second.leaseToken), "handler_succeeded"],
    ]);
  });

  it("FAILED says attempts_exhausted after the last attempt, handler_failed_permanently on a permanent failure", async () => {
    const q1 = uniqueQueue();
    const last = await submit(q1, { maxAttempts: 1 });
    const l1 = await lease(q1, "w1");
    await fail("w1", l1);
    const q2 = uniqueQueue();
    const permanent = await submit(q2, { maxAttempts: 5 });
    const l2 = await lease(q2, "w1");
    await fail("w1", l2, true);

    expect((await trailOf(last, 3)).map(audit)[2]).toEqual([E.FAILED, S.FAILED, "worker:w1", 1, leaseIdOf(l1.leaseToken), "attempts_exhausted"]);
    expect((await trailOf(permanent, 3)).map(audit)[2]).toEqual([
      E.FAILED, S.FAILED, "worker:w1", 1, leaseIdOf(l2.leaseToken), "handler_failed_permanently",
    ]);
  });

  it("LEASE_EXPIRED tells a silent worker from an overrun attempt and from the last attempt, under the expired token", async () => {
    const [qSilent, qOverrun, qLast] = [uniqueQueue(), uniqueQueue(), uniqueQueue()];
    // Default timeout (300 s): the 30 s lease runs out long before the attempt deadline.
    const silent = await submit(qSilent);
    // 1 s timeout: the lease (capped at deadline + 5 s grace) reaches past the attempt deadline.
    const overrun = await submit(qOverrun, { timeoutMs: 1_000 });
    const last = await submit(qLast, { maxAttempts: 1 });
    const leases = [await lease(qSilent, "w1"), await lease(qOverrun, "w1"), await lease(qLast, "w1")];
    for (const l of leases) await expireLease(l);

    const actor = "scheduler:expire-leases";
    expect((await trailOf(silent, 3)).map(audit)[2]).toEqual([
      E.LEASE_EXPIRED, S.PENDING, actor, 1, leaseIdOf(leases[0]!.leaseToken), "lease_deadline_passed",
    ]);
    expect((await trailOf(overrun, 3)).map(audit)[2]).toEqual([
      E.LEASE_EXPIRED, S.PENDING, actor, 1, leaseIdOf(leases[1]!.leaseToken), "attempt_timed_out",
    ]);
    const ended = await trailOf(last, 3);
    expect(ended.map(audit)[2]).toEqual([E.LEASE_EXPIRED, S.FAILED, actor, 1, leaseIdOf(leases[2]!.leaseToken), "attempts_exhausted"]);
    expect(ended[2]).toMatchObject({ workerId: "w1", error: "lease expired" });
  });

  it("RELEASED carries the released token and gives the attempt back", async () => {
    const q = uniqueQueue();
    const id = await submit(q);
    const l = await lease(q, "w-r");
    expect((await s.worker.releaseJobs({ workerId: "w-r", leases: [l] })).released).toBe(1);
    expect((await trailOf(id, 3)).map(audit)[2]).toEqual([E.RELEASED, S.PENDING, "worker:w-r", 0, leaseIdOf(l.leaseToken), "worker_released"]);
  });

  it("a running job's CANCELLED carries its lease, cancel_requested and who asked, whoever ends the attempt", async () => {
    const [qReport, qRelease, qExpire] = [uniqueQueue(), uniqueQueue(), uniqueQueue()];
    const ids = [await submit(qReport), await submit(qRelease), await submit(qExpire)];
    const leases = [await lease(qReport, "w-c"), await lease(qRelease, "w-c"), await lease(qExpire, "w-c")];
    for (const id of ids.slice(0, 2)) {
      expect((await s.scheduler.cancelJob({ id, reason: "stop it" })).status).toBe(S.PROCESSING);
    }
    expect((await s.scheduler.cancelJob({ id: ids[2]! })).status).toBe(S.PROCESSING);

    await fail("w-c", leases[0]!);
    await s.worker.releaseJobs({ workerId: "w-c", leases: [leases[1]!] });
    await expireLease(leases[2]!);

    // Authentication is off in this stack: the asker is plain "api" (auth.test.ts covers named identities).
    const asked = { reason: "stop it", requested_by: "api" };
    const ends = [
      ["worker:w-c", asked],
      ["worker:w-c", asked],
      ["scheduler:expire-leases", { requested_by: "api" }],
    ] as const;
    for (const [i, [actor, details]] of ends.entries()) {
      const cancelled = (await trailOf(ids[i]!, 3))[2]!;
      expect(audit(cancelled)).toEqual([E.CANCELLED, S.CANCELLED, actor, 1, leaseIdOf(leases[i]!.leaseToken), "cancel_requested"]);
      expect(cancelled.details).toEqual(details);
    }
  });

  it("the reconciler's LEASE_EXPIRED of a job lost with Redis says restored_after_redis_loss, without a lease", async () => {
    const q = uniqueQueue();
    const again = await submit(q, { maxAttempts: 2 });
    const last = await submit(q, { maxAttempts: 1 });
    const waiting = await submit(q);
    await s.worker.leaseJobs({ workerId: "w-lost", queues: [q], maxJobs: 2 });
    await trailOf(again, 2);
    await trailOf(last, 2);
    await loseJobs(s, q, [again, last, waiting]);

    const report = await r.reconciler.runOnce({ full: true });
    expect(report).toMatchObject({ failedJobIds: [last] });
    expect(new Set(report!.requeuedJobIds)).toEqual(new Set([again, waiting]));
    const restored = [E.LEASE_EXPIRED, "scheduler:reconcile", 1, "", "restored_after_redis_loss"];
    const [a, b] = [(await trailOf(again, 3))[2]!, (await trailOf(last, 3))[2]!];
    expect([a.type, a.actor, a.attempt, a.leaseId, a.reason, a.status]).toEqual([...restored, S.PENDING]);
    expect([b.type, b.actor, b.attempt, b.leaseId, b.reason, b.status]).toEqual([...restored, S.FAILED]);
    expect(a).toMatchObject({ workerId: "w-lost", error: "lease lost with Redis data" });
    // A pending job restored had no transition, so nothing is recorded.
    expect((await s.history.listJobEvents({ jobId: waiting })).events.map((e) => e.type)).toEqual([E.SUBMITTED]);
  });
});
