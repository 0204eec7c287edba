import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { fromJson } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  type AppendEventsRequestSchema,
  enumFromText,
  type InsertJobsRequestSchema,
  JobEventTypeSchema,
  JobStatusSchema,
} from "@taskflow/proto";
import type { GeneratedEvent, GeneratedJob } from "./generate-jobs.js";

export type InsertRequest = MessageInitShape<typeof InsertJobsRequestSchema>;
export type AppendRequest = MessageInitShape<typeof AppendEventsRequestSchema>;

/** How a batch's transitions reach history. */
export type EventMode = "together" | "apart";

/** One InsertJobs request per `batch` jobs, as the scheduler sends a submit batch. */
export function insertRequests(jobs: readonly GeneratedJob[], batch: number): InsertRequest[] {
  const out: InsertRequest[] = [];
  for (let i = 0; i < jobs.length; i += batch) {
    out.push({
      jobs: jobs.slice(i, i + batch).map((j) => ({
        id: j.id,
        type: j.type,
        queue: j.queue,
        payload: j.payload as unknown as JsonObject,
        priority: j.priority,
        maxAttempts: j.maxAttempts,
        timeout: j.timeoutMs === null ? undefined : { seconds: BigInt(j.timeoutMs / 1000), nanos: 0 },
        idempotencyKey: j.idempotencyKey ?? "",
        scheduledAt: timestampFromMs(j.scheduledMs),
      })),
    });
  }
  return out;
}

/**
 * The AppendEvents requests that carry every transition after `submitted` (which InsertJobs
 * records) of `batch` jobs at a time, each request at most `maxEvents` events:
 *   * `together`: a job's transitions travel in one request (started and its end, as an outbox
 *     batch holds them when a job runs for less than the forwarder's interval);
 *   * `apart`: one request per step, each holding one transition of every job of the batch
 *     (every job's started, then every job's end), the worst case for the jobs rows.
 */
export function appendRequests(jobs: readonly GeneratedJob[], batch: number, maxEvents: number, mode: EventMode): AppendRequest[] {
  const out: AppendRequest[] = [];
  for (let i = 0; i < jobs.length; i += batch) {
    const trails = jobs.slice(i, i + batch).map((j) => j.events.filter((e) => e.seq > 1).map((e) => toEvent(j.id, e)));
    if (mode === "together") out.push(...pack(trails, maxEvents));
    else for (const step of steps(trails)) out.push(...pack(step.map((e) => [e]), maxEvents));
  }
  return out;
}

/** Requests of whole groups, each holding at most `maxEvents` events (or one larger group). */
function pack(groups: readonly AppendEvent[][], maxEvents: number): AppendRequest[] {
  const out: AppendRequest[] = [];
  let current: AppendEvent[] = [];
  for (const group of groups) {
    if (current.length > 0 && current.length + group.length > maxEvents) {
      out.push({ events: current });
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0) out.push({ events: current });
  return out;
}

/** The n-th transition of every trail that has one, for each n. */
function steps<T>(trails: readonly T[][]): T[][] {
  const longest = Math.max(0, ...trails.map((t) => t.length));
  return Array.from({ length: longest }, (_, n) => trails.flatMap((t) => (n < t.length ? [t[n] as T] : [])));
}

type AppendEvent = ReturnType<typeof toEvent>;

function toEvent(jobId: string, e: GeneratedEvent) {
  return {
    jobId,
    seq: e.seq,
    type: enumFromText(JobEventTypeSchema, e.type),
    status: enumFromText(JobStatusSchema, e.status),
    attempt: e.attempt,
    workerId: e.workerId ?? "",
    error: e.error ?? "",
    actor: e.actor,
    occurredAt: timestampFromMs(e.occurredMs),
    details: e.details === null ? undefined : (JSON.parse(e.details) as JsonObject),
    result: e.result === null ? undefined : fromJson(ValueSchema, JSON.parse(e.result) as never),
    leaseId: e.leaseId ?? "",
    reason: e.reason,
  };
}
