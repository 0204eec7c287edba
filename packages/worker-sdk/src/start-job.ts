import { type JsonValue, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { durationMs, timestampMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { enumText, type Job, JobStatusSchema, type LeaseSchema, type LeasedJob } from "@taskflow/proto";
import type { Logger } from "pino";
import { endAttemptSpan, runInAttemptSpan, startAttemptSpan } from "./attempt-span.js";
import { JobAbortError, type AbortKind } from "./job-abort-error.js";
import { isPermanentError } from "./permanent-error.js";
import { ProgressSlot } from "./progress-slot.js";
import type { Handler, JobContext, ParentResult } from "./types.js";

/** A lease as the worker sends it back in heartbeats, reports and releases; the token names the attempt. */
export type LeaseRef = MessageInitShape<typeof LeaseSchema> & { jobId: string; queue: string; leaseToken: string };

/**
 * How an attempt ended, as far as this worker is concerned. "released": stopped by a shutdown
 * (the handler failed after the abort, or never settled), so the job is handed back with the
 * attempt counted.
 */
export type JobOutcome =
  | { kind: "completed"; result: JsonValue }
  | { kind: "failed"; error: string; permanent: boolean }
  | { kind: "lost" }
  | { kind: "released" };

/** An attempt that is running. */
export interface ActiveJob {
  readonly job: Job;
  readonly lease: LeaseRef;
  /**
   * Aborts the attempt's signal unless its outcome is already decided; true when this call
   * stopped it. A timeout, cancel or lost lease decides the outcome at once. A shutdown does
   * not: the handler may still end well, so the outcome waits for it (a result completes the
   * attempt, a failure releases the job) or for `abandon()`.
   */
  abort(kind: AbortKind): boolean;
  /** After a shutdown abort, stops waiting for the handler: the job is released. True when this call decided it. */
  abandon(): boolean;
  /** Settles once, with whichever came first: the handler's end or an abort that decides. */
  readonly outcome: Promise<JobOutcome>;
  /** The attempt's latest progress (see JobContext.progress). */
  readonly progress: ProgressSlot;
}

// Error text travels in every report and audit event; a runaway message must not bloat them.
const maxErrorChars = 4096;
// An attempt the scheduler gave no deadline runs until it ends or is stopped otherwise.
const noDeadlineMs = 8.64e15 / 2;
// setTimeout cannot wait longer than this; a deadline further out needs no timer.
const maxTimerMs = 2 ** 31 - 1;

/**
 * Starts the handler of a leased job with a signal that aborts at the job's deadline or on
 * `abort()`. The outcome is fixed by the first event: an abort does not wait for a handler that
 * ignores its signal, so a hung handler cannot hold its slot or its lease forever. The one
 * exception is shutdown, which waits for the handler until the worker calls `abandon()`.
 * `onProgress` runs each time the handler reports progress.
 */
export function startJob(leased: LeasedJob, handlers: Record<string, Handler>, logger: Logger, onProgress: () => void = () => undefined): ActiveJob {
  const job = leased.job ?? failMissingJob();
  const lease: LeaseRef = { jobId: job.id, queue: job.queue, leaseToken: leased.leaseToken };
  const controller = new AbortController();
  const startedAt = Date.now();
  const deadline = new Date(startedAt + attemptBudgetMs(leased, job, startedAt));
  const timeoutMs = job.timeout ? durationMs(job.timeout) : deadline.getTime() - startedAt;
  const { outcome, decide, decided } = decider(() => clearTimeout(timer));
  let shuttingDown = false;
  const abort = (kind: AbortKind): boolean => {
    if (kind === "shutdown") {
      if (decided() || shuttingDown) return false;
      shuttingDown = true;
      controller.abort(new JobAbortError(kind, "worker shutting down"));
      return true;
    }
    const reason = abortOutcome(kind, timeoutMs);
    if (!decide(reason.outcome)) return false;
    controller.abort(new JobAbortError(kind, reason.message));
    return true;
  };
  const abandon = (): boolean => shuttingDown && decide({ kind: "released" });
  const waitMs = deadline.getTime() - startedAt;
  const timer = waitMs <= maxTimerMs ? setTimeout(() => abort("timeout"), Math.max(0, waitMs)) : undefined;
  const progress = new ProgressSlot();
  const ctx: JobContext = {
    id: job.id,
    type: job.type,
    queue: job.queue,
    payload: job.payload ?? {},
    attempt: job.attempts,
    maxAttempts: job.maxAttempts,
    signal: controller.signal,
    deadline,
    logger: logger.child({ job_id: job.id, job_type: job.type, attempt: job.attempts }),
    parents: job.parents.map((p) => ({
      id: p.id,
      type: p.type,
      queue: p.queue,
      status: (enumText(JobStatusSchema, p.status) ?? "completed") as ParentResult["status"],
      result: p.result === undefined ? undefined : toJson(ValueSchema, p.result),
    })),
    progress: (percent, details) => {
      progress.set(percent, details);
      onProgress();
    },
  };
  const span = startAttemptSpan(leased, job);
  // runHandler turns every failure into an outcome and decide never throws: nothing to catch.
  // A result is kept even after a shutdown abort: the work is done. A failure then is the stop.
  void runInAttemptSpan(span, () => runHandler(handlers[job.type], ctx, span?.recordException.bind(span))).then((o) =>
    decide(shuttingDown && o.kind === "failed" ? { kind: "released" } : o),
  );
  if (span !== undefined) void outcome.then((o) => endAttemptSpan(span, o));
  return { job, lease, abort, abandon, outcome, progress };
}

/** The outcome promise and the one-shot function that settles it; `onDecide` runs once, first. */
function decider(onDecide: () => void) {
  let isDecided = false;
  let resolve!: (o: JobOutcome) => void;
  const outcome = new Promise<JobOutcome>((r) => (resolve = r));
  const decide = (o: JobOutcome): boolean => {
    if (isDecided) return false;
    isDecided = true;
    onDecide();
    resolve(o);
    return true;
  };
  return { outcome, decide, decided: () => isDecided };
}

/**
 * Time the attempt may run, in ms. Both ends of the scheduler's window come from the scheduler's
 * clock, so measuring it there keeps a skewed worker clock from cutting attempts short.
 */
function attemptBudgetMs(leased: LeasedJob, job: Job, nowMs: number): number {
  if (leased.deadline && job.startedAt) return timestampMs(leased.deadline) - timestampMs(job.startedAt);
  if (leased.deadline) return timestampMs(leased.deadline) - nowMs;
  if (job.timeout) return durationMs(job.timeout);
  return noDeadlineMs;
}

/** Runs the handler; `recordError` (the attempt's span, when traced) sees what it threw. */
async function runHandler(handler: Handler | undefined, ctx: JobContext, recordError?: (err: Error | string) => void): Promise<JobOutcome> {
  if (handler === undefined) {
    return { kind: "failed", error: `no handler for job type ${ctx.type}`, permanent: false };
  }
  let value: JsonValue | void;
  try {
    value = await handler(ctx);
  } catch (err) {
    recordError?.(err instanceof Error ? err : String(err));
    return { kind: "failed", error: errorText(err), permanent: isPermanentError(err) };
  }
  try {
    return { kind: "completed", result: toPlainJson(value) };
  } catch (err) {
    // The same code returns the same unserialisable value on every attempt: retrying is pointless.
    return { kind: "failed", error: `handler result is not JSON: ${errorText(err)}`, permanent: true };
  }
}

function abortOutcome(kind: Exclude<AbortKind, "shutdown">, timeoutMs: number): { outcome: JobOutcome; message: string } {
  switch (kind) {
    case "timeout": {
      const message = `timed out after ${Math.round(timeoutMs)} ms`;
      return { outcome: { kind: "failed", error: message, permanent: false }, message };
    }
    case "cancel":
      // Permanent, so that a cancelled job is never retried whatever the scheduler decides.
      return { outcome: { kind: "failed", error: "cancelled", permanent: true }, message: "cancelled" };
    case "lost":
      return { outcome: { kind: "lost" }, message: "lease lost" };
  }
}

/** Normalises a handler's return value to plain JSON (Dates become strings, undefined null). */
function toPlainJson(value: JsonValue | void): JsonValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.length > maxErrorChars ? `${text.slice(0, maxErrorChars)}…` : text;
}

function failMissingJob(): never {
  throw new Error("leased job without a job");
}
