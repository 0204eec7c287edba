import type { Queryable } from "../queryable.js";
import type { JobStatusText } from "../rows.js";

/** What GetStats reads: a window, its filters and the grid of its throughput buckets. */
export interface StatsQuery {
  /** Window start, inclusive. */
  start: Date;
  /** Window end, exclusive. */
  end: Date;
  /** Only jobs of these types; empty means all. */
  types: readonly string[];
  /** Only jobs of these queues; empty means all. */
  queues: readonly string[];
  /** Start of the first bucket: the window start truncated to the bucket width (UTC). */
  origin: Date;
  /** Bucket width in milliseconds. */
  bucketMs: number;
  /** Buckets from `origin` until one reaches `end`. */
  buckets: number;
  /** Most frequent errors to return, at least 1. */
  topErrorsLimit: number;
  /** Also count the finished jobs per queue. */
  byQueue: boolean;
}

/** What happened in [start, start + bucketMs). */
export interface ThroughputCounts {
  start: Date;
  submitted: bigint;
  completed: bigint;
  failed: bigint;
  cancelled: bigint;
}

/** Percentiles of a set of durations, in microseconds (undefined when the set is empty). */
export interface DurationSummary {
  count: bigint;
  p50Us?: number;
  p95Us?: number;
  p99Us?: number;
}

/** One error message of failed attempts in the window. */
export interface ErrorCount {
  error: string;
  /** Failed attempts (events) with this error. */
  count: bigint;
  /** Distinct jobs among them. */
  jobs: bigint;
  lastSeenAt: Date;
}

/** Every figure of a window; counts are bigint since pg returns `count(*)` as int8. */
export interface WindowStats {
  /** Jobs created in the window, by current status. */
  created: Record<JobStatusText, bigint>;
  /** `buckets` entries, oldest first, empty ones included. */
  throughput: ThroughputCounts[];
  /** Jobs finished in the window, by terminal status. */
  finished: { completed: bigint; failed: bigint; cancelled: bigint };
  queueWait: DurationSummary;
  runTime: DurationSummary;
  topErrors: ErrorCount[];
  /** With `byQueue`: each queue with jobs finished in the window, by name in byte order. */
  byQueue: QueueOutcomes[];
}

/** The jobs of one queue that finished in the window, by terminal status. */
export interface QueueOutcomes {
  queue: string;
  completed: bigint;
  failed: bigint;
  cancelled: bigint;
}

/** `$3` types and `$4` queues, each ignored when empty; one text serves every filter. */
const JOB_FILTER = `(cardinality($3::text[]) = 0 OR type = ANY ($3::text[]))
  AND (cardinality($4::text[]) = 0 OR queue = ANY ($4::text[]))`;

/**
 * Jobs created in [$1, $2) by status and bucket ($5 wide from origin $6). created_at is the
 * id's timestamp, so the id range reads only the window's day partitions; the created_at test
 * is exact where the bounds are not (rows copied from before ids were UUIDv7). Ids hold no
 * time before 1970, hence the clamp.
 */
export const STATS_CREATED_SQL = `
SELECT status, date_bin($5::interval, created_at, $6::timestamptz) AS bucket, count(*) AS jobs
FROM jobs
WHERE id >= taskflow_uuid_floor(greatest($1::timestamptz, 'epoch'))
  AND id < taskflow_uuid_floor(greatest($2::timestamptz, 'epoch'))
  AND created_at >= $1::timestamptz AND created_at < $2::timestamptz
  AND ${JOB_FILTER}
GROUP BY status, bucket`;

/**
 * The jobs finished in [$1, $2) of the types $3 and queues $4, with `columns`, read from
 * idx_jobs_completed_at alone. That index holds every column these statements read (INCLUDE),
 * in a quarter of the pages of the rows; but where a window covers most of a day partition,
 * PostgreSQL costs reading the index as random reads and scans the partition instead, about 1.4
 * times as slow. Asking for completed_at order, which the index gives for free and a scan only by
 * sorting, makes the index the cheaper plan.
 */
const finishedIn = (columns: string) => `(
  SELECT ${columns}
  FROM jobs
  WHERE completed_at >= $1::timestamptz AND completed_at < $2::timestamptz
    AND ${JOB_FILTER}
  ORDER BY completed_at
) f`;

/** Jobs finished in [$1, $2) by terminal status and bucket (see {@link finishedIn}). */
export const STATS_FINISHED_SQL = `
SELECT status, date_bin($5::interval, completed_at, $6::timestamptz) AS bucket, count(*) AS jobs
FROM ${finishedIn("status, completed_at")}
GROUP BY status, bucket`;

