import { jobColumns, type Queryable } from "../queryable.js";
import type { JobRow } from "../rows.js";

/** Most ids one read takes. */
export const WATCHED_JOBS_PER_READ = 1_000;

export const GET_WATCHED_JOBS_SQL = `
SELECT ${jobColumns("j", ["payload", "result"])}, NULL::jsonb AS payload, NULL::jsonb AS result
FROM jobs j
WHERE j.id = ANY($1::uuid[])`;

/**
 * Reads the jobs WatchJobs streams show, without payload and result (a dashboard does not need
 * them, and they can be large); ids history does not know are left out.
 * @param ids at most {@link WATCHED_JOBS_PER_READ} UUIDs.
 */
export async function getWatchedJobs(db: Queryable, ids: readonly string[]): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({ name: "history_get_watched_jobs", text: GET_WATCHED_JOBS_SQL, values: [ids] });
  return rows;
}
