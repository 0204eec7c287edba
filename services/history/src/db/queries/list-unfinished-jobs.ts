import { JOB_COLUMNS, type Queryable } from "../queryable.js";
import type { JobRow } from "../rows.js";

export interface ListUnfinishedJobsQuery {
  /** Only jobs created (by their UUIDv7 id) before this moment. */
  createdBefore: Date;
  /** Only ids after this one; {@link FIRST_JOB_ID} for the first page. */
  afterId: string;
  /** Rows to return, at least 1. */
  limit: number;
}

/** Sorts before every job id: the cursor of a walk's first page. */
export const FIRST_JOB_ID = "00000000-0000-0000-0000-000000000000";

/**
 * Pending and processing jobs whose id sorts after `$1` and that were created before `$2`, in id
 * (so creation) order. The status predicate matches idx_jobs_unfinished_id (migration 0007) word
 * for word, so a page is one ordered walk of each day partition's copy of that index from the
 * cursor on, however deep the cursor is; `id < taskflow_uuid_floor($2)` also prunes the days
 * after the moment.
 */
export const LIST_UNFINISHED_JOBS_SQL = `
SELECT ${JOB_COLUMNS.join(", ")}
FROM jobs
WHERE status IN ('pending', 'processing')
  AND id > $1::uuid
  AND id < taskflow_uuid_floor($2::timestamptz)
ORDER BY id
LIMIT $3`;

/** Reads one page of unfinished jobs (see {@link LIST_UNFINISHED_JOBS_SQL}). */
export async function listUnfinishedJobs(db: Queryable, q: ListUnfinishedJobsQuery): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: "history_list_unfinished_jobs",
    text: LIST_UNFINISHED_JOBS_SQL,
    values: [q.afterId, q.createdBefore.toISOString(), q.limit],
  });
  return rows;
}

/** Pending and processing jobs among `$1`, in id order (ListUnfinishedJobs' `ids`). */
export const SELECT_UNFINISHED_BY_ID_SQL = `
SELECT ${JOB_COLUMNS.join(", ")}
FROM jobs
WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'processing')
ORDER BY id`;

/** Reads the unfinished jobs among `ids` (see {@link SELECT_UNFINISHED_BY_ID_SQL}). */
export async function selectUnfinishedById(db: Queryable, ids: readonly string[]): Promise<JobRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<JobRow>({ name: "history_select_unfinished_by_id", text: SELECT_UNFINISHED_BY_ID_SQL, values: [ids] });
  return rows;
}
