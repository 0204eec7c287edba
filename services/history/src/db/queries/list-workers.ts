import type { Queryable } from "../queryable.js";
import type { WorkerRow } from "../rows.js";

/**
 * Workers by id, after `$1`, at most `$2`, each with its health derived from history's clock:
 * deregistered ('gone') or silent for longer than `$4` ms is gone, longer than `$3` ms stale.
 * Deriving it when reading keeps it right without a loop that rewrites rows as time passes.
 */
export const LIST_WORKERS_SQL = `
SELECT *,
       CASE
         WHEN status = 'gone' OR last_seen < now() - $4::bigint * interval '1 millisecond' THEN 'gone'
         WHEN last_seen < now() - $3::bigint * interval '1 millisecond' THEN 'stale'
         ELSE 'healthy'
       END AS health
FROM workers
WHERE ($1::text IS NULL OR id > $1::text)
ORDER BY id
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
}

/** Reads one page of workers (see {@link LIST_WORKERS_SQL}). */
export async function listWorkers(db: Queryable, q: ListWorkersQuery): Promise<WorkerRow[]> {
  const { rows } = await db.query<WorkerRow>({
    name: "history_list_workers",
    text: LIST_WORKERS_SQL,
    values: [q.afterId ?? null, q.limit, q.staleMs, q.goneMs],
  });
  return rows;
}
