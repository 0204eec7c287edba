import { toJson } from "@bufbuild/protobuf";
import { durationMs, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { enumText, type InsertJobsRequest, type Job, type JobEvent, ParentFailurePolicy, ParentFailurePolicySchema, type Worker } from "@taskflow/proto";
import { MAX_PARENTS_PER_JOB, type ParentFailureText } from "../db/queries/job-dependencies.js";
import type { NewJobEvent } from "../db/queries/append-events.js";
import type { NewJob } from "../db/queries/insert-jobs.js";
import type { WorkerInput } from "../db/queries/upsert-workers.js";
import type { JsonValue } from "../db/rows.js";
import { invalidArgument } from "../errors.js";
import { eventTypeText, jobStatusText, storedWorkerStatus } from "../mapping/enums.js";
import { intIn, nonEmpty, requireUuid, requireUuidV7, toDate } from "./validate.js";

/** Largest int32: the `jobs.timeout_ms` column holds milliseconds up to this. */
const INT32_MAX = 2_147_483_647;
/** Highest job priority the contract allows. */
const MAX_PRIORITY = 1_000;
/** Longest request digest, in characters: room for any hash, in any text form, with its name. */
export const MAX_REQUEST_DIGEST_CHARS = 128;

const orNull = (s: string): string | null => (s === "" ? null : s);

/** A Value message as JSON; undefined when absent or with no kind set. */
function valueJson(v: Value | undefined): JsonValue | undefined {
  if (v === undefined || v.kind.case === undefined) return undefined;
  return toJson(ValueSchema, v);
}

/** A zero timeout means unset, like an absent one: the service default applies. */
function timeoutMs(job: Job, at: string): number | null {
  const ms = job.timeout === undefined ? 0 : Math.round(durationMs(job.timeout));
  return ms === 0 ? null : intIn(ms, 1, INT32_MAX, `${at}.timeout (ms)`);
}

/**
 * The jobs of an InsertJobs request as rows to insert, each with its request digest:
 * `request_digests` is empty (no digests) or holds one per job; an empty digest means none.
 * @throws {ConnectError} InvalidArgument naming the first bad field, e.g. `jobs[2].id` or
 *   `request_digests[1]`.
 */
export function parseInsertJobs(req: InsertJobsRequest): NewJob[] {
  const digests = req.requestDigests;
  if (digests.length !== 0 && digests.length !== req.jobs.length) {
    throw invalidArgument(
      `request_digests: must be empty or hold one digest per job (${req.jobs.length}), got ${digests.length}`,
    );
  }
  digests.forEach((d, i) => {
    if (d.length > MAX_REQUEST_DIGEST_CHARS && [...d].length > MAX_REQUEST_DIGEST_CHARS) {
      throw invalidArgument(`request_digests[${i}]: must be at most ${MAX_REQUEST_DIGEST_CHARS} characters`);
    }
  });
  return req.jobs.map((job, i) => parseNewJob(job, i, digests[i] ?? ""));
}

/**
 * `jobs[i]` of an InsertJobs request as a row to insert, with the request digest `digest`
 * (empty for none).
 * @throws {ConnectError} InvalidArgument naming the first bad field, e.g. `jobs[2].id`.
 */
export function parseNewJob(job: Job, i: number, digest: string): NewJob {
  const at = `jobs[${i}]`;
  return {
    id: requireUuidV7(job.id, `${at}.id`),
    type: nonEmpty(job.type, `${at}.type`),
    queue: nonEmpty(job.queue, `${at}.queue`),
    payload: job.payload ?? {},
    maxAttempts: intIn(job.maxAttempts, 1, INT32_MAX, `${at}.max_attempts`),
    priority: intIn(job.priority, 0, MAX_PRIORITY, `${at}.priority`),
    timeoutMs: timeoutMs(job, at),
    idempotencyKey: orNull(job.idempotencyKey),
    scheduledAt: job.scheduledAt === undefined ? null : toDate(job.scheduledAt, `${at}.scheduled_at`),
    requestDigest: orNull(digest),
    ...parseParents(job, at),
    scheduleId: orNull(job.scheduleId),
  };
}

/**
 * A job's parents (ids) and policy.
 * @throws {ConnectError} InvalidArgument for a malformed or repeated parent id, the job's own id,
 *   more than {@link MAX_PARENTS_PER_JOB} parents, or an unknown policy.
 */
function parseParents(job: Job, at: string): Pick<NewJob, "parentIds" | "onParentFailure"> {
  if (job.parents.length > MAX_PARENTS_PER_JOB) {
    throw invalidArgument(`${at}.parents: must name at most ${MAX_PARENTS_PER_JOB} jobs`);
  }
  const parentIds = job.parents.map((p, k) => requireUuid(p.id, `${at}.parents[${k}].id`));
  if (new Set(parentIds).size !== parentIds.length) throw invalidArgument(`${at}.parents: must not name a job twice`);
  if (parentIds.includes(job.id)) throw invalidArgument(`${at}.parents: a job cannot depend on itself`);
  const policy = job.onParentFailure === ParentFailurePolicy.UNSPECIFIED ? "fail" : enumText(ParentFailurePolicySchema, job.onParentFailure);
  if (policy === undefined) throw invalidArgument(`${at}.on_parent_failure: unknown policy ${job.onParentFailure}`);
  return { parentIds, onParentFailure: policy as ParentFailureText };
}

/**
 * `events[i]` of an AppendEvents request as an event to append.
 * @throws {ConnectError} InvalidArgument naming the first bad field, e.g. `events[0].type`.
 */
export function parseNewEvent(e: JobEvent, i: number): NewJobEvent {
  const at = `events[${i}]`;
  const type = eventTypeText(e.type);
  if (type === undefined) throw invalidArgument(`${at}.type: must be a known event type, got ${e.type}`);
  // The one transition out of a terminal status is ReopenJobs' to record, checked under the job's lock.
  if (type === "retried") throw invalidArgument(`${at}.type: RETRIED is recorded by ReopenJobs only`);
  const status = jobStatusText(e.status);
  if (status === undefined) throw invalidArgument(`${at}.status: must be a known job status, got ${e.status}`);
  if (e.occurredAt === undefined) throw invalidArgument(`${at}.occurred_at: must be set`);
  return {
    jobId: requireUuid(e.jobId, `${at}.job_id`),
    seq: intIn(e.seq, 1, INT32_MAX, `${at}.seq`),
    type,
    status,
    attempt: intIn(e.attempt, 0, INT32_MAX, `${at}.attempt`),
    workerId: orNull(e.workerId),
    error: orNull(e.error),
    actor: nonEmpty(e.actor, `${at}.actor`),
    result: valueJson(e.result),
    details: e.details ?? null,
    occurredAt: toDate(e.occurredAt, `${at}.occurred_at`),
    leaseId: orNull(e.leaseId),
    reason: orNull(e.reason),
  };
}

/**
 * `workers[i]` of an UpsertWorkers request as a row to upsert.
 * @throws {ConnectError} InvalidArgument naming the first bad field, e.g. `workers[1].id`.
 */
export function parseWorker(w: Worker, i: number): WorkerInput {
  const at = `workers[${i}]`;
  const status = storedWorkerStatus(w.status);
  if (status === undefined) throw invalidArgument(`${at}.status: must be a known worker status, got ${w.status}`);
  return {
    id: nonEmpty(w.id, `${at}.id`),
    status,
    queues: w.queues,
    jobTypes: w.jobTypes,
    concurrency: intIn(w.concurrency, 0, INT32_MAX, `${at}.concurrency`),
    hostname: w.hostname,
    metadata: w.metadata,
    currentJobIds: w.currentJobIds,
    startedAt: w.startedAt === undefined ? null : toDate(w.startedAt, `${at}.started_at`),
  };
}
