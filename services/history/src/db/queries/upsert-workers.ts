import type { Queryable } from "../queryable.js";
import type { StoredWorkerStatus } from "../rows.js";

/** A worker as the scheduler last saw it. */
export interface WorkerInput {
  id: string;
  status: StoredWorkerStatus;
  queues: readonly string[];
  jobTypes: readonly string[];
  concurrency: number;
  hostname: string;
  metadata: Readonly<Record<string, string>>;
  /** Jobs the worker holds leases on. */
  currentJobIds: readonly string[];
  /** When the worker started; kept from the first upsert, now() when unknown. */
  startedAt: Date | null;
}

/**
 * Upserts a batch of workers in one statement; last_seen is history's clock. A worker listed
 * twice keeps its last entry (ON CONFLICT DO UPDATE may touch a row only once per statement).
 * started_at keeps the value of the first insert, so restarts of the scheduler that reports it
 * do not reset it.
 */
export const UPSERT_WORKERS_SQL = `
INSERT INTO workers (id, status, queues, job_types, concurrency, hostname, metadata,
                     current_jobs, current_job, started_at, last_seen)
SELECT DISTINCT ON (id)
       id, status, queues, job_types, concurrency, hostname, metadata,
       current_jobs, current_jobs ->> 0, coalesce(started_at, now()), now()
FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[], $5::int[], $6::text[], $7::jsonb[],
            $8::jsonb[], $9::timestamptz[])
  WITH ORDINALITY AS w(id, status, queues, job_types, concurrency, hostname, metadata,
                       current_jobs, started_at, ord)
ORDER BY id, ord DESC
ON CONFLICT (id) DO UPDATE SET
  status = EXCLUDED.status,
  queues = EXCLUDED.queues,
  job_types = EXCLUDED.job_types,
  concurrency = EXCLUDED.concurrency,
  hostname = EXCLUDED.hostname,
  metadata = EXCLUDED.metadata,
  current_jobs = EXCLUDED.current_jobs,
  current_job = EXCLUDED.current_job,
  last_seen = EXCLUDED.last_seen`;

/** Upserts `workers` (see {@link UPSERT_WORKERS_SQL}). */
export async function upsertWorkers(db: Queryable, workers: readonly WorkerInput[]): Promise<void> {
  if (workers.length === 0) return;
  await db.query({
    name: "history_upsert_workers",
    text: UPSERT_WORKERS_SQL,
    values: [
      workers.map((w) => w.id),
      workers.map((w) => w.status),
      workers.map((w) => JSON.stringify(w.queues)),
      workers.map((w) => JSON.stringify(w.jobTypes)),
      workers.map((w) => w.concurrency),
      workers.map((w) => w.hostname),
      workers.map((w) => JSON.stringify(w.metadata)),
      workers.map((w) => JSON.stringify(w.currentJobIds)),
      workers.map((w) => w.startedAt?.toISOString() ?? null),
    ],
  });
}
