import type { Queryable } from "../queryable.js";
import type { JobEventTypeText, JobStatusText, JsonObject, JsonValue } from "../rows.js";
import { findClashes, sortedRefs } from "./clashing-events.js";

/** One transition to record, as the scheduler's outbox holds it. */
export interface NewJobEvent {
  jobId: string;
  /** Position in the job's trail, from 1 without gaps. */
  seq: number;
  type: JobEventTypeText;
  /** Status of the job after this transition. */
  status: JobStatusText;
  attempt: number;
  workerId: string | null;
  error: string | null;
  actor: string;
  /** Result of a 'completed' event; undefined when there is none. */
  result: JsonValue | undefined;
  details: JsonObject | null;
  occurredAt: Date;
  /** Lease token of the attempt; null outside any lease. */
  leaseId: string | null;
  /** Why the transition happened (a snake_case code); null when the sender gave none. */
  reason: string | null;
}

export interface AppendEventsResult {
  /** Events newly recorded; an event recorded before counts zero. */
  appended: number;
  /** Jobs whose row changed. */
  moved: number;
  /** Jobs history does not know, sorted; their events were skipped. */
  unknownJobIds: string[];
  /**
   * Events of known jobs whose (job_id, seq) the trail holds for another transition (another
   * type or attempt), sorted by job id and seq, each once: they were not recorded.
   */
  clashingEvents: EventRef[];
}

/** One position of a job's trail. */
export interface EventRef {
  jobId: string;
  seq: number;
}

const TERMINAL = "('completed', 'failed', 'cancelled')";

/**
 * Rows a worker's outcome counts are spread over: each AppendEvents statement adds to one, at
 * random, so batches of one busy worker applied at once seldom queue on one row lock.
 */
export const WORKER_COUNT_STRIPES = 8;

// The job row is a fold of its recorded events, computed from the current row (j) and the
// summary (b) of the events this statement recorded only: an event refused as a clash never
// shapes it, and one recorded before (a replay) already has. Written this way, a concurrent
// batch for the same job cannot be lost: under READ COMMITTED, UPDATE re-reads a row changed by
// a concurrent commit and evaluates these expressions again on the new version. And every rule
// is order-free, so events applied twice, in any order or split over batches, give the same row.

/** The job takes the status of the batch's newest event; a terminal status never changes. */
const MOVES = `(j.status NOT IN ${TERMINAL} AND (b.seq > j.last_seq OR b.status IN ${TERMINAL}))`;
/** started_at and worker_id belong to the highest attempt; attempts only grow. */
const STARTS = "(b.start_attempt >= j.attempts)";

/**
 * What every update of a job row sets. `error` and `search` are not among them: only the update
 * of a job whose error changes sets them ({@link APPEND_EVENTS_SQL}), swapping the error's words
 * in the vector (`taskflow_search_with_error`, which keeps the payload's words as InsertJobs
 * left them, secrets already out); every other transition leaves the vector alone.
 */
const MOVE_SETS = `
    status = CASE WHEN ${MOVES} THEN b.status ELSE j.status END,
    last_seq = CASE WHEN ${MOVES} THEN b.seq ELSE j.last_seq END,
    result = CASE WHEN ${MOVES} AND b.type = 'completed' THEN b.result ELSE j.result END,
    completed_at = CASE WHEN ${MOVES} AND b.status IN ${TERMINAL} THEN b.occurred_at
                        ELSE j.completed_at END,
    attempts = greatest(j.attempts, b.max_attempt),
    started_at = CASE WHEN ${STARTS} THEN b.start_at ELSE j.started_at END,
    worker_id = CASE WHEN ${STARTS} THEN b.start_worker ELSE coalesce(j.worker_id, b.worker_id) END,
    updated_at = now()`;

