import type { Queryable } from "../queryable.js";
import type { JobEventRow } from "../rows.js";

/**
 * One job's events by seq, after `$2`, at most `$3`. The job is the driving row, so an unknown
 * job gives no row at all while a known job past its last event gives one row of NULLs: one
 * statement tells "not found" from "no more events".
 */
export const LIST_JOB_EVENTS_SQL = `
SELECT e.*
FROM jobs j
LEFT JOIN LATERAL (
  SELECT * FROM job_events
  WHERE job_events.job_id = j.id AND job_events.seq > $2
  ORDER BY job_events.seq
  LIMIT $3
) e ON true
WHERE j.id = $1
ORDER BY e.seq`;

export interface ListJobEventsQuery {
  jobId: string;
  /** seq of the last event of the previous page; 0 for the first page. */
  afterSeq: number;
  /** Rows to return, at least 1. */
  limit: number;
}

/**
 * Reads one page of a job's audit trail, oldest first.
 * @returns the events, or undefined when the job does not exist.
 */
export async function listJobEvents(db: Queryable, q: ListJobEventsQuery): Promise<JobEventRow[] | undefined> {
  const { rows } = await db.query<JobEventRow | { [K in keyof JobEventRow]: null }>({
    name: "history_list_job_events",
    text: LIST_JOB_EVENTS_SQL,
    values: [q.jobId, q.afterSeq, q.limit],
  });
  if (rows.length === 0) return undefined;
  return rows.filter((r): r is JobEventRow => r.job_id !== null);
}