/** Jobs finished in [$1, $2) by queue and terminal status (see {@link finishedIn}). */
export const STATS_FINISHED_BY_QUEUE_SQL = `
SELECT queue, status, count(*) AS jobs
FROM ${finishedIn("queue, status, completed_at")}
GROUP BY queue, status`;

const PERCENTILES = "percentile_cont('{0.5,0.95,0.99}'::float8[])";
const RAN = "started_at IS NOT NULL AND status IN ('completed', 'failed')";

/**
 * Queue wait (started_at - scheduled_at, of jobs that started) and run time (completed_at -
 * started_at, of jobs that ran to completion or failure) of the jobs finished in [$1, $2), in
 * seconds. percentile_cont interpolates between the two nearest values. A negative duration
 * (the scheduler's and the worker's clocks disagree) counts as 0.
 */
export const STATS_DURATIONS_SQL = `
SELECT count(*) FILTER (WHERE started_at IS NOT NULL) AS waited,
       ${PERCENTILES} WITHIN GROUP (ORDER BY greatest(date_part('epoch', started_at - scheduled_at), 0))
         FILTER (WHERE started_at IS NOT NULL) AS wait_s,
       count(*) FILTER (WHERE ${RAN}) AS ran,
       ${PERCENTILES} WITHIN GROUP (ORDER BY greatest(date_part('epoch', completed_at - started_at), 0))
         FILTER (WHERE ${RAN}) AS run_s
FROM ${finishedIn("status, scheduled_at, started_at, completed_at")}`;

const ERRORS_SELECT = `
SELECT e.error, count(*) AS attempts, count(DISTINCT e.job_id) AS jobs, max(e.occurred_at) AS last_seen_at`;
const ERRORS_WHERE = `
WHERE e.occurred_at >= $1::timestamptz AND e.occurred_at < $2::timestamptz
  AND e.type IN ('retry_scheduled', 'failed', 'lease_expired') AND e.error IS NOT NULL`;
const ERRORS_ORDER = `
GROUP BY e.error
ORDER BY attempts DESC, e.error COLLATE "C"`;

/**
 * Errors of attempts that failed in [$1, $2), most frequent first, ties in byte order of the
 * text (the same on every replica, whatever its collation), at most $3. Read from
 * idx_job_events_errors alone (migration 0009), which holds exactly these events and repeats
 * {@link ERRORS_WHERE}'s predicate. A job's events live in its creation day's partition, which
 * may lie long before the window, so job_id is not bounded.
 */
export const STATS_TOP_ERRORS_SQL = `${ERRORS_SELECT}
FROM job_events e${ERRORS_WHERE}${ERRORS_ORDER}
LIMIT $3`;

/**
 * {@link STATS_TOP_ERRORS_SQL} for the jobs of types $3 / queues $4 only, at most $5. `jobs`
 * comes first in FROM, as in every statement of history that reads both parents (see
 * EXPORT_AUDIT_TRAIL_SQL).
 */
export const STATS_TOP_ERRORS_FILTERED_SQL = `${ERRORS_SELECT}
FROM jobs j
JOIN job_events e ON e.job_id = j.id${ERRORS_WHERE}
  AND (cardinality($3::text[]) = 0 OR j.type = ANY ($3::text[]))
  AND (cardinality($4::text[]) = 0 OR j.queue = ANY ($4::text[]))${ERRORS_ORDER}
LIMIT $5`;

interface BucketRow {
  status: JobStatusText;
  bucket: Date;
  /** int8: pg gives a string. */
  jobs: string;
}

interface DurationsRow {
  waited: string;
  wait_s: number[] | null;
  ran: string;
  run_s: number[] | null;
}

interface QueueStatusRow {
  queue: string;
  status: JobStatusText;
  /** int8: pg gives a string. */
  jobs: string;
}

interface ErrorRow {
  error: string;
  attempts: string;
  jobs: string;
  last_seen_at: Date;
}

/**
 * Reads every figure of the window. The statements (four, five with `byQueue`) are independent and run at once on
 * `db` (a pool: each takes its own connection), so the call takes about as long as the
 * slowest of them. They are not prepared (they carry a label, not a name): planned with the
 * actual window, PostgreSQL prunes partitions at plan time and knows a day holds ~100,000 rows,
 * so it hashes them; a generic plan guessed a few rows and sorted them on disk, twice as slow.
 * Planning costs ~2 ms, small beside the statements, and stats are not a hot path.
 */
