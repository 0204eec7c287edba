import { createHash } from "node:crypto";
import { create, fromJson } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, type Timestamp, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  enumFromText,
  type Job,
  type JobEvent,
  JobEventSchema,
  JobLinkSchema,
  type JobProgress,
  JobProgressSchema,
  JobSchema,
  type ParentFailurePolicy,
  ParentFailurePolicySchema,
  type Worker,
  WorkerSchema,
} from "@taskflow/proto";
import type { JobLinkRow } from "../db/queries/job-dependencies.js";
import type { JobEventRow, JobRow, JsonValue, WorkerRow } from "../db/rows.js";
import { eventTypeEnum, jobStatusEnum, workerStatusEnum } from "./enums.js";

const ts = (d: Date | null): Timestamp | undefined => (d === null ? undefined : timestampFromDate(d));

/** jsonb NULL and JSON null both read as null; either means "no result". */
const value = (v: JsonValue): Value | undefined => (v === null ? undefined : fromJson(ValueSchema, v));

/** A `jobs` row as a taskflow.v1.Job; NULL text columns become "". */
export function jobToProto(row: JobRow): Job {
  return jobMessage(row, row.payload);
}

/** {@link jobToProto} without the payload, for a caller that holds it already. */
export function jobToProtoWithoutPayload(row: JobRow): Job {
  return jobMessage(row, undefined);
}

function jobMessage(row: JobRow, payload: JobRow["payload"] | undefined): Job {
  return create(JobSchema, {
    id: row.id,
    type: row.type,
    queue: row.queue,
    payload,
    status: jobStatusEnum(row.status),
    result: value(row.result),
    error: row.error ?? "",
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    createdAt: ts(row.created_at),
    updatedAt: ts(row.updated_at),
    scheduledAt: ts(row.scheduled_at),
    startedAt: ts(row.started_at),
    completedAt: ts(row.completed_at),
    workerId: row.worker_id ?? "",
    timeout: row.timeout_ms === null ? undefined : durationFromMs(row.timeout_ms),
    idempotencyKey: row.idempotency_key ?? "",
    lastEventSeq: row.last_seq,
    scheduleId: row.schedule_id ?? "",
    progress: progressOf(row),
  });
}

function progressOf(row: JobRow): JobProgress | undefined {
  if (row.progress_percent === null || row.progress_at === null) return undefined;
  return create(JobProgressSchema, {
    percent: row.progress_percent,
    details: row.progress_details ?? {},
    updatedAt: timestampFromDate(row.progress_at),
    attempt: row.progress_attempt ?? 0,
  });
}

/**
 * `job` with its parents and children as reads found them (see job-dependencies.ts): the links,
 * and the child's policy when it has parents. Returns `job`.
 */
export function withLinks(job: Job, parents: readonly JobLinkRow[] = [], children: readonly JobLinkRow[] = []): Job {
  job.parents = parents.map(linkToProto);
  job.children = children.map(linkToProto);
  const policy = parents[0]?.on_parent_failure;
  if (policy !== undefined) job.onParentFailure = enumFromText<ParentFailurePolicy>(ParentFailurePolicySchema, policy);
  return job;
}

function linkToProto(row: JobLinkRow) {
  return create(JobLinkSchema, { id: row.id, type: row.type, queue: row.queue, status: jobStatusEnum(row.status), result: value(row.result) });
}

/**
 * What reads show of a lease: the first 24 hex digits of its token's SHA-256. Events of one attempt
 * still share it, but it cannot be used: a report or release must name the token itself, which
 * only the scheduler and the worker that holds the lease know.
 */
export const leaseIdOf = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 24);

/** A `job_events` row as a taskflow.v1.JobEvent; the lease token shows as its {@link leaseIdOf}. */
export function eventToProto(row: JobEventRow): JobEvent {
  return create(JobEventSchema, {
    jobId: row.job_id,
    seq: row.seq,
    type: eventTypeEnum(row.type),
    status: jobStatusEnum(row.status),
    attempt: row.attempt,
    workerId: row.worker_id ?? "",
    error: row.error ?? "",
    actor: row.actor,
    occurredAt: ts(row.occurred_at),
    details: row.details ?? undefined,
    result: value(row.result),
    leaseId: row.lease_id === null || row.lease_id === "" ? "" : leaseIdOf(row.lease_id),
    reason: row.reason ?? "",
    recordedAt: ts(row.recorded_at),
  });
}

/** A `workers` row, with its derived health, as a taskflow.v1.Worker. */
export function workerToProto(row: WorkerRow): Worker {
  return create(WorkerSchema, {
    id: row.id,
    status: workerStatusEnum(row.health),
    queues: row.queues,
    jobTypes: row.job_types,
    concurrency: row.concurrency,
    hostname: row.hostname,
    startedAt: ts(row.started_at),
    lastSeenAt: ts(row.last_seen),
    currentJobIds: row.current_jobs,
    metadata: row.metadata ?? {},
    jobsCompleted: BigInt(row.jobs_completed),
    jobsFailed: BigInt(row.jobs_failed),
  });
}
