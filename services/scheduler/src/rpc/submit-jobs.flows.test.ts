import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobEventType, JobStatus, type LeasedJob, ParentFailurePolicy, type SubmitJobRequest } from "@taskflow/proto";
import { deleteKeysWithPrefix, eventually, uniqueQueue } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobKeys, startReplica, startStack, type Replica, type Stack } from "../../test/stack.js";
import { reconcileStateKey } from "../redis/keys.js";

let s: Stack;
let replica: Replica;

beforeAll(async () => {
  // No grace and no periodic run: only the losses a case causes (and its own calls) reconcile.
  s = await startStack({ env: { RECONCILE_GRACE_MS: "0", RECONCILE_INTERVAL_MS: "3600000", RETRY_BASE_MS: "60000" } });
  replica = await startReplica(s);
  await eventually(async () => ((await s.redis.hget(reconcileStateKey(s.config.redisKeyPrefix), "phase")) === "ok" ? true : undefined));
});
afterAll(async () => {
  await replica?.close();
  await s?.close();
});

type SubmitInit = Partial<Omit<SubmitJobRequest, "$typeName" | "payload">> & { payload?: Record<string, JsonValue> };

const submit = async (jobs: SubmitInit[], via = s.scheduler) => (await via.submitJobs({ jobs: jobs.map((j) => ({ type: "t.step", ...j })) })).jobs;

/** Leases one job of `queue` (waiting up to `waitS` seconds for one), or none. */
async function leaseOne(queue: string, waitS = 5, via = s.worker): Promise<LeasedJob | undefined> {
  const { jobs } = await via.leaseJobs({ workerId: "w-flows", queues: [queue], maxJobs: 1, wait: { seconds: BigInt(waitS) } });
  return jobs[0];
}

async function complete(leased: LeasedJob, result: JsonValue, via = s.worker): Promise<void> {
  const lease = { jobId: leased.job!.id, queue: leased.job!.queue, leaseToken: leased.leaseToken };
  await via.reportJobs({ workerId: "w-flows", reports: [{ lease, outcome: { case: "completed", value: { result: fromJson(ValueSchema, result) } } }] });
}

async function fail(leased: LeasedJob): Promise<void> {
  const lease = { jobId: leased.job!.id, queue: leased.job!.queue, leaseToken: leased.leaseToken };
  await s.worker.reportJobs({ workerId: "w-flows", reports: [{ lease, outcome: { case: "failed", value: { error: "boom", permanent: true } } }] });
}

const historyJob = (id: string, status: JobStatus) =>
  eventually(async () => {
    const { job } = await s.history.getJob({ id });
    return job?.status === status ? job : undefined;
  });

const parentsOf = (leased: LeasedJob) =>
  leased.job!.parents.map((p) => ({ id: p.id, status: p.status, result: p.result === undefined ? undefined : toJson(ValueSchema, p.result) }));

