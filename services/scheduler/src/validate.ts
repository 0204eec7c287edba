import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { durationMs, timestampMs, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ParentFailurePolicy, SubmitJobRequest } from "@taskflow/proto";
import { v7 as uuidv7 } from "uuid";
import { findTextProblem, MAX_JSON_DEPTH, nestsDeeperThan, textProblem } from "./check-json.js";
import { invalidArgument, resourceExhausted } from "./errors.js";
import { type JobDependencies, resolveDependencies } from "./validate-flow.js";

/** Letters, digits and "._:-", 1 to 128 characters: job types and queue names. */
export const NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const DEFAULT_QUEUE = "default";
export const DEFAULT_MAX_ATTEMPTS = 3;
export const MAX_PRIORITY = 1000;
export const MAX_ATTEMPTS_LIMIT = 100;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Furthest a job may be scheduled ahead, in ms (one year). */
export const MAX_SCHEDULE_AHEAD_MS = 365 * 86_400_000;
export const MIN_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 86_400_000;

/** Limits a submit is checked against (from the scheduler's config). */
export interface SubmitLimits {
  maxSubmitBatch: number;
  maxPayloadBytes: number;
  defaultTimeoutMs: number;
}

/** A submitted job after validation, with its new id. Times in ms. */
export interface NewJob {
  id: string;
  type: string;
  queue: string;
  payload: JsonObject;
  /** The payload as the JSON text Redis keeps. */
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
  idempotencyKey: string;
  /** Relative start, used when `runAtMs` is 0. */
  delayMs: number;
  /** Absolute start (ms since the Unix epoch), or 0. */
  runAtMs: number;
  /** When the job is due by this process's clock; Redis decides the real due time. */
  scheduledAtMs: number;
  /** Jobs it waits for (stored ones, or jobs of its batch); empty for a job without. */
  parentIds: string[];
  /** What it does when a parent fails or is cancelled (UNSPECIFIED without parents). */
  onParentFailure: ParentFailurePolicy;
  /** The schedule whose run this job is; unset for a submitted job. */
  scheduleId?: string;
}

/**
 * Validates a SubmitJobs batch, all or nothing.
 * @throws invalid_argument naming the first bad job's index and field (also for a batch over
 *   `limits.maxSubmitBatch`); resource_exhausted for a payload over `limits.maxPayloadBytes`.
 */
export function parseSubmitJobs(reqs: readonly SubmitJobRequest[], limits: SubmitLimits, nowMs = Date.now()): NewJob[] {
  if (reqs.length === 0) throw invalidArgument("jobs", "must hold at least one job");
  if (reqs.length > limits.maxSubmitBatch) {
    throw invalidArgument("jobs", `must hold at most ${limits.maxSubmitBatch} jobs`);
  }
  const jobs = reqs.map((r, i) => parseJob(r, limits, nowMs, `jobs[${i}].`));
  const deps = resolveDependencies(reqs, jobs.map((j) => j.id), (i) => `jobs[${i}].`);
  return jobs.map((j, i) => ({ ...j, ...deps[i]! }));
}

/**
 * Validates one submitted job and gives it a UUIDv7 id.
 * @throws invalid_argument naming the bad field (prefixed with `path`); resource_exhausted
 *   when the payload is larger than `limits.maxPayloadBytes`.
 */
export function parseSubmitJob(req: SubmitJobRequest, limits: SubmitLimits, nowMs = Date.now(), path = ""): NewJob {
  const job = parseJob(req, limits, nowMs, path);
  return { ...job, ...resolveDependencies([req], [job.id], () => path)[0]! };
}

