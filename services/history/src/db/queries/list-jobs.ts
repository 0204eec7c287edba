import type { QueryConfig } from "pg";
import { JOB_COLUMNS, type Queryable } from "../queryable.js";
import type { JobRow, JobStatusText } from "../rows.js";

export interface ListJobsFilter {
  /** Any of these statuses; empty means all. */
  statuses: readonly JobStatusText[];
  /** Any of these types; empty means all. */
  types: readonly string[];
  /** Any of these queues; empty means all. */
  queues: readonly string[];
  /** Id of the last job of the previous page; jobs older than it follow. */
  afterId: string | undefined;
  /** Rows to return, at least 1. */
  limit: number;
}

const LIST_JOBS_SELECT = `SELECT ${JOB_COLUMNS.join(", ")} FROM jobs`;
const LIST_JOBS_ORDER = "ORDER BY id DESC LIMIT";

/**
 * Builds the statement for one page. `WHERE` holds only the filters given, and every value is
 * a parameter. A filter with one value becomes `col = $n`, not
 * `col = ANY($n)`: PostgreSQL 15 walks the (col, id DESC) index in order only for an
 * equality, and with ANY it falls back to scanning the primary key and filtering.
 */
export function listJobsQuery(f: ListJobsFilter): QueryConfig {
  const where: string[] = [];
  const values: unknown[] = [];
  const match = (column: string, items: readonly string[]) => {
    if (items.length === 0) return;
    values.push(items.length === 1 ? items[0] : items);
    where.push(items.length === 1 ? `${column} = $${values.length}` : `${column} = ANY ($${values.length}::text[])`);
  };
  match("status", f.statuses);
  match("type", f.types);
  match("queue", f.queues);
  if (f.afterId !== undefined) {
    values.push(f.afterId);
    where.push(`id < $${values.length}::uuid`);
  }
  values.push(f.limit);
  const filter = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
  return { text: `${LIST_JOBS_SELECT}${filter} ${LIST_JOBS_ORDER} $${values.length}`, values };
}

/**
 * Reads one page of jobs newest first (ids are UUIDv7, so id order is creation order),
 * keyset-paged on id: a page starts below the previous page's last id, so jobs inserted
 * meanwhile (newer ids) never shift the pages being walked.
 */
export async function listJobs(db: Queryable, f: ListJobsFilter): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>(listJobsQuery(f));
  return rows;
}