describe("flows: a child runs once its parents settle", () => {
  it("runs a chain A -> B -> C across two queues, each child seeing its parent's result", async () => {
    const [q1, q2] = [uniqueQueue(), uniqueQueue()];
    const [a, b, c] = await submit([
      { ref: "a", queue: q1, payload: { n: 1 } },
      { ref: "b", queue: q2, dependsOn: ["a"] },
      { ref: "c", queue: q1, dependsOn: ["b"] },
    ]);
    expect(b!.parents.map((p) => [p.id, p.status])).toEqual([[a!.id, JobStatus.PENDING]]);
    expect(await leaseOne(q2, 0)).toBeUndefined();

    const leasedA = (await leaseOne(q1))!;
    expect(leasedA.job!.id).toBe(a!.id);
    expect(await leaseOne(q1, 0)).toBeUndefined();
    await complete(leasedA, { a: 1 });

    const leasedB = (await leaseOne(q2))!;
    expect(leasedB.job!.id).toBe(b!.id);
    expect(parentsOf(leasedB)).toEqual([{ id: a!.id, status: JobStatus.COMPLETED, result: { a: 1 } }]);
    await complete(leasedB, "b done");
    const leasedC = (await leaseOne(q1))!;
    expect(leasedC.job!.id).toBe(c!.id);
    expect(parentsOf(leasedC)).toEqual([{ id: b!.id, status: JobStatus.COMPLETED, result: "b done" }]);
    await complete(leasedC, null);

    await historyJob(c!.id, JobStatus.COMPLETED);
    const { job } = await s.history.getJob({ id: b!.id });
    expect(job!.parents.map((p) => [p.id, p.queue, p.status])).toEqual([[a!.id, q1, JobStatus.COMPLETED]]);
    expect(job!.children.map((p) => [p.id, p.queue, p.status])).toEqual([[c!.id, q1, JobStatus.COMPLETED]]);
    expect(job!.onParentFailure).toBe(ParentFailurePolicy.FAIL);
  });

  it("fans in: C waits for both A and B", async () => {
    const q = uniqueQueue();
    const [a, b] = await submit([{ queue: q, type: "t.a" }, { queue: q, type: "t.b" }]);
    const [c] = await submit([{ queue: q, type: "t.c", dependsOn: [a!.id, b!.id] }]);
    const { jobs: first } = await s.worker.leaseJobs({ workerId: "w-flows", queues: [q], maxJobs: 10, jobTypes: ["t.a"] });
    await complete(first[0]!, 1);
    await historyJob(a!.id, JobStatus.COMPLETED);
    // A's end is recorded and its children looked at: C still waits for B.
    expect((await s.worker.leaseJobs({ workerId: "w-flows", queues: [q], maxJobs: 10, jobTypes: ["t.c"] })).jobs).toEqual([]);
    const { jobs: second } = await s.worker.leaseJobs({ workerId: "w-flows", queues: [q], maxJobs: 10, jobTypes: ["t.b"] });
    await complete(second[0]!, 2);
    const leasedC = (await leaseOne(q))!;
    expect(leasedC.job!.id).toBe(c!.id);
    expect(parentsOf(leasedC)).toEqual(
      [{ id: a!.id, status: JobStatus.COMPLETED, result: 1 }, { id: b!.id, status: JobStatus.COMPLETED, result: 2 }].sort((x, y) => x.id.localeCompare(y.id)),
    );
  });

  it("applies each child's policy when a parent fails, and passes a failure on to grandchildren", async () => {
    const q = uniqueQueue();
    const [p, failing, cancelled, running, grandchild] = await submit([
      { ref: "p", queue: q, type: "t.parent" },
      { ref: "f", queue: q, dependsOn: ["p"] },
      { ref: "c", queue: q, dependsOn: ["p"], onParentFailure: ParentFailurePolicy.CANCEL },
      { ref: "r", queue: q, dependsOn: ["p"], onParentFailure: ParentFailurePolicy.RUN },
      { ref: "g", queue: q, dependsOn: ["f"], onParentFailure: ParentFailurePolicy.CANCEL },
    ]);
    await fail((await leaseOne(q))!);

    const failed = await historyJob(failing!.id, JobStatus.FAILED);
    expect(failed.error).toBe(`parent job ${p!.id} ended failed`);
    expect(failed.attempts).toBe(0);
    await historyJob(cancelled!.id, JobStatus.CANCELLED);
    await historyJob(grandchild!.id, JobStatus.CANCELLED);
    const { events } = await s.history.listJobEvents({ jobId: failing!.id });
    expect(events.map((e) => [e.seq, e.type, e.reason, e.actor])).toEqual([
      [1, JobEventType.SUBMITTED, "submitted", "api"],
      [2, JobEventType.FAILED, "parent_failed", "scheduler:flows"],
    ]);

    const leased = (await leaseOne(q))!;
    expect(leased.job!.id).toBe(running!.id);
    expect(parentsOf(leased)).toEqual([{ id: p!.id, status: JobStatus.FAILED, result: undefined }]);
    expect(await leaseOne(q, 0)).toBeUndefined();
  });

  it("takes a parent that ended before the submit into account at once", async () => {
    const q = uniqueQueue();
    const [done, broken] = await submit([{ queue: q, type: "t.ok" }, { queue: q, type: "t.bad" }]);
    const { jobs } = await s.worker.leaseJobs({ workerId: "w-flows", queues: [q], maxJobs: 2 });
    const byId = new Map(jobs.map((j) => [j.job!.id, j]));
    await complete(byId.get(done!.id)!, { ok: true });
    await fail(byId.get(broken!.id)!);
    await historyJob(done!.id, JobStatus.COMPLETED);
    await historyJob(broken!.id, JobStatus.FAILED);

    const [runs, fails] = await submit([{ queue: q, dependsOn: [done!.id] }, { queue: q, dependsOn: [done!.id, broken!.id] }]);
    const leased = (await leaseOne(q, 0))!;
    expect(leased.job!.id).toBe(runs!.id);
    expect(parentsOf(leased)).toEqual([{ id: done!.id, status: JobStatus.COMPLETED, result: { ok: true } }]);
    await historyJob(fails!.id, JobStatus.FAILED);
  });
});

describe("flows: cancelling a waiting child", () => {
  it("cancels it at once (Redis does not hold it) and passes the cancel on to its own children", async () => {
    const q = uniqueQueue();
    const [, child, grandchild] = await submit([
      { ref: "a", queue: q, type: "t.a" },
      { ref: "b", queue: q, dependsOn: ["a"] },
      { queue: q, dependsOn: ["b"], onParentFailure: ParentFailurePolicy.CANCEL },
    ]);
    const res = await s.scheduler.cancelJob({ id: child!.id, reason: "not needed" });
    expect(res.status).toBe(JobStatus.CANCELLED);
    await historyJob(grandchild!.id, JobStatus.CANCELLED);
    const leased = (await leaseOne(q, 0))!;
    expect(leased.job!.type).toBe("t.a");
    await complete(leased, "a");
    await historyJob(leased.job!.id, JobStatus.COMPLETED);
    expect((await s.history.getJob({ id: child!.id })).job!.status).toBe(JobStatus.CANCELLED);
  });
});