/**
 * Applies a batch of events in one statement: records each event once
 * (`ON CONFLICT (job_id, seq) DO NOTHING`) and moves each job to its newest event, writing each
 * job's row once whatever number of its events the batch holds. Only the events it records, up
 * to a job's first terminal event, shape the row, so a late 'started' never moves a finished job
 * back. error is the newest recorded event's error that had one, by seq (error_seq remembers
 * which). Events of unknown jobs are skipped and reported. Each newly recorded 'completed',
 * 'retry_scheduled' or 'failed' event of a worker adds to that worker's completed or failed count
 * in worker_outcome_counts, on the stripe `$14`; counting only rows the INSERT returned keeps the
 * counts exact when a batch is applied again.
 *
 * Clashes. An event whose (job_id, seq) the trail already holds for another transition (another
 * type or attempt) is not recorded and is reported; one equal in type and attempt is a replay.
 * Within a batch the first of two events of one (job_id, seq) is recorded. Only the events the
 * INSERT did not return as they are (`unmatched`, usually none) are judged, against what the
 * trail holds at their position: from RETURNING (this statement's rows) or the snapshot (`prior`:
 * one primary-key probe per skipped position, which the LIMIT keeps a probe whatever the
 * statistics say, never a scan of the trail). An event skipped for a row neither shows was
 * recorded by a statement that committed after the snapshot (it held the job's lock first), and
 * is answered in `unseen` for the caller to compare.
 *
 * Lock order. Replicas apply overlapping batches at once (the same jobs, in any order), and an
 * UPDATE locks rows in whatever order its plan visits them (physical order, which differs
 * between snapshots), so two such statements used to deadlock. `locked` therefore takes every
 * known job's row lock first, in id order, and everything else reads from it: the event
 * INSERT sorts all of `known` (a join on `locked`) before its first row, so no event is written
 * before every lock is held. After that no wait can close a cycle: the UPDATEs change only rows
 * already held; an event (job_id, seq) is written only under its job's lock, so two statements
 * meeting on one are already ordered by that lock; and worker_outcome_counts rows come after
 * every job lock (they count what the INSERT returned), in worker_id order, on one stripe.
 * `locked` also reads the newest committed version of each row (READ COMMITTED re-reads a row
 * it waited for), and a job deleted meanwhile (retention) is reported unknown. Whether a job's
 * error changes is decided from that version, which no one else can change before this commits.
 */
export const APPEND_EVENTS_SQL = `
WITH input AS (
  SELECT *
  FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
              $8::text[], $9::jsonb[], $10::jsonb[], $11::timestamptz[], $12::text[], $13::text[])
    WITH ORDINALITY AS e(job_id, seq, type, status, attempt, worker_id, error, actor, result,
                         details, occurred_at, lease_id, reason, ord)
),
locked AS MATERIALIZED (
  SELECT j.id, j.status IN ${TERMINAL} AS job_final, j.last_seq AS job_last_seq,
         j.error_seq AS job_error_seq
  FROM jobs j
  WHERE j.id = ANY($1::uuid[])
  ORDER BY j.id
  FOR NO KEY UPDATE
),
known AS (
  SELECT e.*
  FROM input e
  JOIN locked l ON l.id = e.job_id
),
appended AS (
  INSERT INTO job_events (job_id, seq, type, status, attempt, worker_id, error, actor, result,
                          details, occurred_at, lease_id, reason)
  SELECT job_id, seq, type, status, attempt, worker_id, error, actor, result, details, occurred_at,
         lease_id, reason
  FROM known
  ORDER BY job_id, seq, ord
  ON CONFLICT (job_id, seq) DO NOTHING
  RETURNING job_id, seq, type, status, attempt, worker_id, error, result, occurred_at
),
unmatched AS (
  SELECT job_id, seq, type, attempt FROM known
  EXCEPT
  SELECT job_id, seq, type, attempt FROM appended
),
prior AS (
  SELECT s.job_id, s.seq, p.type, p.attempt
  FROM (SELECT job_id, seq FROM unmatched EXCEPT SELECT job_id, seq FROM appended) s
  CROSS JOIN LATERAL (
    SELECT e.type, e.attempt FROM job_events e
    WHERE e.job_id = s.job_id AND e.seq = s.seq
    LIMIT 1
  ) p
),
verdicts AS (
  SELECT DISTINCT u.job_id, u.seq, h.job_id IS NULL AS unseen,
         coalesce(h.type <> u.type OR h.attempt <> u.attempt, false) AS clashes
  FROM unmatched u
  LEFT JOIN (SELECT job_id, seq, type, attempt FROM appended
             UNION ALL
             SELECT job_id, seq, type, attempt FROM prior) h USING (job_id, seq)
),
worker_outcomes AS (
  SELECT worker_id,
         count(*) FILTER (WHERE type = 'completed') AS completed,
         count(*) FILTER (WHERE type IN ('retry_scheduled', 'failed')) AS failed
  FROM appended
  WHERE worker_id IS NOT NULL AND type IN ('completed', 'retry_scheduled', 'failed')
  GROUP BY worker_id
),
counted AS (
  INSERT INTO worker_outcome_counts AS c (worker_id, stripe, completed, failed)
  SELECT worker_id, $14::smallint, completed, failed
  FROM worker_outcomes
  ORDER BY worker_id
  ON CONFLICT (worker_id, stripe) DO UPDATE SET
    completed = c.completed + excluded.completed,
    failed = c.failed + excluded.failed
),
recorded AS (
  SELECT a.*, l.job_final, l.job_last_seq, l.job_error_seq
  FROM appended a
  JOIN locked l ON l.id = a.job_id
),
first_terminal AS (
  SELECT job_id, min(seq) AS seq FROM recorded WHERE status IN ${TERMINAL} GROUP BY job_id
),
shaping AS (
  SELECT r.*
  FROM recorded r
  LEFT JOIN first_terminal t USING (job_id)
  WHERE r.seq <= coalesce(t.seq, r.seq) AND NOT (r.job_final AND r.seq > r.job_last_seq)
),
newest AS (
  SELECT DISTINCT ON (job_id) * FROM shaping ORDER BY job_id, seq DESC
),
last_start AS (
  SELECT DISTINCT ON (job_id) job_id, attempt, worker_id, occurred_at
  FROM shaping WHERE type = 'started'
  ORDER BY job_id, attempt DESC, seq DESC
),
last_error AS (
  SELECT DISTINCT ON (job_id) job_id, seq, error
  FROM shaping WHERE error IS NOT NULL
  ORDER BY job_id, seq DESC
),
batch AS (
  SELECT n.job_id, n.seq, n.type, n.status, n.worker_id, n.result, n.occurred_at, a.max_attempt,
         s.attempt AS start_attempt, s.worker_id AS start_worker, s.occurred_at AS start_at,
         le.seq AS error_seq, le.error,
         coalesce(le.seq > coalesce(n.job_error_seq, 0), false) AS new_error
  FROM newest n
  JOIN (SELECT job_id, max(attempt) AS max_attempt FROM shaping GROUP BY job_id) a USING (job_id)
  LEFT JOIN last_start s USING (job_id)
  LEFT JOIN last_error le USING (job_id)
),
moved AS (
  UPDATE jobs j SET ${MOVE_SETS}
  FROM batch b
  WHERE j.id = b.job_id AND NOT b.new_error
    AND (${MOVES}
      OR b.max_attempt > j.attempts
      OR (${STARTS} AND (b.start_at IS DISTINCT FROM j.started_at
                         OR b.start_worker IS DISTINCT FROM j.worker_id))
      OR (j.worker_id IS NULL AND b.worker_id IS NOT NULL))
  RETURNING 1
),
moved_with_error AS (
  UPDATE jobs j SET ${MOVE_SETS},
    error = b.error,
    error_seq = b.error_seq,
    search = taskflow_search_with_error(j.search, b.error)
  FROM batch b
  WHERE j.id = b.job_id AND b.new_error
  RETURNING 1
)
SELECT (SELECT count(*)::int FROM appended) AS appended,
       (SELECT count(*)::int FROM moved) + (SELECT count(*)::int FROM moved_with_error) AS moved,
       ARRAY(SELECT DISTINCT e.job_id::text FROM input e
             WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = e.job_id)
             ORDER BY 1) AS unknown_job_ids,
       (SELECT coalesce(json_agg(json_build_object('jobId', job_id, 'seq', seq) ORDER BY job_id, seq), '[]')
        FROM verdicts WHERE clashes) AS clashing,
       (SELECT coalesce(json_agg(json_build_object('jobId', job_id, 'seq', seq)), '[]')
        FROM verdicts WHERE unseen) AS unseen`;

