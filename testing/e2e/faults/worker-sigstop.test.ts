import { createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { JobStatus, jobResult } from "@taskflow/client";
import { LeaseStatus, ReportStatus, WorkerService } from "@taskflow/proto";
import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startFaultStack, type FaultStack } from "./fault-stack.js";
import { expectInvariants, withoutLapses } from "./invariants.js";

let fs: FaultStack;

beforeAll(async () => {
  // One slot per worker: a busy worker then has no long poll waiting at the scheduler. A frozen
  // worker's waiting poll would be handed the job once its lease lapsed, and that attempt
  // would lapse in turn (a lease costs an attempt whoever never runs it).
  fs = await startFaultStack({ workers: 2, worker: { WORKER_CONCURRENCY: "1" } });
});

afterAll(async () => {
  await fs?.close();
});

/** What the SDK logs when the scheduler refuses its late report, or tells it at heartbeat that the lease is gone. */
const LEASE_LOST_LINES = ["report refused, lease lost", "lease lost, attempt abandoned"];

describe("fault: a worker is frozen (SIGSTOP) past its lease, then thawed (SIGCONT)", () => {
  it("stops the thawed attempt without an outcome and keeps the newer attempt's", async () => {
    // Long enough that the thawed attempt is still running when it hears of the lost lease.
    const job = await fs.submit({ type: "sleep", payload: { ms: 5_000 }, maxAttempts: 10 });
    const first = await eventually(async () => (await fs.executions()).find((r) => r.job_id === job.id));
    const frozen = fs.stack.workers.find((w) => w.pid === first.pid)!;
    frozen.pause();
    // The lease lapses without heartbeats, and the other worker takes the job.
    const second = await eventually(
      async () => (await fs.executions()).find((r) => r.job_id === job.id && r.pid !== first.pid),
      10_000,
    );
    frozen.resume();
    // The thawed attempt learns it lost its lease while the newer attempt still runs.
    const line = await frozen.waitForOutput((l) => LEASE_LOST_LINES.some((m) => l.includes(m)), 10_000);
    expect(line).toContain(job.id);

    const done = await fs.client.waitFor(job.id, { timeoutMs: 20_000 });
    const facts = await expectInvariants(fs, { acked: [job.id] });
    const trail = facts.get(job.id)!.trail;
    // The completion belongs to whichever attempt was started last: the frozen attempt's
    // outcome never counts. (Only heavy load could start a third attempt, see withoutLapses.)
    const last = trail.findLast((e) => e.type === "started")!;
    expect(withoutLapses(trail, 3).map((e) => [e.type, e.attempt, e.worker_id])).toEqual([
      ["submitted", 0, null],
      ["started", 1, first.worker_id],
      ["lease_expired", 1, first.worker_id],
      ["started", 2, second.worker_id],
      ["completed", last.attempt, last.worker_id],
    ]);
    expect(done.status).toBe(JobStatus.COMPLETED);
    expect(done.attempts).toBe(last.attempt);
    expect(done.workerId).toBe(last.worker_id);
    const runs = (await fs.executions()).filter((r) => r.job_id === job.id && r.pid === first.pid);
    expect(runs.slice(0, 2).map((r) => [r.event, r.reason])).toEqual([
      ["start", undefined],
      ["abort", "lost"],
    ]);
  }, 60_000);

  it("refuses a late report under the lost lease, before and after the newer attempt finished", async () => {
    // The test itself is the frozen worker: it leases the job over the wire and then goes quiet.
    // It leases from the first scheduler replica and reports late to the last, past the
    // balancer: the lease token fences the report whichever replica gets it.
    const connect = (baseUrl: string) => {
      const sessions = new Http2SessionManager(baseUrl);
      onTestFinished(() => sessions.abort());
      return createClient(WorkerService, createGrpcTransport({ baseUrl, sessionManager: sessions }));
    };
    const worker = connect(fs.stack.schedulers[0]!.url);
    const lateWorker = connect(fs.stack.schedulers.at(-1)!.url);
    const { workerId } = await worker.registerWorker({ workerId: "frozen-by-test", queues: ["fence"], jobTypes: ["sleep"] });
    const job = await fs.submit({ type: "sleep", queue: "fence", payload: { ms: 1_500 }, maxAttempts: 10 });
    const { jobs } = await worker.leaseJobs({ workerId, queues: ["fence"], maxJobs: 1 });
    expect(jobs.map((j) => j.job?.id)).toEqual([job.id]);
    const lease = { jobId: job.id, queue: "fence", leaseToken: jobs[0]!.leaseToken };
    const lateReport = async () => {
      const res = await lateWorker.reportJobs({
        workerId,
        reports: [{ lease, outcome: { case: "completed", value: { result: { kind: { case: "stringValue", value: "late" } } } } }],
      });
      return res.results.map((r) => r.status);
    };
    // A real worker takes over once the lease has lapsed.
    await fs.addWorker({ WORKER_QUEUES: "fence" });
    await fs.untilLogged([job]);

    expect(await lateReport()).toEqual([ReportStatus.LEASE_LOST]);
    const beat = await lateWorker.heartbeat({ workerId, leases: [lease] });
    expect(beat.leases.map((l) => l.status)).toEqual([LeaseStatus.LOST]);
    const done = await fs.client.waitFor(job.id, { timeoutMs: 20_000 });
    expect(await lateReport()).toEqual([ReportStatus.LEASE_LOST]);

    expect(done.status).toBe(JobStatus.COMPLETED);
    expect(jobResult(done)).toEqual({ slept_ms: 1_500 });
    const facts = await expectInvariants(fs, { acked: [job.id] });
    expect(facts.get(job.id)!.trail.filter((e) => e.type === "completed").map((e) => e.worker_id)).toEqual([done.workerId]);
    expect(done.workerId).not.toBe(workerId);
  }, 60_000);
});
