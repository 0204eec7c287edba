import type { Queryable } from "../queryable.js";
import type { JsonObject } from "../rows.js";

/** Values of `schedules.overlap_policy`. */
export type OverlapPolicyText = "skip" | "allow" | "cancel_previous";

/** A schedule's definition as operators set it (through the scheduler). */
export interface ScheduleDefinition {
  id: string;
  /** Exactly one of cron and intervalMs is set. */
  cron: string | null;
  timeZone: string;
  intervalMs: number | null;
  jobType: string;
  queue: string;
  payload: JsonObject;
  priority: number;
  maxAttempts: number;
  /** null: the scheduler's default. */
  timeoutMs: number | null;
  overlapPolicy: OverlapPolicyText;
  catchUp: number;
  paused: boolean;
  /** The next tick; null while paused. */
  nextRunAt: Date | null;
  /** Who made this change. */
  actor: string;
}

/** One `schedules` row as pg returns it. */
export interface ScheduleRow {
  id: string;
  cron: string | null;
  time_zone: string;
  interval_ms: string | null;
  job_type: string;
  queue: string;
  payload: JsonObject;
  priority: number;
  max_attempts: number;
  timeout_ms: number | null;
  overlap_policy: OverlapPolicyText;
  catch_up: number;
  paused: boolean;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_job_id: string | null;
  version: string;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

/** One run a schedule submitted. */
export interface ScheduleRunInput {
  scheduleId: string;
  runAt: Date;
  jobId: string;
  nextRunAt: Date | null;
}

const DEFINITION_VALUES = (d: ScheduleDefinition): unknown[] => [
  d.id,
  d.cron,
  d.timeZone,
  d.intervalMs,
  d.jobType,
  d.queue,
  JSON.stringify(d.payload),
  d.priority,
  d.maxAttempts,
  d.timeoutMs,
  d.overlapPolicy,
  d.catchUp,
  d.paused,
  d.nextRunAt?.toISOString() ?? null,
  d.actor,
];

/** Inserts a new schedule; resolves to its row, or undefined when the id is taken. */
export async function insertSchedule(db: Queryable, d: ScheduleDefinition): Promise<ScheduleRow | undefined> {
  const { rows } = await db.query<ScheduleRow>({
    name: "history_insert_schedule",
    text: `INSERT INTO schedules (id, cron, time_zone, interval_ms, job_type, queue, payload, priority, max_attempts,
                                  timeout_ms, overlap_policy, catch_up, paused, next_run_at, created_by, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14::timestamptz, $15, $15)
           ON CONFLICT (id) DO NOTHING
           RETURNING *`,
    values: DEFINITION_VALUES(d),
  });
  return rows[0];
}

/**
 * Replaces an existing schedule's definition and pause under a new version, keeping its runs
 * and creation; only at `expectedVersion` when it is not 0.
 * @returns the row, "missing" when the id is unknown, "stale" when the version moved on.
 */
export async function updateSchedule(db: Queryable, d: ScheduleDefinition, expectedVersion: bigint): Promise<ScheduleRow | "missing" | "stale"> {
  const { rows } = await db.query<ScheduleRow>({
    name: "history_update_schedule",
    text: `UPDATE schedules
           SET cron = $2, time_zone = $3, interval_ms = $4, job_type = $5, queue = $6, payload = $7::jsonb,
               priority = $8, max_attempts = $9, timeout_ms = $10, overlap_policy = $11, catch_up = $12,
               paused = $13, next_run_at = $14::timestamptz, updated_by = $15, updated_at = now(),
               version = nextval('schedule_versions')
           WHERE id = $1 AND ($16::bigint = 0 OR version = $16::bigint)
           RETURNING *`,
    values: [...DEFINITION_VALUES(d), expectedVersion.toString()],
  });
  if (rows[0] !== undefined) return rows[0];
  // Nothing updated: tell an unknown id from a version that moved on.
  return (await readSchedulesById(db, [d.id])).length === 0 ? "missing" : "stale";
}

/** Deletes a schedule; resolves to a version above all it had, or undefined when the id is unknown. */
export async function removeSchedule(db: Queryable, id: string): Promise<bigint | undefined> {
  const { rows } = await db.query<{ version: string }>({
    name: "history_remove_schedule",
    text: "WITH gone AS (DELETE FROM schedules WHERE id = $1 RETURNING id) SELECT nextval('schedule_versions')::text AS version FROM gone",
    values: [id],
  });
  return rows[0] === undefined ? undefined : BigInt(rows[0].version);
}

/** The schedules among `ids` that exist, by id. */
export async function readSchedulesById(db: Queryable, ids: readonly string[]): Promise<ScheduleRow[]> {
  const { rows } = await db.query<ScheduleRow>({
    name: "history_read_schedules_by_id",
    text: "SELECT * FROM schedules WHERE id = ANY ($1::text[]) ORDER BY id",
    values: [ids],
  });
  return rows;
}

/** Up to `limit` schedules whose id sorts after `afterId` ("" for the first), by id. */
export async function readSchedulesPage(db: Queryable, afterId: string, limit: number): Promise<ScheduleRow[]> {
  const { rows } = await db.query<ScheduleRow>({
    name: "history_read_schedules_page",
    text: "SELECT * FROM schedules WHERE id > $1 ORDER BY id LIMIT $2",
    values: [afterId, limit],
  });
  return rows;
}

/**
 * Records runs in one statement: each schedule's last run and next tick move forward only, so
 * a run recorded late (or twice) never takes a schedule back; for several runs of one schedule
 * the newest wins. Runs of schedules deleted meanwhile change nothing.
 */
export async function recordScheduleRuns(db: Queryable, runs: readonly ScheduleRunInput[]): Promise<void> {
  if (runs.length === 0) return;
  await db.query({
    name: "history_record_schedule_runs",
    text: `UPDATE schedules s
           SET last_run_at = r.run_at, last_job_id = r.job_id,
               next_run_at = CASE WHEN s.paused THEN s.next_run_at
                                  ELSE greatest(s.next_run_at, r.next_run_at) END
           FROM (
             SELECT DISTINCT ON (schedule_id) schedule_id, run_at, job_id, next_run_at
             FROM unnest($1::text[], $2::timestamptz[], $3::uuid[], $4::timestamptz[]) AS u(schedule_id, run_at, job_id, next_run_at)
             ORDER BY schedule_id, run_at DESC
           ) r
           WHERE s.id = r.schedule_id AND (s.last_run_at IS NULL OR s.last_run_at <= r.run_at)`,
    values: [
      runs.map((r) => r.scheduleId),
      runs.map((r) => r.runAt.toISOString()),
      runs.map((r) => r.jobId),
      runs.map((r) => r.nextRunAt?.toISOString() ?? null),
    ],
  });
}
