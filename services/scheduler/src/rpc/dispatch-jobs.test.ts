import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { type DispatchJobsRequestSchema, type DispatchJobsResponse, JobStatus, LeaseStatus, ReportStatus } from "@taskflow/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";

type Ask = MessageInitShape<typeof DispatchJobsRequestSchema>;

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

/** One DispatchJobs stream over HTTP/2, read a message at a time. */
function openStream(first: Ask) {
  const requests = createWritableIterable<Ask>();
  const call = new AbortController();
  const responses = s.worker.dispatchJobs(requests, { signal: call.signal })[Symbol.asyncIterator]();
  void requests.write(first);
  // Every stream opens saying it takes reports; `next` reads what follows.
  const opened = responses.next().then((r) => {
    if (r.done === true) return "ended" as const;
    if (!r.value.takesReports || r.value.jobs.length > 0) throw new Error("the stream must open saying it takes reports");
    return undefined;
  });
  // A read that outlived a "quiet" answer is kept for the next call, so no batch is dropped.
  let pending: Promise<DispatchJobsResponse | "ended"> | undefined;
  return {
    send: (ask: Ask) => void requests.write(ask),
    /** The next batch, or "quiet" when none comes within `ms`, or "ended" when the stream ended. */
    next: async (ms = 5_000): Promise<DispatchJobsResponse | "quiet" | "ended"> => {
      pending ??= opened.then((o) => o ?? responses.next().then((r) => (r.done === true ? ("ended" as const) : r.value)));
      let timer: NodeJS.Timeout | undefined;
      const quiet = new Promise<"quiet">((resolve) => (timer = setTimeout(() => resolve("quiet"), ms)));
      const got = await Promise.race([pending, quiet]).finally(() => clearTimeout(timer));
      if (got !== "quiet") pending = undefined;
      return got;
    },
    close: () => requests.close(),
    abort: () => call.abort(),
  };
}

const submit = async (queue: string, type = "t.a") => (await s.scheduler.submitJob({ type, queue })).job!;
const leaseOf = (b: DispatchJobsResponse | string, i = 0) => {
  if (typeof b === "string") throw new Error(`expected a batch, got ${b}`);
  const j = b.jobs[i]!;
  return { jobId: j.job!.id, queue: j.job!.queue, leaseToken: j.leaseToken };
};
const statusOf = async (workerId: string, lease: { jobId: string; queue: string; leaseToken: string }) =>
  (await s.worker.heartbeat({ workerId, leases: [lease] })).leases[0]?.status;

