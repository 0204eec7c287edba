import { WORKERS } from "./catalog.js";
import { withClient } from "./bench-database.js";
import { type GeneratedJob, type LoadPlan, timeline } from "./generate-jobs.js";

/** What the loaded events say about one worker. */
export interface WorkerTally {
  /** 'completed' events of the worker. */
  completed: number;
  /** 'retry_scheduled' and 'failed' events of the worker. */
  failed: number;
  /** Time of its newest event, Unix milliseconds. */
  lastMs: number;
  /** Jobs it is running now (status processing). */
  currentJobs: string[];
}

/**
 * Adds `job`'s trail to `tally`, counting outcomes exactly as AppendEvents maintains
 * worker_outcome_counts (one stripe each), so the loaded workers agree with the loaded events.
 */
export function tallyJob(tally: Map<string, WorkerTally>, job: GeneratedJob): void {
  for (const e of job.events) {
    if (e.workerId === null) continue;
    let t = tally.get(e.workerId);
    if (t === undefined) {
      t = { completed: 0, failed: 0, lastMs: 0, currentJobs: [] };
      tally.set(e.workerId, t);
    }
    if (e.type === "completed") t.completed += 1;
    else if (e.type === "failed" || e.type === "retry_scheduled") t.failed += 1;
    t.lastMs = Math.max(t.lastMs, e.occurredMs);
  }
  if (job.status === "processing" && job.workerId !== null) tally.get(job.workerId)?.currentJobs.push(job.id);
}

/** Sums tallies of several ranges of jobs. */
export function mergeTallies(parts: readonly Map<string, WorkerTally>[]): Map<string, WorkerTally> {
  const all = new Map<string, WorkerTally>();
  for (const part of parts) {
    for (const [id, t] of part) {
      const into = all.get(id);
      if (into === undefined) all.set(id, { ...t, currentJobs: [...t.currentJobs] });
      else {
        into.completed += t.completed;
        into.failed += t.failed;
        into.lastMs = Math.max(into.lastMs, t.lastMs);
        into.currentJobs.push(...t.currentJobs);
      }
    }
  }
  return all;
}

/** Silence of a stale worker at load time: past WORKER_STALE_MS (30 s), short of WORKER_GONE_MS. */
const STALE_SILENCE_MS = 90_000;

const INSERT_WORKERS_SQL = `
WITH w AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::jsonb[], $6::int[],
              $7::text[], $8::timestamptz[], $9::jsonb[], $10::jsonb[], $11::bigint[], $12::bigint[])
    AS t(id, status, last_seen, job_types, queues, concurrency, hostname, started_at, current_jobs,
         metadata, completed, failed)
),
counts AS (
  INSERT INTO worker_outcome_counts (worker_id, stripe, completed, failed)
  SELECT id, 0, completed, failed FROM w
)
INSERT INTO workers (id, status, last_seen, job_types, queues, concurrency, hostname, started_at,
                     current_jobs, metadata)
SELECT id, status, last_seen, job_types, queues, concurrency, hostname, started_at, current_jobs, metadata
FROM w`;

/**
 * Inserts the 50 workers: registered an hour before the first job, their job counts and
 * current jobs from the events, and last seen as their fate says (gone ones at their last
 * event or their deregistration, stale ones a minute and a half ago, the rest just now).
 * Returns how many rows it inserted.
 */
export async function insertWorkers(url: string, plan: LoadPlan, tallies: readonly Map<string, WorkerTally>[]): Promise<number> {
  const tl = timeline(plan);
  const tally = mergeTallies(tallies);
  const now = Date.now();
  const rows = WORKERS.map((w, i) => {
    const t = tally.get(w.id) ?? { completed: 0, failed: 0, lastMs: 0, currentJobs: [] };
    const lastSeen = w.fate === "gone" ? Math.max(t.lastMs, tl.retireMs) : w.fate === "stale" ? now - STALE_SILENCE_MS : now - (i % 5) * 1_000;
    return { w, t, lastSeen };
  });
  return withClient(url, async (c) => {
    const result = await c.query({
      name: "bench_history_insert_workers",
      text: INSERT_WORKERS_SQL,
      values: [
        rows.map((r) => r.w.id),
        rows.map((r) => (r.w.fate === "gone" ? "gone" : "healthy")),
        rows.map((r) => new Date(r.lastSeen).toISOString()),
        rows.map((r) => JSON.stringify(r.w.jobTypes)),
        rows.map((r) => JSON.stringify([r.w.queue])),
        rows.map((r) => r.w.concurrency),
        rows.map((r) => r.w.hostname),
        rows.map(() => new Date(tl.startMs - 3_600_000).toISOString()),
        rows.map((r) => JSON.stringify(r.t.currentJobs)),
        rows.map((r) => JSON.stringify({ version: "2.4.1", host: r.w.hostname })),
        rows.map((r) => r.t.completed),
        rows.map((r) => r.t.failed),
      ],
    });
    return result.rowCount ?? 0;
  });
}