export async function getStats(db: Queryable, q: StatsQuery): Promise<WindowStats> {
  const window = [q.start, q.end, q.types, q.queues];
  const grid = [`${q.bucketMs} milliseconds`, q.origin];
  const filtered = q.types.length > 0 || q.queues.length > 0;
  const [created, finished, durations, errors, byQueue] = await Promise.all([
    db.query<BucketRow>({ label: "history_stats_created", text: STATS_CREATED_SQL, values: [...window, ...grid] }),
    db.query<BucketRow>({ label: "history_stats_finished", text: STATS_FINISHED_SQL, values: [...window, ...grid] }),
    db.query<DurationsRow>({ label: "history_stats_durations", text: STATS_DURATIONS_SQL, values: window }),
    filtered
      ? db.query<ErrorRow>({
          label: "history_stats_top_errors_filtered",
          text: STATS_TOP_ERRORS_FILTERED_SQL,
          values: [...window, q.topErrorsLimit],
        })
      : db.query<ErrorRow>({
          label: "history_stats_top_errors",
          text: STATS_TOP_ERRORS_SQL,
          values: [q.start, q.end, q.topErrorsLimit],
        }),
    q.byQueue ? db.query<QueueStatusRow>({ label: "history_stats_finished_by_queue", text: STATS_FINISHED_BY_QUEUE_SQL, values: window }) : undefined,
  ]);
  const d = durations.rows[0] as DurationsRow;
  return {
    created: countByStatus(created.rows),
    throughput: fillBuckets(q, created.rows, finished.rows),
    finished: terminal(countByStatus(finished.rows)),
    queueWait: summary(d.waited, d.wait_s),
    runTime: summary(d.ran, d.run_s),
    topErrors: errors.rows.map((r) => ({
      error: r.error,
      count: BigInt(r.attempts),
      jobs: BigInt(r.jobs),
      lastSeenAt: r.last_seen_at,
    })),
    byQueue: outcomesByQueue(byQueue?.rows ?? []),
  };
}

function outcomesByQueue(rows: readonly QueueStatusRow[]): QueueOutcomes[] {
  const queues = new Map<string, QueueOutcomes>();
  for (const r of rows) {
    if (r.status !== "completed" && r.status !== "failed" && r.status !== "cancelled") continue;
    let q = queues.get(r.queue);
    if (q === undefined) queues.set(r.queue, (q = { queue: r.queue, completed: 0n, failed: 0n, cancelled: 0n }));
    q[r.status] += BigInt(r.jobs);
  }
  return [...queues.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
}

function countByStatus(rows: readonly BucketRow[]): Record<JobStatusText, bigint> {
  const counts: Record<JobStatusText, bigint> = { pending: 0n, processing: 0n, completed: 0n, failed: 0n, cancelled: 0n };
  for (const r of rows) counts[r.status] += BigInt(r.jobs);
  return counts;
}

const terminal = ({ completed, failed, cancelled }: Record<JobStatusText, bigint>) => ({ completed, failed, cancelled });

/** The bucket grid with every bucket present: submitted from `created`, outcomes from `finished`. */
function fillBuckets(q: StatsQuery, created: readonly BucketRow[], finished: readonly BucketRow[]): ThroughputCounts[] {
  const origin = q.origin.getTime();
  const grid = Array.from({ length: q.buckets }, (_, i) => ({
    start: new Date(origin + i * q.bucketMs),
    submitted: 0n,
    completed: 0n,
    failed: 0n,
    cancelled: 0n,
  }));
  const at = (r: BucketRow) => grid[Math.round((r.bucket.getTime() - origin) / q.bucketMs)];
  for (const r of created) {
    const b = at(r);
    if (b !== undefined) b.submitted += BigInt(r.jobs);
  }
  for (const r of finished) {
    const b = at(r);
    if (b !== undefined && r.status !== "pending" && r.status !== "processing") b[r.status] += BigInt(r.jobs);
  }
  return grid;
}

/** Seconds (float8, microsecond resolution) to whole microseconds. */
const micros = (seconds: number | undefined): number | undefined =>
  seconds === undefined ? undefined : Math.round(seconds * 1_000_000);

function summary(count: string, percentiles: number[] | null): DurationSummary {
  if (percentiles === null) return { count: BigInt(count) };
  return { count: BigInt(count), p50Us: micros(percentiles[0]), p95Us: micros(percentiles[1]), p99Us: micros(percentiles[2]) };
}
