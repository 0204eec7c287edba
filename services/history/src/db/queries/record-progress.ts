import type { Queryable } from "../queryable.js";
import type { JsonObject } from "../rows.js";

/** The latest progress of one job's attempt, as the scheduler accepted it. */
export interface ProgressInput {
  jobId: string;
  /** 0 to 100. */
  percent: number;
  details: JsonObject;
  /** The scheduler's clock when it accepted the value. */
  at: Date;
  attempt: number;
}

/**
 * Stores each job's progress when it is newer than the stored one: a later attempt, or a later
 * time of the same attempt. Batches come from every scheduler replica in any order, so the
 * comparison, not arrival, decides which value stays; a value older than the stored one (or of
 * an unknown job) changes nothing.
 *
 * Lock order: like AppendEvents, `locked` takes the jobs' row locks first, in id order, so this
 * statement and an AppendEvents batch over the same jobs cannot deadlock. The columns it writes
 * are in no index, so the update may be HOT.
 */
export const RECORD_PROGRESS_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::float8[], $3::jsonb[], $4::timestamptz[], $5::int[])
    AS u(id, percent, details, at, attempt)
),
locked AS MATERIALIZED (
  SELECT j.id, j.progress_attempt, j.progress_at
  FROM jobs j
  WHERE j.id = ANY($1::uuid[])
  ORDER BY j.id
  FOR NO KEY UPDATE
)
UPDATE jobs j
SET progress_percent = u.percent, progress_details = u.details, progress_at = u.at, progress_attempt = u.attempt
FROM input u
JOIN locked l ON l.id = u.id
WHERE j.id = u.id
  AND (l.progress_attempt IS NULL OR (u.attempt, u.at) > (l.progress_attempt, l.progress_at))
RETURNING j.id`;

/**
 * Records progress, one statement; resolves to the ids of the jobs it changed.
 * @param updates at most one per job (the caller keeps the latest of each).
 */
export async function recordProgress(db: Queryable, updates: readonly ProgressInput[]): Promise<string[]> {
  if (updates.length === 0) return [];
  const { rows } = await db.query<{ id: string }>({
    name: "history_record_progress",
    text: RECORD_PROGRESS_SQL,
    values: [
      updates.map((u) => u.jobId),
      updates.map((u) => u.percent),
      updates.map((u) => JSON.stringify(u.details)),
      updates.map((u) => u.at.toISOString()),
      updates.map((u) => u.attempt),
    ],
  });
  return rows.map((r) => r.id);
}
