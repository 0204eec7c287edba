import type { Queryable } from "../queryable.js";
import { jobColumns } from "../queryable.js";
import type { JobRow, JsonObject } from "../rows.js";

/** A job to insert as pending, as the scheduler built it. */
export interface NewJob {
  /** UUIDv7. */
  id: string;
  type: string;
  queue: string;
  payload: JsonObject;
  maxAttempts: number;
  priority: number;
  /** Execution timeout of one attempt in milliseconds; null means the service default. */
  timeoutMs: number | null;
  idempotencyKey: string | null;
  /** When the job is due; null means now (history's clock). */
  scheduledAt: Date | null;
}

/**
 * Inserts every new job as 'pending' with its 'submitted' event (seq 1) in one statement, and
 * returns the stored row for every requested job in request order. `ON CONFLICT DO NOTHING`
 * covers both the id and the idempotency key, so a retried batch changes nothing and a job
 * whose key exists already resolves to the original job. The statement's snapshot cannot see
 * the rows its own CTE inserts, so those come from RETURNING and older rows from `jobs`.
 */
export const INSERT_JOBS_SQL = `
WITH input AS (
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::int[], $7::int[],
              $8::text[], $9::timestamptz[])
    WITH ORDINALITY AS t(id, type, queue, payload, max_attempts, priority, timeout_ms,
                         idempotency_key, scheduled_at, ord)
),
inserted AS (
  INSERT INTO jobs (id, type, queue, payload, status, max_attempts, priority, timeout_ms,
                    idempotency_key, last_seq, created_at, updated_at, scheduled_at)
  SELECT id, type, queue, payload, 'pending', max_attempts, priority, timeout_ms,
         idempotency_key, 1, now(), now(), coalesce(scheduled_at, now())
  FROM input
  ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING *
),
submitted AS (
  INSERT INTO job_events (job_id, seq, type, status, attempt, actor, occurred_at)
  SELECT id, 1, 'submitted', 'pending', 0, 'api', created_at FROM inserted
  ON CONFLICT (job_id, seq) DO NOTHING
),
resolved AS (
  SELECT i.ord, coalesce(ni.id, ji.id, nk.id, jk.id) AS id
  FROM input i
  LEFT JOIN inserted ni ON ni.id = i.id
  LEFT JOIN jobs ji ON ji.id = i.id
  LEFT JOIN inserted nk ON nk.idempotency_key = i.idempotency_key
  LEFT JOIN jobs jk ON jk.idempotency_key = i.idempotency_key
),
stored AS (
  SELECT * FROM inserted
  UNION ALL
  SELECT * FROM jobs WHERE id IN (SELECT id FROM resolved)
)
SELECT ${jobColumns("s")}
FROM resolved r
JOIN stored s ON s.id = r.id
ORDER BY r.ord`;

/**
 * Reads the stored job for each requested (id, idempotency key), preferring the id. Used when
 * a concurrent insert of the same key committed after the insert statement's snapshot was
 * taken: that statement skipped the job but could not see the winner.
 */
export const SELECT_REQUESTED_JOBS_SQL = `
SELECT ${jobColumns("j")}
FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i(id, idempotency_key, ord)
JOIN LATERAL (
  SELECT * FROM jobs
  WHERE jobs.id = i.id OR jobs.idempotency_key = i.idempotency_key
  ORDER BY jobs.id = i.id DESC
  LIMIT 1
) j ON true
ORDER BY i.ord`;

/**
 * Inserts `jobs` (see {@link INSERT_JOBS_SQL}); one statement for the whole batch.
 * @returns the stored row of every requested job, in request order.
 * @throws Error when a requested job is neither inserted nor found (a concurrent delete).
 */
export async function insertJobs(db: Queryable, jobs: readonly NewJob[]): Promise<JobRow[]> {
  if (jobs.length === 0) return [];
  const { rows } = await db.query<JobRow>({
    name: "history_insert_jobs",
    text: INSERT_JOBS_SQL,
    values: [
      jobs.map((j) => j.id),
      jobs.map((j) => j.type),
      jobs.map((j) => j.queue),
      jobs.map((j) => JSON.stringify(j.payload)),
      jobs.map((j) => j.maxAttempts),
      jobs.map((j) => j.priority),
      jobs.map((j) => j.timeoutMs),
      jobs.map((j) => j.idempotencyKey),
      jobs.map((j) => j.scheduledAt?.toISOString() ?? null),
    ],
  });
  if (rows.length === jobs.length) return rows;
  const again = await db.query<JobRow>({
    name: "history_select_requested_jobs",
    text: SELECT_REQUESTED_JOBS_SQL,
    values: [jobs.map((j) => j.id), jobs.map((j) => j.idempotencyKey)],
  });
  if (again.rows.length !== jobs.length) throw new Error("inserted jobs could not be read back");
  return again.rows;
}
