import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus } from "@taskflow/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const submit = async (queue: string, priority = 0) =>
  (await s.scheduler.submitJob({ type: "t.echo", queue, priority, payload: { queue } })).job!;

describe("LeaseJobs", () => {
  it("leases a ready job with its lease token, lease expiry and deadline", async () => {
    const job = await submit("l1");
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["l1"], maxJobs: 10 });
    expect(jobs).toHaveLength(1);
    const leased = jobs[0]!;
    expect(leased.job).toMatchObject({ id: job.id, type: "t.echo", queue: "l1", status: JobStatus.PROCESSING, attempts: 1, workerId: "w1" });
    expect(leased.job!.payload).toEqual({ queue: "l1" });
    expect(leased.leaseToken).not.toBe("");
    const started = timestampMs(leased.job!.startedAt!);
    expect(timestampMs(leased.leaseExpiresAt!)).toBe(started + s.config.leaseMs);
    expect(timestampMs(leased.deadline!)).toBe(started + s.config.defaultTimeoutMs);
  });

  it("takes queues in order of preference and honours max_jobs", async () => {
    const low = await submit("pref-b");
    const high = await submit("pref-a");
    await submit("pref-a");
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["pref-a", "pref-b"], maxJobs: 3 });
    expect(jobs.map((j) => j.job!.queue)).toEqual(["pref-a", "pref-a", "pref-b"]);
    expect(jobs[0]!.job!.id).toBe(high.id);
    expect(jobs[2]!.job!.id).toBe(low.id);
  });

  it("treats max_jobs 0 as 1", async () => {
    await submit("clamp");
    await submit("clamp");
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["clamp"], maxJobs: 0 });
    expect(jobs).toHaveLength(1);
  });

  it("answers at once with nothing when wait is zero", async () => {
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["empty"], maxJobs: 1 });
    expect(jobs).toEqual([]);
  });

  it("waits up to `wait` and answers empty when nothing arrives", async () => {
    const started = Date.now();
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["quiet"], maxJobs: 1, wait: durationFromMs(300) });
    expect(jobs).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("wakes a waiting long poll as soon as a job is submitted", async () => {
    const waiting = s.logged("lease poll waiting");
    const started = Date.now();
    const poll = s.worker.leaseJobs({ workerId: "w1", queues: ["wake"], maxJobs: 1, wait: durationFromMs(30_000) });
    await waiting;
    const job = await submit("wake");
    const { jobs } = await poll;
    expect(jobs.map((j) => j.job!.id)).toEqual([job.id]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("ends the long poll when the caller gives up", async () => {
    const waiting = s.logged("lease poll waiting");
    const ac = new AbortController();
    const poll = s.worker.leaseJobs(
      { workerId: "w1", queues: ["gone"], maxJobs: 1, wait: durationFromMs(30_000) },
      { signal: ac.signal },
    );
    await waiting;
    ac.abort();
    await expect(poll).rejects.toMatchObject({ code: Code.Canceled });
  });

  it("refuses a request without queues or with a bad worker id", async () => {
    const err = (p: Promise<unknown>) => p.catch((e: unknown) => ConnectError.from(e).code);
    expect(await err(s.worker.leaseJobs({ workerId: "w1", queues: [], maxJobs: 1 }))).toBe(Code.InvalidArgument);
    expect(await err(s.worker.leaseJobs({ workerId: "", queues: ["q"], maxJobs: 1 }))).toBe(Code.InvalidArgument);
    expect(await err(s.worker.leaseJobs({ workerId: "w1", queues: ["a b"], maxJobs: 1 }))).toBe(Code.InvalidArgument);
  });
});
