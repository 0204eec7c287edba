import { JOB_COLUMNS, type Queryable } from "../queryable.js";
import type { JobRow, JobStatusText } from "../rows.js";
import type { OperatorActionInput } from "./operator-actions.js";

/** A job put back to pending: its row after the retry (last_seq is the RETRIED event's seq). */
export type ReopenedJob = JobRow;

/** A known job that was not reopened, and why: its status is not failed or cancelled. */
export interface RefusedJob {
  id: string;
  status: JobStatusText;
  last_seq: number;
}

export interface ReopenJobsResult {
  /** Reopened jobs, in id order. */
  reopened: ReopenedJob[];
  /** Known jobs left as they were. */
  refused: RefusedJob[];
}

const RETURNED = JOB_COLUMNS.map((c) => `r.${c}`).join(", ");
/** A refused job's row: its id, status and last_seq, every other column NULL. */
const REFUSED = JOB_COLUMNS.map((c) => (c === "id" || c === "status" || c === "last_seq" ? `l.${c}` : "NULL")).join(", ");

/**
 * One statement, so a retry is all or nothing: `locked` takes each known job's row lock in id
 * order (as AppendEvents does, so the two never deadlock) and reads its newest committed version;
 * only jobs still failed or cancelled then are reset, each with a 'retried' event at the seq after
 * the newest its trail holds (events recorded after a job ended never shaped its row, but hold
 * their seq), and the operator's action is recorded with the count and ids reopened. Two
 * concurrent retries of one job: the second waits for the first's lock, then reads it pending and
 * refuses it.
 */
export const REOPEN_JOBS_SQL = `
WITH locked AS MATERIALIZED (
  SELECT j.id, j.status, j.last_seq, j.attempts,
         greatest(j.last_seq, (SELECT max(e.seq) FROM job_events e WHERE e.job_id = j.id)) + 1 AS next_seq
  FROM jobs j
  WHERE j.id = ANY($1::uuid[])
  ORDER BY j.id
  FOR NO KEY UPDATE
),
reopened AS (
  UPDATE jobs j
  SET status = 'pending', last_seq = l.next_seq, error = NULL, error_seq = NULL, result = NULL,
      completed_at = NULL, attempts = 0, scheduled_at = now(), updated_at = now(),
      search = taskflow_search_with_error(j.search, NULL)
  FROM locked l
  WHERE j.id = l.id AND l.status IN ('failed', 'cancelled') AND j.status IN ('failed', 'cancelled')
  RETURNING j.*, l.status AS previous_status, l.attempts AS previous_attempts
),
events AS (
  INSERT INTO job_events (job_id, seq, type, status, attempt, actor, occurred_at, reason, details)
  SELECT id, last_seq, 'retried', 'pending', 0, $2, now(), 'retry_requested',
         jsonb_build_object('previous_status', previous_status, 'previous_attempts', previous_attempts)
  FROM reopened
  ORDER BY id
),
action AS (
  INSERT INTO operator_actions (actor, action, target, details)
  SELECT $2, $3, $4, $5::jsonb || jsonb_build_object(
           'count', count(*), 'job_ids', coalesce(jsonb_agg(id::text ORDER BY id), '[]'::jsonb))
  FROM reopened
)
SELECT ${RETURNED}, true AS reopened FROM reopened r
UNION ALL
SELECT ${REFUSED}, false
FROM locked l
WHERE l.id NOT IN (SELECT id FROM reopened)
ORDER BY 1`;

/**
 * Puts the failed or cancelled jobs among `ids` back to pending for a retry (see
 * {@link REOPEN_JOBS_SQL}) and records `action` (its details extended with `count` and
 * `job_ids`), in one statement. `actor` is recorded on the RETRIED events. Unknown ids are in
 * neither list of the result.
 */
export async function reopenJobs(db: Queryable, ids: readonly string[], action: OperatorActionInput): Promise<ReopenJobsResult> {
  const { rows } = await db.query<JobRow & { reopened: boolean }>({
    name: "history_reopen_jobs",
    text: REOPEN_JOBS_SQL,
    values: [ids, action.actor, action.action, action.target, JSON.stringify(action.details)],
  });
  return {
    reopened: rows.filter((r) => r.reopened),
    refused: rows.filter((r) => !r.reopened).map((r) => ({ id: r.id, status: r.status, last_seq: r.last_seq })),
  };
}
