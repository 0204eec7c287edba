import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { JobSchema, LeasedJobSchema, type LeasedJob } from "@taskflow/proto";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { JobAbortError } from "./job-abort-error.js";
import { PermanentError } from "./permanent-error.js";
import { startJob } from "./start-job.js";
import type { Handler, JobContext } from "./types.js";

const logger = pino({ level: "silent" });

function leased(type: string, opts: { timeoutMs?: number; attempts?: number } = {}): LeasedJob {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return create(LeasedJobSchema, {
    job: create(JobSchema, {
      id: "job-1",
      type,
      queue: "q1",
      payload: { n: 1 },
      attempts: opts.attempts ?? 2,
      maxAttempts: 5,
      timeout: durationFromMs(timeoutMs),
    }),
    leaseToken: "token-1",
    deadline: timestampFromMs(Date.now() + timeoutMs),
  });
}

/** A handler that waits for its signal and records the context it got. */
function blocking(seen: JobContext[]): Handler {
  return (ctx) => {
    seen.push(ctx);
    return new Promise((_resolve, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as JobAbortError));
    });
  };
}

describe("startJob", () => {
  it("gives the handler the job's context and completes with its JSON result", async () => {
    const seen: JobContext[] = [];
    const active = startJob(leased("t"), { t: (ctx) => (seen.push(ctx), Promise.resolve({ at: new Date(0) } as never)) }, logger);
    expect(active.lease).toEqual({ jobId: "job-1", queue: "q1", leaseToken: "token-1" });
    expect(await active.outcome).toEqual({ kind: "completed", result: { at: "1970-01-01T00:00:00.000Z" } });
    expect(seen[0]).toMatchObject({ id: "job-1", type: "t", queue: "q1", payload: { n: 1 }, attempt: 2, maxAttempts: 5 });
    expect(seen[0]?.deadline.getTime()).toBeGreaterThan(Date.now());
  });

  it("completes with null when the handler returns nothing", async () => {
    const active = startJob(leased("t"), { t: () => Promise.resolve() }, logger);
    expect(await active.outcome).toEqual({ kind: "completed", result: null });
  });

  it("fails with the error's message, permanent only for PermanentError", async () => {
    const handlers: Record<string, Handler> = {
      retry: () => Promise.reject(new Error("boom")),
      never: () => Promise.reject(new PermanentError("bad input")),
    };
    expect(await startJob(leased("retry"), handlers, logger).outcome).toEqual({ kind: "failed", error: "boom", permanent: false });
    expect(await startJob(leased("never"), handlers, logger).outcome).toEqual({ kind: "failed", error: "bad input", permanent: true });
  });

  it("fails a job type without a handler", async () => {
    expect(await startJob(leased("unknown.type"), {}, logger).outcome).toEqual({
      kind: "failed",
      error: "no handler for job type unknown.type",
      permanent: false,
    });
  });

  it("fails permanently on a result that is not JSON", async () => {
    const outcome = await startJob(leased("t"), { t: () => Promise.resolve({ n: 1n } as never) }, logger).outcome;
    expect(outcome).toMatchObject({ kind: "failed", permanent: true });
  });

  it("aborts the signal at the deadline and fails with the timeout", async () => {
    const seen: JobContext[] = [];
    const outcome = await startJob(leased("t", { timeoutMs: 50 }), { t: blocking(seen) }, logger).outcome;
    expect(outcome).toEqual({ kind: "failed", error: "timed out after 50 ms", permanent: false });
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[0]?.signal.reason).toBeInstanceOf(JobAbortError);
    expect((seen[0]?.signal.reason as JobAbortError).kind).toBe("timeout");
  });

  it.each([
    ["cancel", { kind: "failed", error: "cancelled", permanent: true }],
    ["lost", { kind: "lost" }],
    // The handler below fails at once on its abort: handed back, the attempt counted.
    ["shutdown", { kind: "released" }],
  ] as const)("on abort(%s) aborts the signal and ends as %j", async (kind, expected) => {
    const seen: JobContext[] = [];
    const active = startJob(leased("t"), { t: blocking(seen) }, logger);
    await Promise.resolve();
    expect(active.abort(kind)).toBe(true);
    expect(await active.outcome).toEqual(expected);
    expect((seen[0]?.signal.reason as JobAbortError).kind).toBe(kind);
  });

  it("does not wait for a handler that ignores its signal", async () => {
    const active = startJob(leased("t"), { t: () => new Promise(() => undefined) }, logger);
    active.abort("cancel");
    expect(await active.outcome).toMatchObject({ kind: "failed", error: "cancelled" });
  });

  it("measures the deadline on the scheduler's clock, so a skewed worker clock does not matter", async () => {
    const job = leased("t");
    const serverNow = Date.now() - 3_600_000; // the scheduler's clock is an hour behind ours
    job.job!.startedAt = timestampFromMs(serverNow);
    job.deadline = timestampFromMs(serverNow + 5_000);
    const seen: JobContext[] = [];
    const active = startJob(job, { t: (ctx) => Promise.resolve(void seen.push(ctx)) }, logger);
    expect(await active.outcome).toEqual({ kind: "completed", result: null });
    const budget = seen[0]!.deadline.getTime() - Date.now();
    expect(budget).toBeGreaterThan(4_000);
    expect(budget).toBeLessThanOrEqual(5_000);
  });

  it("on a shutdown abort waits for the handler: a result it returns then completes the attempt", async () => {
    let settled = false;
    const active = startJob(
      leased("t"),
      { t: (ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => setTimeout(() => ((settled = true), resolve("saved")), 20))) },
      logger,
    );
    await Promise.resolve();
    expect(active.abort("shutdown")).toBe(true);
    expect(await active.outcome).toEqual({ kind: "completed", result: "saved" });
    expect(settled).toBe(true);
  });

  it("abandon() hands back a handler that ignores the shutdown abort; before the abort it does nothing", async () => {
    const active = startJob(leased("t"), { t: () => new Promise(() => undefined) }, logger);
    expect(active.abandon()).toBe(false);
    expect(active.abort("shutdown")).toBe(true);
    expect(active.abort("shutdown")).toBe(false);
    expect(active.abandon()).toBe(true);
    expect(await active.outcome).toEqual({ kind: "released" });
  });

  it("keeps the first outcome: an abort after the end changes nothing", async () => {
    const active = startJob(leased("t"), { t: () => Promise.resolve("done") }, logger);
    expect(await active.outcome).toEqual({ kind: "completed", result: "done" });
    expect(active.abort("shutdown")).toBe(false);
  });
});
