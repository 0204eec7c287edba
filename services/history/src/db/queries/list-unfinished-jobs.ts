import { JOB_COLUMNS, type Queryable } from "../queryable.js";
import type { JobRow } from "../rows.js";

/** Where a page of unfinished jobs starts: after this (updated_at, id), exclusive. */
export interface UnfinishedCursor {
  /** updated_at of the previous page's last job, in microseconds since the Unix epoch. */
  updatedUs: string;
  id: string;
}

export interface ListUnfinishedJobsQuery {
  /** Only rows whose updated_at is before this moment. */
  updatedBefore: Date;
  after: UnfinishedCursor;
  /** Rows to return, at least 1. */
  limit: number;
}

/** A job row with its updated_at in whole microseconds, the cursor's precision. */
export interface UnfinishedJobRow extends JobRow {
  updated_us: string;
}

/** The cursor of the first page: before every row. */
export const FIRST_UNFINISHED_CURSOR: UnfinishedCursor = { updatedUs: "0", id: "00000000-0000-0000-0000-000000000000" };

/**
 * Pending and processing jobs last changed before `$1`, oldest change first, after the cursor
 * (`$2` µs, `$3` id; {@link FIRST_UNFINISHED_CURSOR} for the first page). The status predicate
 * matches idx_jobs_unfinished_updated (migration 0004) word for word, so a page is one ordered
 * index range scan, however deep it is. The cursor keeps microseconds (a Date
 * holds only milliseconds), so rows changed within one millisecond are neither skipped nor
 * repeated; the row comparison is what the index's (updated_at, id) order walks.
 */
export const LIST_UNFINISHED_JOBS_SQL = `
SELECT ${JOB_COLUMNS.join(", ")}, (extract(epoch FROM updated_at) * 1000000)::bigint::text AS updated_us
FROM jobs
WHERE status IN ('pending', 'processing')
  AND updated_at < $1
  AND (updated_at, id) > ('epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3::uuid)
ORDER BY updated_at, id
LIMIT $4`;

/** Reads one page of unfinished jobs (see {@link LIST_UNFINISHED_JOBS_SQL}). */
export async function listUnfinishedJobs(db: Queryable, q: ListUnfinishedJobsQuery): Promise<UnfinishedJobRow[]> {
  const { rows } = await db.query<UnfinishedJobRow>({
    name: "history_list_unfinished_jobs",
    text: LIST_UNFINISHED_JOBS_SQL,
    values: [q.updatedBefore.toISOString(), q.after.updatedUs, q.after.id, q.limit],
  });
  return rows;
}