function parseJob(req: SubmitJobRequest, limits: SubmitLimits, nowMs: number, path: string): Omit<NewJob, keyof JobDependencies> {
  const field = (name: string) => `${path}${name}`;
  checkName(req.type, field("type"));
  const queue = req.queue === "" ? DEFAULT_QUEUE : req.queue;
  checkName(queue, field("queue"));
  checkRange(req.priority, 0, MAX_PRIORITY, field("priority"));
  const maxAttempts = req.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  checkRange(maxAttempts, 1, MAX_ATTEMPTS_LIMIT, field("max_attempts"));
  const timeoutMs = req.timeout === undefined ? limits.defaultTimeoutMs : toMs(req.timeout, field("timeout"));
  checkRange(timeoutMs, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, field("timeout"), "ms");
  if (req.idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidArgument(field("idempotency_key"), `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  checkText(req.idempotencyKey, field("idempotency_key"));
  const payload = req.payload ?? {};
  const payloadJson = checkPayload(payload, limits.maxPayloadBytes, field("payload"));
  const { delayMs, runAtMs } = parseSchedule(req.schedule, nowMs, path);
  return {
    id: uuidv7(),
    type: req.type,
    queue,
    payload,
    payloadJson,
    priority: req.priority,
    maxAttempts,
    timeoutMs,
    idempotencyKey: req.idempotencyKey,
    delayMs,
    runAtMs,
    scheduledAtMs: runAtMs > 0 ? runAtMs : nowMs + delayMs,
  };
}

function parseSchedule(schedule: SubmitJobRequest["schedule"], nowMs: number, path: string) {
  switch (schedule.case) {
    case "delay": {
      const delayMs = toMs(schedule.value, `${path}delay`);
      checkRange(delayMs, 0, MAX_SCHEDULE_AHEAD_MS, `${path}delay`, "ms");
      return { delayMs, runAtMs: 0 };
    }
    case "runAt": {
      const runAtMs = timestampToMs(schedule.value, `${path}run_at`);
      if (runAtMs > nowMs + MAX_SCHEDULE_AHEAD_MS) throw invalidArgument(`${path}run_at`, "must be within one year");
      // 0 means "no run_at" to the enqueue script; any time in the past simply runs now.
      return { delayMs: 0, runAtMs: Math.max(runAtMs, 1) };
    }
    default:
      return { delayMs: 0, runAtMs: 0 };
  }
}

function checkName(value: string, field: string): void {
  if (!NAME_PATTERN.test(value)) {
    throw invalidArgument(field, 'must be 1 to 128 characters of letters, digits and "._:-"');
  }
}

function checkRange(value: number, min: number, max: number, field: string, unit = ""): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw invalidArgument(field, `must be ${min} to ${max}${unit === "" ? "" : ` ${unit}`}`);
  }
}

function toMs(d: Duration, field: string): number {
  const sameSign = d.seconds === 0n || d.nanos === 0 || d.seconds > 0n === d.nanos > 0;
  if (!sameSign || Math.abs(d.nanos) >= 1e9) throw invalidArgument(field, "is not a valid duration");
  return durationMs(d);
}

function timestampToMs(t: Timestamp, field: string): number {
  if (t.nanos < 0 || t.nanos >= 1e9) throw invalidArgument(field, "is not a valid timestamp");
  return timestampMs(t);
}

/**
 * Checks nesting, text and size; resolves to the payload's JSON text.
 * @throws invalid_argument for nesting past {@link MAX_JSON_DEPTH} or text PostgreSQL cannot
 *   store (naming the path inside the payload); resource_exhausted past `maxBytes`.
 */
function checkPayload(payload: JsonObject, maxBytes: number, field: string): string {
  if (nestsDeeperThan(payload, MAX_JSON_DEPTH)) {
    throw invalidArgument(field, `must not nest objects and arrays more than ${MAX_JSON_DEPTH} levels deep`);
  }
  const bad = findTextProblem(payload, field);
  if (bad !== undefined) throw invalidArgument(bad.field, bad.problem);
  const json = JSON.stringify(payload);
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > maxBytes) throw resourceExhausted(field, `must be at most ${maxBytes} bytes as JSON, got ${bytes}`);
  return json;
}

/** @throws invalid_argument naming `field` when PostgreSQL could not store `text`. */
export function checkText(text: string, field: string): void {
  const problem = textProblem(text);
  if (problem !== undefined) throw invalidArgument(field, problem);
}

/** PostgreSQL's jsonb cannot hold U+0000, in keys or in values. */
export function containsNul(value: JsonValue): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).some(([k, v]) => k.includes("\u0000") || containsNul(v));
  }
  return false;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** @throws invalid_argument unless `id` is a UUID. */
export function checkJobId(id: string, field: string): void {
  if (!UUID_PATTERN.test(id)) throw invalidArgument(field, "must be a job id (UUID)");
}

/** @throws invalid_argument unless `id` is 1 to 128 characters of letters, digits and "._:-". */
export function checkWorkerId(id: string, field = "worker_id"): void {
  checkName(id, field);
}

/** Most queues one worker may serve or lease from in one call. */
export const MAX_QUEUES_PER_WORKER = 100;

/** @throws invalid_argument unless there are 1 to 100 queues and every name is valid. */
export function checkQueues(queues: readonly string[], field = "queues"): void {
  if (queues.length === 0) throw invalidArgument(field, "must name at least one queue");
  if (queues.length > MAX_QUEUES_PER_WORKER) throw invalidArgument(field, `must name at most ${MAX_QUEUES_PER_WORKER} queues`);
  queues.forEach((q, i) => checkName(q, `${field}[${i}]`));
}

/** Most job types one worker may declare or lease at once. */
export const MAX_JOB_TYPES_PER_WORKER = 1_000;

/** @throws invalid_argument unless there are at most 1,000 types and every name is valid. */
export function checkJobTypes(types: readonly string[], field = "job_types"): void {
  if (types.length > MAX_JOB_TYPES_PER_WORKER) throw invalidArgument(field, `must name at most ${MAX_JOB_TYPES_PER_WORKER} types`);
  types.forEach((t, i) => checkName(t, `${field}[${i}]`));
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** @throws invalid_argument unless `id` is empty or 1 to 64 characters of letters, digits and "._:-". */
export function checkRequestId(id: string, field = "request_id"): void {
  if (id !== "" && !REQUEST_ID_PATTERN.test(id)) {
    throw invalidArgument(field, 'must be 1 to 64 characters of letters, digits and "._:-"');
  }
}
