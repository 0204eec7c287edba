import { JOB_COLUMNS, type Queryable } from "../queryable.js";
import type { JobRow } from "../rows.js";

export const GET_JOB_SQL = `SELECT ${JOB_COLUMNS.join(", ")} FROM jobs WHERE id = $1`;

/**
 * Reads one job.
 * @param id a UUID (the caller validates it; a malformed one makes PostgreSQL throw).
 * @returns the row, or undefined when no job has that id.
 */
export async function getJob(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({ name: "history_get_job", text: GET_JOB_SQL, values: [id] });
  return rows[0];
}