describe("flows: refusals store nothing", () => {
  const refusals: [string, (q: string) => SubmitInit[], Code, RegExp][] = [
    ["a cycle", (q) => [{ queue: q, ref: "a", dependsOn: ["b"] }, { queue: q, ref: "b", dependsOn: ["a"] }], Code.InvalidArgument, /cycle/],
    ["a job depending on itself", (q) => [{ queue: q, ref: "a", dependsOn: ["a"] }], Code.InvalidArgument, /itself/],
    ["an unknown ref", (q) => [{ queue: q, ref: "a" }, { queue: q, dependsOn: ["nope"] }], Code.InvalidArgument, /jobs\[1\]\.depends_on\[0\]/],
    ["a ref used twice", (q) => [{ queue: q, ref: "a" }, { queue: q, ref: "a" }], Code.InvalidArgument, /jobs\[1\]\.ref/],
    ["a parent named twice", (q) => [{ queue: q, ref: "a" }, { queue: q, dependsOn: ["a", "a"] }], Code.InvalidArgument, /named before/],
    ["more than 32 parents", (q) => [{ queue: q, dependsOn: Array.from({ length: 33 }, () => uuidv7()) }], Code.InvalidArgument, /at most 32/],
    ["an unknown parent id", (q) => [{ queue: q, ref: "a" }, { queue: q, dependsOn: ["a", uuidv7()] }], Code.NotFound, /not found/],
  ];
  it.each(refusals)("refuses %s", async (_name, jobs, code, message) => {
    const q = uniqueQueue();
    const before = await jobKeys(s);
    const err = await submit(jobs(q)).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(code);
    expect(err?.rawMessage).toMatch(message);
    expect(await jobKeys(s)).toEqual(before);
    expect((await s.history.listJobs({ queues: [q] })).jobs).toEqual([]);
  });
});

describe("flows: crashes, Redis loss and replicas", () => {
  it("keeps a restored child waiting after Redis lost its data, and runs it once its parent completes", async () => {
    const q = uniqueQueue();
    const [a, b] = await submit([{ ref: "a", queue: q, type: "t.a" }, { ref: "b", queue: q, type: "t.b", dependsOn: ["a"] }]);
    await deleteKeysWithPrefix(s.config.redisUrl, `${s.config.redisKeyPrefix}:`);
    // The watch sees the marker gone and restores every unfinished job: A comes back, B waits.
    const leasedA = (await leaseOne(q, 10))!;
    expect(leasedA.job!.id).toBe(a!.id);
    expect(await leaseOne(q, 0)).toBeUndefined();
    await complete(leasedA, "a");
    const leasedB = (await leaseOne(q))!;
    expect(leasedB.job!.id).toBe(b!.id);
    expect(parentsOf(leasedB)).toEqual([{ id: a!.id, status: JobStatus.COMPLETED, result: "a" }]);
  });

  it("releases a child that history let go while no scheduler did (a crash between the two)", async () => {
    const q = uniqueQueue();
    // History alone: the parent's end recorded, its child never released into Redis.
    const [parent, child] = [uuidv7(), uuidv7()];
    await s.ingest.insertJobs({ jobs: [{ id: parent, type: "t.a", queue: q, maxAttempts: 1 }] });
    await s.ingest.insertJobs({ jobs: [{ id: child, type: "t.b", queue: q, maxAttempts: 1, parents: [{ id: parent }] }] });
    const res = await s.ingest.appendEvents({
      events: [{ jobId: parent, seq: 2, type: JobEventType.CANCELLED, status: JobStatus.CANCELLED, actor: "test", occurredAt: { seconds: BigInt(Math.floor(Date.now() / 1000)) } }],
    });
    expect(res.settledChildIds).toEqual([child]);
    expect(await leaseOne(q, 0)).toBeUndefined();

    await s.admin.reconcile({});
    await historyJob(child, JobStatus.FAILED);
  });

  it("releases each child once with two scheduler replicas reporting and forwarding", async () => {
    const q = uniqueQueue();
    const [p, ...children] = await submit([{ ref: "p", queue: q, type: "t.p" }, ...Array.from({ length: 20 }, () => ({ queue: q, dependsOn: ["p"] }))]);
    const leasedP = (await leaseOne(q, 5, replica.worker))!;
    await complete(leasedP, "p", replica.worker);
    const leased: LeasedJob[] = [];
    await eventually(async () => {
      const [one, two] = await Promise.all([s.worker, replica.worker].map((w) => w.leaseJobs({ workerId: "w-flows", queues: [q], maxJobs: 20 })));
      leased.push(...one!.jobs, ...two!.jobs);
      return leased.length >= children.length ? true : undefined;
    });
    expect(leased.map((l) => l.job!.id).sort()).toEqual(children.map((c) => c.id).sort());
    await Promise.all(leased.map((l) => complete(l, "c")));
    for (const c of children) {
      await historyJob(c.id, JobStatus.COMPLETED);
      const { events } = await s.history.listJobEvents({ jobId: c.id });
      expect(events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.COMPLETED]);
    }
    expect(p!.id).toBe(leasedP.job!.id);
  });
});
