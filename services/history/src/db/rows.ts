import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** Values of `jobs.status` and `job_events.status`. */
export type JobStatusText = "pending" | "processing" | "completed" | "failed" | "cancelled";

/** Values of `job_events.type`. */
export type JobEventTypeText =
  | "submitted"
  | "started"
  | "completed"
  | "retry_scheduled"
  | "failed"
  | "lease_expired"
  | "released"
  | "cancelled"
  | "retried";

/** Values of `workers.status`; STALE is derived when reading, never stored. */
export type StoredWorkerStatus = "healthy" | "gone";

/** Worker health as ListWorkers reports it. */
export type WorkerHealth = "healthy" | "stale" | "gone";

/** JSON as `jsonb` columns hold it and pg parses it: the types protobuf-es uses for Struct. */
export type { JsonObject, JsonValue };

/** One `jobs` row as pg returns it (timestamps as Date, jsonb parsed). */
export interface JobRow {
  id: string;
  type: string;
  queue: string;
  payload: JsonObject;
  status: JobStatusText;
  result: JsonValue;
  error: string | null;
  error_seq: number | null;
  attempts: number;
  max_attempts: number;
  priority: number;
  timeout_ms: number | null;
  idempotency_key: string | null;
  last_seq: number;
  created_at: Date;
  updated_at: Date;
  scheduled_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  worker_id: string | null;
  /** The schedule whose run the job is; null for a submitted job. */
  schedule_id: string | null;
  /** The latest progress (migration 0015): all four set, or all null before any report. */
  progress_percent: number | null;
  progress_details: JsonObject | null;
  progress_at: Date | null;
  progress_attempt: number | null;
}

/** One `job_events` row as pg returns it. */
export interface JobEventRow {
  job_id: string;
  seq: number;
  type: JobEventTypeText;
  status: JobStatusText;
  attempt: number;
  worker_id: string | null;
  error: string | null;
  actor: string;
  result: JsonValue;
  details: JsonObject | null;
  occurred_at: Date;
  recorded_at: Date;
  lease_id: string | null;
  reason: string | null;
}

/** One `workers` row with its health derived at query time. */
export interface WorkerRow {
  id: string;
  status: StoredWorkerStatus;
  health: WorkerHealth;
  last_seen: Date;
  job_types: string[];
  queues: string[];
  concurrency: number;
  hostname: string;
  metadata: Record<string, string> | null;
  current_jobs: string[];
  started_at: Date;
  /** bigint: pg gives a string. */
  jobs_completed: string;
  jobs_failed: string;
}

/** Terminal statuses: a job in one of them never changes status again. */
export const TERMINAL_STATUSES: readonly JobStatusText[] = ["completed", "failed", "cancelled"];
