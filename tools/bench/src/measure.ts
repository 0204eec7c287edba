import pg from "pg";

/** Latency percentiles in ms. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** What one run measured, from history's own timestamps. */
export interface RunFigures {
  jobs: number;
  /** Jobs per second from the first submit to the last completion recorded in history. */
  throughput_jobs_per_s: number;
  /** Submit (history's insert) to the start of the attempt (the lease). */
  submit_to_start_ms: Percentiles;
  /** Submit to the completion being recorded in history. */
  submit_to_completed_ms: Percentiles;
  /** How long each SubmitJobs call took to answer, as the caller saw it. */
  submit_call_ms: Percentiles;
}

// Every figure comes from PostgreSQL's timestamps: created_at is now() at insert, started_at is
// the scheduler's Redis clock at lease, recorded_at is now() when history applied the event.
const LATENCY_SQL = `
WITH j AS (
  SELECT extract(epoch FROM (jobs.started_at - jobs.created_at)) * 1000 AS to_start,
         extract(epoch FROM (e.recorded_at - jobs.created_at)) * 1000 AS to_done,
         jobs.created_at, e.recorded_at
  FROM jobs JOIN job_events e ON e.job_id = jobs.id AND e.type = 'completed'
)
SELECT count(*)::int AS n,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY to_start) AS start_p,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY to_done) AS done_p,
       extract(epoch FROM (max(recorded_at) - min(created_at))) AS span_s
FROM j`;

/** Counts the jobs history has recorded as completed. */
export async function countCompleted(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'completed'");
  return rows[0]!.n;
}

/** Reads the run's latencies and throughput from history's tables. */
export async function readFigures(db: pg.Client, submitCallsMs: number[]): Promise<RunFigures> {
  const { rows } = await db.query<{ n: number; start_p: number[]; done_p: number[]; span_s: number }>(LATENCY_SQL);
  const row = rows[0]!;
  return {
    jobs: row.n,
    throughput_jobs_per_s: round(row.n / Number(row.span_s)),
    submit_to_start_ms: toPercentiles(row.start_p),
    submit_to_completed_ms: toPercentiles(row.done_p),
    submit_call_ms: percentilesOf(submitCallsMs),
  };
}

/** Percentiles of a sample by nearest rank. */
export function percentilesOf(sample: number[]): Percentiles {
  const sorted = [...sample].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return toPercentiles([at(0.5), at(0.95), at(0.99)]);
}

/** The median of each figure over several runs. */
export function medianFigures(runs: RunFigures[]): RunFigures {
  const med = (pick: (r: RunFigures) => number) => {
    const sorted = runs.map(pick).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return round(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2);
  };
  const medP = (pick: (r: RunFigures) => Percentiles): Percentiles => ({
    p50: med((r) => pick(r).p50),
    p95: med((r) => pick(r).p95),
    p99: med((r) => pick(r).p99),
  });
  return {
    jobs: med((r) => r.jobs),
    throughput_jobs_per_s: med((r) => r.throughput_jobs_per_s),
    submit_to_start_ms: medP((r) => r.submit_to_start_ms),
    submit_to_completed_ms: medP((r) => r.submit_to_completed_ms),
    submit_call_ms: medP((r) => r.submit_call_ms),
  };
}

const round = (n: number): number => Math.round(n * 10) / 10;
const toPercentiles = ([p50, p95, p99]: number[]): Percentiles => ({
  p50: round(p50 ?? 0),
  p95: round(p95 ?? 0),
  p99: round(p99 ?? 0),
});
