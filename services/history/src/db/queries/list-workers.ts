import type { Queryable } from "../queryable.js";
import type { WorkerHealth, WorkerRow } from "../rows.js";

/**
 * The columns of {@link WorkerRow}, with the worker's health derived from history's clock:
 * deregistered ('gone') or silent for longer than `goneMs` is gone, longer than `staleMs`
 * stale. Deriving it when reading keeps it right without a loop that rewrites rows as time
 * passes. Outcome counts are the sums of the worker's stripes in worker_outcome_counts.
 * `staleMs` and `goneMs` are the statement's parameter references.
 */
export function workerColumns(staleMs: string, goneMs: string): string {
  return `w.id, w.status, w.last_seen, w.job_types, w.queues, w.concurrency, w.hostname, w.metadata,
       w.current_jobs, w.started_at,
       (SELECT coalesce(sum(c.completed), 0) FROM worker_outcome_counts c WHERE c.worker_id = w.id)::bigint AS jobs_completed,
       (SELECT coalesce(sum(c.failed), 0) FROM worker_outcome_counts c WHERE c.worker_id = w.id)::bigint AS jobs_failed,
       CASE
         WHEN w.status = 'gone' OR w.last_seen < now() - ${goneMs}::bigint * interval '1 millisecond' THEN 'gone'
         WHEN w.last_seen < now() - ${staleMs}::bigint * interval '1 millisecond' THEN 'stale'
         ELSE 'healthy'
       END AS health`;
}

/**
 * Workers by id, after `$1`, at most `$2`, whose derived health is one of `$5` (all when
 * empty). The health filter is applied in SQL, so a page holds `$2` matching workers however
 * many others lie between them.
 */
export const LIST_WORKERS_SQL = `
SELECT *
FROM (SELECT ${workerColumns("$3", "$4")} FROM workers w WHERE ($1::text IS NULL OR w.id > $1::text)) w
WHERE cardinality($5::text[]) = 0 OR w.health = ANY ($5::text[])
ORDER BY w.id
LIMIT $2`;

export interface ListWorkersQuery {
  /** Id of the last worker of the previous page. */
  afterId: string | undefined;
  /** Rows to return, at least 1. */
  limit: number;
  /** Silence after which a worker is stale, in milliseconds. */
  staleMs: number;
  /** Silence after which a worker is gone, in milliseconds. */
  goneMs: number;
  /** Any of these healths; empty means all. */
  health: readonly WorkerHealth[];
}

/** Reads one page of workers (see {@link LIST_WORKERS_SQL}). */
export async function listWorkers(db: Queryable, q: ListWorkersQuery): Promise<WorkerRow[]> {
  const { rows } = await db.query<WorkerRow>({
    name: "history_list_workers",
    text: LIST_WORKERS_SQL,
    values: [q.afterId ?? null, q.limit, q.staleMs, q.goneMs, q.health],
  });
  return rows;
}
