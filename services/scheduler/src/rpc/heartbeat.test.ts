import { LeaseStatus } from "@taskflow/proto";
import { uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnswerBlackhole, type AnswerBlackhole } from "../../test/answer-blackhole.js";
import { startReplica, startStack, type Replica, type Stack } from "../../test/stack.js";

let s: Stack;
let hole: AnswerBlackhole;
let replica: Replica;

beforeAll(async () => {
  s = await startStack();
  // A scheduler whose history stops answering (a stalled database, a hung history) on demand.
  hole = await startAnswerBlackhole(s.historyInternalUrl);
  replica = await startReplica(s, { HISTORY_URL: hole.url });
});
afterAll(async () => {
  // Dropping the link first fails the replica's background calls to history at once.
  await hole.close();
  await replica.close();
  await s.close();
});

describe("Heartbeat", () => {
  it("answers LOST and CANCEL_REQUESTED at once while history does not answer", async () => {
    const q = uniqueQueue();
    await replica.worker.registerWorker({ workerId: "w-hb", queues: [q] });
    const [kept, cancelled, lost] = (await replica.scheduler.submitJobs({ jobs: [1, 2, 3].map(() => ({ type: "t.x", queue: q })) })).jobs.map(
      (j) => j.id,
    ) as [string, string, string];
    const { jobs } = await replica.worker.leaseJobs({ workerId: "w-hb", queues: [q], maxJobs: 3 });
    const leases = jobs.map((j) => ({ jobId: j.job!.id, queue: q, leaseToken: j.leaseToken }));
    await s.scheduler.cancelJob({ id: cancelled });
    hole.swallowAnswers();

    const forged = leases.map((l) => (l.jobId === lost ? { ...l, leaseToken: "forged:1" } : l));
    const started = performance.now();
    const { leases: states } = await replica.worker.heartbeat({ workerId: "w-hb", leases: forged });
    expect(performance.now() - started).toBeLessThan(1_000);
    const byJob = new Map(states.map((st) => [st.jobId, st.status]));
    expect(byJob.get(kept)).toBe(LeaseStatus.ACTIVE);
    expect(byJob.get(cancelled)).toBe(LeaseStatus.CANCEL_REQUESTED);
    expect(byJob.get(lost)).toBe(LeaseStatus.LOST);
  });
});
