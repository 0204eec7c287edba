import { withClient } from "./bench-database.js";
import { DAY_MS, type Timeline } from "./generate-jobs.js";
import type { Random } from "./random.js";
import { PAGE_SIZE } from "./shape.js";

/** What the shapes need to know about the loaded data beyond the plan. */
export interface DataFacts {
  /** Ids of jobs spread over the time frame. */
  jobIds: string[];
  /** Types with at least 50 full pages of failed jobs, most first. */
  deepTypes: string[];
  /** Whole UTC days inside the time frame (one partition each), or the last 24 hours. */
  days: { startMs: number; endMs: number }[];
}

/** Pages deep a deep-page shape reads. */
export const DEEP_PAGE = 50;

const JOB_IDS_SQL = `
SELECT (SELECT id FROM jobs WHERE id >= taskflow_uuid_floor(t) ORDER BY id LIMIT 1)::text AS id
FROM unnest($1::timestamptz[]) AS t`;

const DEEP_TYPES_SQL = `
SELECT type FROM jobs WHERE status = 'failed'
GROUP BY type HAVING count(*) >= $1::int
ORDER BY count(*) DESC, type`;

/** Reads from the database at `url` what shapes ask about: `samples` job ids and deep types. */
export async function sampleFacts(url: string, tl: Timeline, rng: Random, samples: number): Promise<DataFacts> {
  const times = Array.from({ length: samples }, () => new Date(tl.startMs + Math.floor(rng.next() * (tl.endMs - tl.startMs))).toISOString());
  return withClient(url, async (c) => {
    const ids = await c.query<{ id: string | null }>({ name: "bench_history_sample_job_ids", text: JOB_IDS_SQL, values: [times] });
    const deep = await c.query<{ type: string }>({
      name: "bench_history_deep_types",
      text: DEEP_TYPES_SQL,
      values: [DEEP_PAGE * PAGE_SIZE],
    });
    return {
      jobIds: ids.rows.flatMap((r) => (r.id === null ? [] : [r.id])),
      deepTypes: deep.rows.map((r) => r.type),
      days: wholeDays(tl),
    };
  });
}

/** The whole UTC days in the time frame, or its last 24 hours when it holds none. */
export function wholeDays(tl: Pick<Timeline, "startMs" | "endMs">): { startMs: number; endMs: number }[] {
  const days: { startMs: number; endMs: number }[] = [];
  for (let d = Math.ceil(tl.startMs / DAY_MS) * DAY_MS; d + DAY_MS <= tl.endMs; d += DAY_MS) days.push({ startMs: d, endMs: d + DAY_MS });
  return days.length > 0 ? days : [{ startMs: tl.endMs - DAY_MS, endMs: tl.endMs }];
}
