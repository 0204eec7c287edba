import { ERROR_TABLE, type JobTypeSpec, WORKERS } from "./catalog.js";
import type { Timeline } from "./generate-jobs.js";
import { type Random, WeightedTable } from "./random.js";

/** Values of `jobs.status`. */
export type JobStatusText = "pending" | "processing" | "completed" | "failed" | "cancelled";

/** The event types the bench's trails use. */
export type JobEventTypeText = "submitted" | "started" | "completed" | "retry_scheduled" | "failed" | "cancelled";

/** One `job_events` row. Times are Unix milliseconds; result and details are JSON text. */
export interface GeneratedEvent {
  seq: number;
  type: JobEventTypeText;
  status: JobStatusText;
  attempt: number;
  workerId: string | null;
  error: string | null;
  actor: string;
  result: string | null;
  details: string | null;
  occurredMs: number;
  recordedMs: number;
  leaseId: string | null;
  reason: string;
}

/** The fields of a job that follow from how its run went, and its trail. */
export interface Outcome {
  status: JobStatusText;
  result: string | null;
  error: string | null;
  errorSeq: number | null;
  attempts: number;
  maxAttempts: number;
  lastSeq: number;
  updatedMs: number;
  startedMs: number;
  completedMs: number | null;
  workerId: string;
  events: GeneratedEvent[];
}

/** Share of the newest jobs among which unfinished (pending, processing) ones are. */
export const RECENT_SHARE = 0.04;
/** Chance that a job among the newest is unfinished: 0.04 * 0.75 = 3 % of all jobs. */
export const UNFINISHED_IN_RECENT = 0.75;
/**
 * The newest jobs among which running (processing) ones are: a quarter of them, about 100,
 * far below the workers' total concurrency, as on a live system.
 */
export const RUNNING_WINDOW = 400;

/** 90 % completed, 5 % failed, 2 % cancelled; the other 3 % are unfinished (recent) jobs. */
const TERMINAL = new WeightedTable<JobStatusText>(["completed", "failed", "cancelled"], [90, 5, 2]);
/** Attempts a completed job took, when it may take three. */
const ATTEMPTS_TO_COMPLETE = new WeightedTable([1, 2, 3], [92, 6, 2]);
const QUEUE_WAIT_MEDIAN_MS = 40;
const QUEUE_WAIT_SIGMA = 1.6;
const MAX_QUEUE_WAIT_MS = 600_000;
const RUN_SIGMA = 0.8;
const MAX_RUN_MS = 1_800_000;
const RETRY_BACKOFF_MS = 30_000;

interface QueueWorkers {
  all: string[];
  /** Those that did not deregister part-way through the data. */
  survivors: string[];
}

const WORKERS_BY_QUEUE = new Map<string, QueueWorkers>();
for (const w of WORKERS) {
  const entry = WORKERS_BY_QUEUE.get(w.queue) ?? { all: [], survivors: [] };
  entry.all.push(w.id);
  if (w.fate !== "gone") entry.survivors.push(w.id);
  WORKERS_BY_QUEUE.set(w.queue, entry);
}

/**
 * Draws how job `index` went: its status (unfinished ones only among the newest jobs), its
 * attempts, when it started and ended (skewed queue waits and run times, never past the end of
 * the time frame), the worker of its latest attempt, and a three-event trail that the row is
 * the fold of, as AppendEvents would leave it: submitted, started, then completed, failed,
 * cancelled or retry_scheduled. A processing job has only the first two.
 */
