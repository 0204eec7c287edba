import type { GeneratedJob } from "./generate-jobs.js";

/**
 * Rows in PostgreSQL's COPY text format: one line per row, fields separated by tabs, `\N` for
 * NULL, and backslash escapes for the characters that would break a line apart.
 */

/**
 * Columns of `jobs` the bench loads, as services/history/schema.sql names them; `search` is
 * built by PostgreSQL as the rows arrive (see load-history.ts). The bench's tests load a migrated database, so a column renamed or
 * dropped there fails them.
 */
export const JOB_COPY_COLUMNS = [
  "id",
  "type",
  "queue",
  "payload",
  "status",
  "result",
  "error",
  "error_seq",
  "attempts",
  "max_attempts",
  "priority",
  "timeout_ms",
  "idempotency_key",
  "last_seq",
  "created_at",
  "updated_at",
  "scheduled_at",
  "started_at",
  "completed_at",
  "worker_id",
] as const;

/** Columns of `job_events` the bench loads. */
export const EVENT_COPY_COLUMNS = [
  "job_id",
  "seq",
  "type",
  "status",
  "attempt",
  "worker_id",
  "error",
  "actor",
  "result",
  "details",
  "occurred_at",
  "recorded_at",
  "lease_id",
  "reason",
] as const;

export const COPY_JOBS_SQL = `COPY jobs (${JOB_COPY_COLUMNS.join(", ")}) FROM STDIN`;
export const COPY_EVENTS_SQL = `COPY job_events (${EVENT_COPY_COLUMNS.join(", ")}) FROM STDIN`;

const SPECIAL = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One field in COPY text format. */
export function copyField(value: string | number | null): string {
  if (value === null) return "\\N";
  const text = String(value);
  return SPECIAL.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c] as string) : text;
}

/** A timestamp field: ISO 8601 in UTC with milliseconds, or NULL. */
const at = (ms: number | null): string => (ms === null ? "\\N" : new Date(ms).toISOString());

/** The `jobs` line of `j`, newline included, in {@link JOB_COPY_COLUMNS} order. */
export function jobLine(j: GeneratedJob): string {
  return (
    [
      j.id,
      copyField(j.type),
      copyField(j.queue),
      copyField(JSON.stringify(j.payload)),
      j.status,
      copyField(j.result),
      copyField(j.error),
      copyField(j.errorSeq),
      j.attempts,
      j.maxAttempts,
      j.priority,
      copyField(j.timeoutMs),
      copyField(j.idempotencyKey),
      j.lastSeq,
      at(j.createdMs),
      at(j.updatedMs),
      at(j.scheduledMs),
      at(j.startedMs),
      at(j.completedMs),
      copyField(j.workerId),
    ].join("\t") + "\n"
  );
}

/** The `job_events` lines of `j`'s trail, in {@link EVENT_COPY_COLUMNS} order. */
export function eventLines(j: GeneratedJob): string {
  let out = "";
  for (const e of j.events) {
    out +=
      [
        j.id,
        e.seq,
        e.type,
        e.status,
        e.attempt,
        copyField(e.workerId),
        copyField(e.error),
        copyField(e.actor),
        copyField(e.result),
        copyField(e.details),
        at(e.occurredMs),
        at(e.recordedMs),
        copyField(e.leaseId),
        copyField(e.reason),
      ].join("\t") + "\n";
  }
  return out;
}
