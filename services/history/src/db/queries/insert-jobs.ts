import type { Queryable } from "../queryable.js";
import { JOB_COLUMNS, jobColumns } from "../queryable.js";
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

/** Options of {@link insertJobs}. */
export interface InsertJobsOptions {
  /** How long a newly claimed idempotency key is honoured, in milliseconds (default 24 h). */
  idempotencyWindowMs: number;
  /** Actor of the SUBMITTED events (default "api"). */
  actor?: string;
}

const DEFAULT_OPTIONS: InsertJobsOptions = { idempotencyWindowMs: 86_400_000 };

/**
 * Inserts every new job as 'pending' with its 'submitted' event (seq 1) in one statement, and
 * returns the stored row for every requested job in request order. A job's created_at is the
 * timestamp of its UUIDv7 id (when the scheduler accepted it), so created-time ranges are id
 * ranges and prune the day partitions exactly.
 *
 * Idempotency keys live in `idempotency_keys`. The first job of the batch naming a key claims
 * it: a key no one holds is inserted, an expired one is taken over, a live one is left alone
 * (the unique key, not a read, settles a race). A job that did not claim its key is not
 * inserted and resolves to the key's holder. Claims go in key order, so two batches sharing
 * keys lock them in the same order. A job whose id exists already (a retried batch) resolves to
 * itself. The statement's snapshot cannot see what its own CTEs insert, so those rows come from
 * RETURNING; nor what a concurrent transaction committed after the snapshot was taken, so a key
 * row read from the snapshot is trusted only while live (an expired one may have been taken
 * over since), and a job left unresolved is read again by {@link SELECT_REQUESTED_JOBS_SQL}.
 */
export const INSERT_JOBS_SQL = `
WITH input AS (
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::int[], $7::int[],
              $8::text[], $9::timestamptz[])
    WITH ORDINALITY AS t(id, type, queue, payload, max_attempts, priority, timeout_ms,
                         idempotency_key, scheduled_at, ord)
),
candidates AS (
  SELECT DISTINCT ON (idempotency_key) idempotency_key AS key, id AS job_id
  FROM input
  WHERE idempotency_key IS NOT NULL
  ORDER BY idempotency_key, ord
),
claimed AS (
  INSERT INTO idempotency_keys AS k (key, job_id, expires_at)
  SELECT key, job_id, now() + $10::bigint * interval '1 millisecond'
  FROM candidates
  ORDER BY key
  ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, expires_at = excluded.expires_at
    WHERE k.expires_at <= now()
  RETURNING k.key, k.job_id
),
held AS (
  SELECT key, job_id FROM claimed
  UNION ALL
  SELECT k.key, k.job_id
  FROM idempotency_keys k
  WHERE k.key IN (SELECT key FROM candidates)
    AND k.key NOT IN (SELECT key FROM claimed)
    AND k.expires_at > now()
),
inserted AS (
  INSERT INTO jobs (id, type, queue, payload, status, max_attempts, priority, timeout_ms,
                    idempotency_key, last_seq, created_at, updated_at, scheduled_at)
  SELECT i.id, i.type, i.queue, i.payload, 'pending', i.max_attempts, i.priority, i.timeout_ms,
         i.idempotency_key, 1, taskflow_uuid_time(i.id), now(), coalesce(i.scheduled_at, now())
  FROM input i
  WHERE i.idempotency_key IS NULL OR i.id IN (SELECT job_id FROM claimed)
  ORDER BY i.ord
  ON CONFLICT (id) DO NOTHING
  RETURNING ${JOB_COLUMNS.join(", ")}
),
submitted AS (
  INSERT INTO job_events (job_id, seq, type, status, attempt, actor, occurred_at, reason)
  SELECT id, 1, 'submitted', 'pending', 0, $11::text, created_at, 'submitted' FROM inserted
  ON CONFLICT (job_id, seq) DO NOTHING
),
resolved AS (
  SELECT i.ord, coalesce(ni.id, ji.id, h.job_id) AS id
  FROM input i
  LEFT JOIN inserted ni ON ni.id = i.id
  LEFT JOIN jobs ji ON ji.id = i.id
  LEFT JOIN held h ON h.key = i.idempotency_key
),
stored AS (
  SELECT * FROM inserted
  UNION ALL
  SELECT ${JOB_COLUMNS.join(", ")} FROM jobs WHERE id IN (SELECT id FROM resolved)
)
SELECT ${jobColumns("s")}
FROM resolved r
JOIN stored s ON s.id = r.id
ORDER BY r.ord`;

/**
 * Reads, with a fresh snapshot, the stored job for each requested (id, idempotency key): the
 * job with that id, else the job holding the key. `key_job_id` tells a key whose job is gone
 * (deleted while the key's window still runs) from a job that vanished.
 */
export const SELECT_REQUESTED_JOBS_SQL = `
SELECT k.job_id AS key_job_id, ${jobColumns("j")}
FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i(id, idempotency_key, ord)
LEFT JOIN idempotency_keys k ON k.key = i.idempotency_key
LEFT JOIN LATERAL (
  SELECT ${JOB_COLUMNS.join(", ")} FROM jobs
  WHERE jobs.id = i.id OR jobs.id = k.job_id
  ORDER BY jobs.id = i.id DESC
  LIMIT 1
) j ON true
ORDER BY i.ord`;

/** An idempotency key is still reserved for a job that is no longer kept. */
export class IdempotencyKeyReservedError extends Error {
  constructor(
    readonly key: string,
    readonly jobId: string,
  ) {
    super("idempotency key reserved for a job that is no longer kept");
    this.name = "IdempotencyKeyReservedError";
  }
}

type RequestedRow = Omit<JobRow, "id"> & { id: string | null; key_job_id: string | null };

/**
 * Inserts `jobs` (see {@link INSERT_JOBS_SQL}); one statement for the whole batch, and a second
 * only when a concurrent submit of the same key committed while the first ran.
 * @returns the stored row of every requested job, in request order.
 * @throws {IdempotencyKeyReservedError} when a job's key is held, within its window, by a job
 *   that has been deleted since.
 * @throws Error when a requested job is neither inserted nor found (a concurrent delete).
 */
export async function insertJobs(
  db: Queryable,
  jobs: readonly NewJob[],
  opts: InsertJobsOptions = DEFAULT_OPTIONS,
): Promise<JobRow[]> {
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
      opts.idempotencyWindowMs,
      opts.actor ?? "api",
    ],
  });
  if (rows.length === jobs.length) return rows;
  return selectRequestedJobs(db, jobs);
}

async function selectRequestedJobs(db: Queryable, jobs: readonly NewJob[]): Promise<JobRow[]> {
  const { rows } = await db.query<RequestedRow>({
    name: "history_select_requested_jobs",
    text: SELECT_REQUESTED_JOBS_SQL,
    values: [jobs.map((j) => j.id), jobs.map((j) => j.idempotencyKey)],
  });
  return rows.map((row, i) => {
    const { key_job_id: keyJobId, ...job } = row;
    if (job.id !== null) return { ...job, id: job.id };
    const key = jobs[i]?.idempotencyKey;
    if (key != null && keyJobId !== null) throw new IdempotencyKeyReservedError(key, keyJobId);
    throw new Error("inserted jobs could not be read back");
  });
}