interface AppendRow {
  appended: number;
  moved: number;
  unknown_job_ids: string[];
  clashing: EventRef[];
  unseen: EventRef[];
}

/**
 * Applies `events` (see {@link APPEND_EVENTS_SQL}); one statement for the whole batch, and one
 * read more only when it skipped an event for a row a concurrent batch committed after its
 * snapshot ({@link findClashes}).
 * @returns how many events were new, how many jobs changed, the unknown job ids and the
 *   clashing events.
 */
export async function appendEvents(db: Queryable, events: readonly NewJobEvent[]): Promise<AppendEventsResult> {
  if (events.length === 0) return { appended: 0, moved: 0, unknownJobIds: [], clashingEvents: [] };
  const { rows } = await db.query<AppendRow>({
    name: "history_append_events",
    text: APPEND_EVENTS_SQL,
    values: [
      events.map((e) => e.jobId),
      events.map((e) => e.seq),
      events.map((e) => e.type),
      events.map((e) => e.status),
      events.map((e) => e.attempt),
      events.map((e) => e.workerId),
      events.map((e) => e.error),
      events.map((e) => e.actor),
      events.map((e) => (e.result === undefined ? null : JSON.stringify(e.result))),
      events.map((e) => (e.details === null ? null : JSON.stringify(e.details))),
      events.map((e) => e.occurredAt.toISOString()),
      events.map((e) => e.leaseId),
      events.map((e) => e.reason),
      Math.floor(Math.random() * WORKER_COUNT_STRIPES),
    ],
  });
  const row = rows[0] as AppendRow;
  const clashingEvents =
    row.unseen.length === 0 ? row.clashing : sortedRefs([...row.clashing, ...(await findClashes(db, events, row.unseen))]);
  return { appended: row.appended, moved: row.moved, unknownJobIds: row.unknown_job_ids, clashingEvents };
}