describe("DispatchJobs", () => {
  it("pushes ready jobs of the worker's types as credits allow, in numbered batches, and a job submitted later at once", async () => {
    const stream = openStream({ workerId: "d1", queues: ["dq1"], jobTypes: ["t.a"], credits: 2 });
    await s.scheduler.submitJobs({ jobs: [1, 2, 3].map(() => ({ type: "t.a", queue: "dq1" })).concat([{ type: "t.b", queue: "dq1" }]) });
    const first = await stream.next();
    const got = typeof first === "string" ? [] : first.jobs;
    expect(first).toMatchObject({ batch: 1n });
    const more = got.length < 2 ? await stream.next() : undefined;
    const sent = [...got, ...(typeof more === "object" ? more.jobs : [])];
    expect(sent.map((j) => j.job?.type)).toEqual(["t.a", "t.a"]);
    // Credits spent: nothing more comes, though a job of its type is ready.
    expect(await stream.next(300)).toBe("quiet");
    stream.send({ credits: 5 });
    const third = await stream.next();
    expect(typeof third === "object" && third.jobs.map((j) => j.job?.type)).toEqual(["t.a"]);
    // Idle with credits: a job submitted now arrives on the stream, without a request of its own.
    const later = await submit("dq1");
    const pushed = await stream.next();
    expect(typeof pushed === "object" && pushed.jobs.map((j) => j.job?.id)).toEqual([later.id]);
    // The job of another type stays ready for a worker that has its handler.
    const { jobs } = await s.worker.leaseJobs({ workerId: "other", queues: ["dq1"], maxJobs: 10 });
    expect(jobs.map((j) => j.job?.type)).toEqual(["t.b"]);
    stream.abort();
  });

  it("waits with credits for a wake-up, not running a lease script for each credit granted meanwhile", async () => {
    const leaseScripts = async (): Promise<number> =>
      Number(/^taskflow_lease_scripts_total (\d+)/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? "NaN");
    const stream = openStream({ workerId: "d-idle", queues: ["dq-idle"], jobTypes: [], credits: 1 });
    expect(await stream.next(300)).toBe("quiet");
    const before = await leaseScripts();
    for (let i = 0; i < 20; i += 1) stream.send({ credits: 1 });
    expect(await stream.next(300)).toBe("quiet");
    expect((await leaseScripts()) - before).toBe(0);
    // The credits count: a batch of submits fills them in one push.
    await s.scheduler.submitJobs({ jobs: Array.from({ length: 30 }, () => ({ type: "t.a", queue: "dq-idle" })) });
    const sent: number[] = [];
    while (sent.reduce((a, b) => a + b, 0) < 21) {
      const b = await stream.next();
      if (typeof b === "string") throw new Error(`expected a batch, got ${b}`);
      sent.push(b.jobs.length);
    }
    expect(sent.reduce((a, b) => a + b, 0)).toBe(21);
    expect(await stream.next(300)).toBe("quiet");
    stream.abort();
  });

  it("leaves a job sent on a stream that breaks leased to the worker, which may be running it", async () => {
    const stream = openStream({ workerId: "d2", queues: ["dq2"], jobTypes: [], credits: 1 });
    const job = await submit("dq2");
    const lease = leaseOf(await stream.next());
    stream.abort();
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusOf("d2", lease)).toBe(LeaseStatus.ACTIVE);
    expect(await s.redis.hget(`${queueKeys(s.config.redisKeyPrefix, "dq2").jobPrefix}${job.id}`, "attempts")).toBe("1");
    expect((await s.worker.leaseJobs({ workerId: "d2b", queues: ["dq2"], maxJobs: 1 })).jobs).toEqual([]);
  });

  it("ends a stream the worker closes, leaving what it sent leased", async () => {
    const stream = openStream({ workerId: "d4", queues: ["dq4"], jobTypes: [], credits: 1 });
    await submit("dq4");
    const lease = leaseOf(await stream.next());
    stream.close();
    expect(await stream.next()).toBe("ended");
    expect(await statusOf("d4", lease)).toBe(LeaseStatus.ACTIVE);
  });

  it("refuses a first message without a worker id, and credits out of range, with invalid_argument", async () => {
    const noId = openStream({ workerId: "", queues: ["dq5"], credits: 1 });
    await expect(noId.next()).rejects.toMatchObject({ code: Code.InvalidArgument });
    const tooMany = openStream({ workerId: "d5", queues: ["dq5"], credits: 1 });
    tooMany.send({ credits: 1_001 });
    const err = await tooMany.next().catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.InvalidArgument, rawMessage: "credits: must be from 0 to 1000" });
  });

  it("takes reports on the stream, answers each message's in order, and goes on after a refused one", async () => {
    const stream = openStream({ workerId: "d6", queues: ["dq6"], jobTypes: [], credits: 2 });
    await s.scheduler.submitJobs({ jobs: [{ type: "t.a", queue: "dq6" }, { type: "t.a", queue: "dq6" }] });
    const sent = await stream.next();
    const second = typeof sent === "object" && sent.jobs.length === 1 ? await stream.next() : sent;
    const [a, b] = [leaseOf(sent), leaseOf(second, typeof sent === "object" && sent.jobs.length === 1 ? 0 : 1)];
    const completed = (lease: typeof a, n: number) => ({
      lease,
      outcome: { case: "completed" as const, value: { result: { kind: { case: "numberValue" as const, value: n } } } },
    });
    stream.send({ reports: [completed(a, 1)], reportBatch: 1n });
    stream.send({ reports: [completed({ ...b, leaseToken: "" }, 2)], reportBatch: 2n });
    stream.send({ reports: [completed(a, 1)], reportBatch: 3n, credits: 1 });
    expect(await stream.next()).toMatchObject({
      batch: 0n,
      jobs: [],
      reportBatch: 1n,
      reportResults: [{ jobId: a.jobId, status: ReportStatus.ACCEPTED, jobStatus: JobStatus.COMPLETED }],
    });
    expect(await stream.next()).toMatchObject({
      reportBatch: 2n,
      reportResults: [],
      reportsRefused: { code: Code.InvalidArgument, message: "reports[0].lease.lease_token: must be a lease token" },
    });
    expect(await stream.next()).toMatchObject({ reportBatch: 3n, reportResults: [{ jobId: a.jobId, status: ReportStatus.DUPLICATE }] });
    // The stream goes on: the credit sent with the reports is used for the next job.
    const c = await submit("dq6");
    expect(leaseOf(await stream.next())).toMatchObject({ jobId: c.id });
    // Reports sent just before the worker half-closes are answered before the stream ends.
    stream.send({ reports: [completed(b, 2)], reportBatch: 4n });
    stream.close();
    expect(await stream.next()).toMatchObject({ reportBatch: 4n, reportResults: [{ jobId: b.jobId, status: ReportStatus.ACCEPTED }] });
    expect(await stream.next()).toBe("ended");
    expect(await s.redis.hget(`${queueKeys(s.config.redisKeyPrefix, "dq6").jobPrefix}${b.jobId}`, "status")).toBe("completed");
  });

  it("ends a stream whose reports come without their message's number, with invalid_argument", async () => {
    const stream = openStream({ workerId: "d7", queues: ["dq7"], credits: 0 });
    stream.send({ reports: [{ lease: { jobId: "01J00000000000000000000000", queue: "dq7", leaseToken: "t" } }] });
    const err = await stream.next().catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.InvalidArgument, rawMessage: "report_batch: must be positive with reports" });
  });
});