export function drawOutcome(rng: Random, tl: Timeline, index: number, spec: JobTypeSpec, createdMs: number, scheduledMs: number): Outcome {
  const status = drawStatus(rng, tl, index);
  const maxAttempts = status !== "pending" && rng.chance(0.15) ? 1 : 3;
  const attempts = status === "failed" ? maxAttempts : status === "completed" && maxAttempts === 3 ? ATTEMPTS_TO_COMPLETE.draw(rng) : 1;
  const clamp = (ms: number) => Math.min(ms, tl.endMs - 1);
  const startedMs = clamp(scheduledMs + Math.round(Math.min(MAX_QUEUE_WAIT_MS, rng.logNormal(QUEUE_WAIT_MEDIAN_MS, QUEUE_WAIT_SIGMA))));
  const runMs = Math.round(Math.min(MAX_RUN_MS, rng.logNormal(spec.medianRunMs, RUN_SIGMA)));
  const run: Run = {
    status,
    attempts,
    createdMs,
    startedMs,
    endedMs: clamp(startedMs + (status === "cancelled" ? Math.floor(runMs * rng.next()) : runMs)),
    runMs,
    workerId: pickWorker(rng, spec.queue, startedMs, tl.retireMs),
    leaseId: `${rng.hex(16)}:${rng.int(1, 20)}`,
    error: status === "failed" || status === "pending" ? ERROR_TABLE.draw(rng) : null,
    lagsMs: [rng.int(2, 150), rng.int(2, 150), rng.int(2, 150)],
  };
  const events = trail(run);
  const last = events[events.length - 1] as GeneratedEvent;
  const finished = status === "completed" || status === "failed" || status === "cancelled";
  return {
    status,
    result: last.result,
    error: run.error,
    errorSeq: run.error === null ? null : last.seq,
    attempts,
    maxAttempts,
    lastSeq: events.length,
    updatedMs: last.recordedMs,
    startedMs,
    completedMs: finished ? run.endedMs : null,
    workerId: run.workerId,
    events,
  };
}

/** What was drawn about a job's latest attempt. Times are Unix milliseconds. */
interface Run {
  status: JobStatusText;
  attempts: number;
  createdMs: number;
  startedMs: number;
  endedMs: number;
  runMs: number;
  workerId: string;
  leaseId: string;
  error: string | null;
  /** How long after each event history recorded it. */
  lagsMs: [number, number, number];
}

/** The job's events: submitted, started and, unless it is still processing, how it ended. */
function trail(run: Run): GeneratedEvent[] {
  const event = (seq: 1 | 2 | 3, type: JobEventTypeText, status: JobStatusText, atMs: number, reason: string): GeneratedEvent => ({
    seq,
    type,
    status,
    attempt: seq === 1 ? 0 : run.attempts,
    workerId: seq === 1 ? null : run.workerId,
    error: null,
    actor: seq === 1 ? "api" : `worker:${run.workerId}`,
    result: null,
    details: null,
    occurredMs: atMs,
    recordedMs: atMs + (run.lagsMs[seq - 1] as number),
    leaseId: seq === 1 ? null : run.leaseId,
    reason,
  });
  const events = [event(1, "submitted", "pending", run.createdMs, "submitted"), event(2, "started", "processing", run.startedMs, "leased")];
  const end = (type: JobEventTypeText, reason: string) => event(3, type, run.status, run.endedMs, reason);
  switch (run.status) {
    case "completed":
      return [...events, { ...end("completed", "handler_succeeded"), result: JSON.stringify({ ok: true, ms: run.runMs }) }];
    case "failed":
      return [...events, { ...end("failed", "attempts_exhausted"), error: run.error }];
    case "cancelled":
      return [...events, end("cancelled", "cancel_requested")];
    case "pending": {
      const details = JSON.stringify({ retry_at: new Date(run.endedMs + RETRY_BACKOFF_MS).toISOString() });
      return [...events, { ...end("retry_scheduled", "handler_failed"), error: run.error, details }];
    }
    case "processing":
      return events;
  }
}

function drawStatus(rng: Random, tl: Timeline, index: number): JobStatusText {
  // Drawn for every job, so the sequence of draws does not depend on the job's age.
  const unfinished = rng.chance(UNFINISHED_IN_RECENT);
  const pending = rng.chance(2 / 3);
  const terminal = TERMINAL.draw(rng);
  if (index >= tl.recentFrom && unfinished) return pending || index < tl.runningFrom ? "pending" : "processing";
  return terminal;
}

/** A worker of the queue that was still registered when the attempt started. */
function pickWorker(rng: Random, queue: string, startedMs: number, retireMs: number): string {
  const workers = WORKERS_BY_QUEUE.get(queue) as QueueWorkers;
  return rng.pick(startedMs < retireMs ? workers.all : workers.survivors);
}
