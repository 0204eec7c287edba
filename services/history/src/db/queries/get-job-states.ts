import type { Queryable } from "../queryable.js";
import type { JobStatusText } from "../rows.js";

/** What reconciliation needs to know of a job: where it stands and its newest event. */
export interface JobStateRow {
  id: string;
  status: JobStatusText;
  last_seq: number;
}

/** The state of each known job among `$1`; unknown ids give no row. Served by the primary key. */
export const GET_JOB_STATES_SQL = "SELECT id, status, last_seq FROM jobs WHERE id = ANY ($1::uuid[])";

/**
 * Reads the states of `ids` (UUIDs; the caller validates them), in no particular order.
 * @returns one row per known job; ids history does not know are left out.
 */
export async function getJobStates(db: Queryable, ids: readonly string[]): Promise<JobStateRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<JobStateRow>({ name: "history_get_job_states", text: GET_JOB_STATES_SQL, values: [ids] });
  return rows;
}
