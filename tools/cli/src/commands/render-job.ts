import { jobPayload, jobResult, type Job, type JobEvent, type JobLink } from "@taskflow/client";
import { JobEventSchema, JobEventTypeSchema, JobSchema, JobStatusSchema, ParentFailurePolicySchema } from "@taskflow/proto";
import { duration, enumName, fields, inlineJson, messageJson, table, time, truncate } from "../format.js";

/** A job in the protobuf JSON mapping, with its audit trail when given. */
export function jobJson(job: Job, events?: JobEvent[]): unknown {
  const doc = messageJson(JobSchema, job) as Record<string, unknown>;
  return events === undefined ? doc : { ...doc, events: events.map((e) => messageJson(JobEventSchema, e)) };
}

/** A job's status name, e.g. `COMPLETED`. */
export const statusName = (job: Pick<Job, "status">): string => enumName(JobStatusSchema, job.status);

/** A job as aligned label/value lines. */
export function renderJob(job: Job): string {
  return fields([
    ["id", job.id],
    ["type", job.type],
    ["queue", job.queue],
    ["status", statusName(job)],
    ["attempts", `${job.attempts}/${job.maxAttempts}`],
    ["priority", String(job.priority)],
    ["payload", inlineJson(jobPayload(job))],
    ["result", job.result === undefined ? undefined : inlineJson(jobResult(job))],
    ["error", job.error],
    ["worker", job.workerId],
    ["timeout", duration(job.timeout)],
    ["idempotency key", job.idempotencyKey],
    ["created", time(job.createdAt)],
    ["scheduled", time(job.scheduledAt)],
    ["started", time(job.startedAt)],
    ["finished", time(job.completedAt)],
    ["parents", links(job.parents)],
    ["on parent failure", job.parents.length === 0 ? undefined : enumName(ParentFailurePolicySchema, job.onParentFailure)],
    ["children", links(job.children)],
  ]);
}

/** Linked jobs as `<id> <type> <STATUS>`, comma-separated; undefined (the line left out) for none. */
function links(list: readonly JobLink[]): string | undefined {
  return list.length === 0 ? undefined : list.map((l) => `${l.id} ${l.type} ${enumName(JobStatusSchema, l.status)}`).join(", ");
}

/** One audit event as a table row: seq, time, event, status, attempt, worker, actor, detail. */
export function eventRow(e: JobEvent): string[] {
  const detail = [e.error, e.reason, e.result === undefined ? "" : `result ${inlineJson(jobResult(e))}`].filter((s) => s !== "").join("; ");
  return [
    String(e.seq),
    time(e.occurredAt) ?? "",
    enumName(JobEventTypeSchema, e.type),
    enumName(JobStatusSchema, e.status),
    String(e.attempt),
    e.workerId,
    e.actor,
    truncate(detail, 80),
  ];
}

/** The headers of {@link eventRow}. */
export const EVENT_HEADERS = ["SEQ", "TIME", "EVENT", "STATUS", "ATTEMPT", "WORKER", "ACTOR", "DETAIL"];

/** An audit trail as a table. */
export const renderEvents = (events: JobEvent[]): string => table(EVENT_HEADERS, events.map(eventRow), "(no events)");

/** Jobs as a table, one line each. */
export function renderJobTable(jobs: Job[]): string {
  return table(
    ["ID", "TYPE", "QUEUE", "STATUS", "ATTEMPTS", "CREATED", "FINISHED"],
    jobs.map((j) => [j.id, j.type, j.queue, statusName(j), `${j.attempts}/${j.maxAttempts}`, time(j.createdAt) ?? "", time(j.completedAt) ?? ""]),
    "(no jobs)",
  );
}
