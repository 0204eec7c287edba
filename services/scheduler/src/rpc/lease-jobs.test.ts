import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus } from "@taskflow/proto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ReportStatus, WorkerService } from "@taskflow/proto";
import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnswerBlackhole } from "../../test/answer-blackhole.js";
import { startReplica, startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";

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

  it("leases only the job types the worker names, leaving the others ready", async () => {
    const a = (await s.scheduler.submitJob({ type: "t.old", queue: "typed" })).job!;
    const b = (await s.scheduler.submitJob({ type: "t.new", queue: "typed" })).job!;
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["typed"], jobTypes: ["t.old"], maxJobs: 10 });
    expect(jobs.map((j) => j.job!.id)).toEqual([a.id]);
    expect(await s.redis.zscore(queueKeys(s.config.redisKeyPrefix, "typed").ready("t.new"), b.id)).not.toBeNull();
    const other = await s.worker.leaseJobs({ workerId: "w2", queues: ["typed"], jobTypes: ["t.new", "t.other"], maxJobs: 10 });
    expect(other.jobs.map((j) => [j.job!.id, j.job!.attempts])).toEqual([[b.id, 1]]);
  });

  it("answers a retry of a request whose answer was lost with the same leases, spending no attempt", async () => {
    const job = (await s.scheduler.submitJob({ type: "t.once", queue: "lost-answer", maxAttempts: 1 })).job!;
    const hole = await startAnswerBlackhole(s.url);
    try {
      const viaHole = createClient(WorkerService, createGrpcTransport({ baseUrl: hole.url }));
      await viaHole.registerWorker({ workerId: "w-lost", queues: ["lost-answer"] });
      hole.swallowAnswers();
      const req = { workerId: "w-lost", queues: ["lost-answer"], maxJobs: 5, requestId: "req-1" };
      await expect(viaHole.leaseJobs(req, { timeoutMs: 1_000 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
      // The scheduler leased the job and its answer went nowhere; the worker asks again.
      const { jobs } = await s.worker.leaseJobs(req);
      expect(jobs.map((j) => [j.job!.id, j.job!.attempts])).toEqual([[job.id, 1]]);
      const lease = { jobId: job.id, queue: "lost-answer", leaseToken: jobs[0]!.leaseToken };
      const { results } = await s.worker.reportJobs({
        workerId: "w-lost",
        reports: [{ lease, outcome: { case: "completed", value: {} } }],
      });
      expect(results[0]!.status).toBe(ReportStatus.ACCEPTED);
      // A new request leases anew: nothing is left.
      expect((await s.worker.leaseJobs({ ...req, requestId: "req-2" })).jobs).toEqual([]);
    } finally {
      await hole.close();
    }
  });

  it("hands back at once what it leased for a caller that went away, without counting the attempt", async () => {
    const job = (await s.scheduler.submitJob({ type: "t.gone", queue: "went-away", maxAttempts: 1 })).job!;
    const ac = new AbortController();
    const poll = s.worker.leaseJobs({ workerId: "w-gone", queues: ["went-away-first", "went-away"], maxJobs: 1, requestId: "r-gone" }, {
      signal: ac.signal,
    });
    ac.abort();
    await expect(poll).rejects.toMatchObject({ code: Code.Canceled });
    const k = queueKeys(s.config.redisKeyPrefix, "went-away");
    await eventually(async () => (await s.redis.zscore(k.ready("t.gone"), job.id)) !== null ? true : undefined);
    expect(await s.redis.hget(k.jobPrefix + job.id, "attempts")).toBe("0");
    const { jobs } = await s.worker.leaseJobs({ workerId: "w2", queues: ["went-away"], maxJobs: 1 });
    expect(jobs.map((j) => [j.job!.id, j.job!.attempts])).toEqual([[job.id, 1]]);
  });

  it("bounds an answer by bytes, so dozens of jobs near the payload limit are all leased over one connection", async () => {
    const blob = "x".repeat(900 * 1024);
    const ids = new Set<string>();
    for (let i = 0; i < 30; i += 1) ids.add((await s.scheduler.submitJob({ type: "t.big", queue: "big", payload: { blob } })).job!.id);
    const leased: string[] = [];
    const sizes: number[] = [];
    while (leased.length < 30) {
      const { jobs } = await s.worker.leaseJobs({ workerId: "w-big", queues: ["big"], maxJobs: 30 });
      expect(jobs.length).toBeGreaterThan(0);
      sizes.push(jobs.length);
      leased.push(...jobs.map((j) => j.job!.id));
    }
    expect(new Set(leased)).toEqual(ids);
    // Four jobs of 0.9 MiB fill the default 4 MiB budget; the first always goes.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5);
    // The connection is still good.
    expect((await s.worker.heartbeat({ workerId: "w-big", leases: [] })).leases).toEqual([]);
  });
});

describe("LeaseJobs wake-ups", () => {
  /** Lease script runs a scheduler counted so far. */
  const leaseScripts = async (url: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^taskflow_lease_scripts_total (\d+)/m.exec(text)?.[1] ?? "NaN");
  };

  it("runs about one lease script per replica when one job arrives for twenty idle long polls", async () => {
    const s1 = await startStack({ env: { SWEEP_INTERVAL_MS: "60000" } });
    const s2 = await startReplica(s1);
    try {
      const stop = new AbortController();
      const polls = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? s1.worker : s2.worker)
          .leaseJobs({ workerId: `w${i}`, queues: ["crowd"], maxJobs: 1, wait: durationFromMs(20_000) }, { signal: stop.signal })
          .catch(() => ({ jobs: [] })),
      );
      // Every poll makes its first attempt, then waits.
      await eventually(async () => ((await leaseScripts(s1.url)) + (await leaseScripts(s2.url)) >= 20 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = (await leaseScripts(s1.url)) + (await leaseScripts(s2.url));
      await s1.scheduler.submitJob({ type: "t.one", queue: "crowd" });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const scripts = (await leaseScripts(s1.url)) + (await leaseScripts(s2.url)) - before;
      stop.abort();
      const answers = await Promise.all(polls);
      expect(answers.flatMap((a) => a.jobs)).toHaveLength(1);
      // One per replica (each wakes one of its own waiters); every poll waking would run twenty.
      expect(scripts).toBeGreaterThanOrEqual(1);
      expect(scripts).toBeLessThanOrEqual(4);
    } finally {
      await s2.close();
      await s1.close();
    }
  });
});
