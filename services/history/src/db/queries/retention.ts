import type { Queryable } from "../queryable.js";
import { jobColumns } from "../queryable.js";
import type { JobEventRow, JobRow } from "../rows.js";

// Statements of retention. A day partition is always addressed through its parent and its id
// range (partition pruning reads only that partition), so no statement text carries a table
// name; the one exception, DROP TABLE, goes through taskflow_drop_day_partitions.

const TERMINAL = "('completed', 'failed', 'cancelled')";

/**
 * Key of the transaction-level advisory lock that one replica at a time holds while it archives
 * and drops a day partition (taskflow_ensure_partitions uses 8389772432466531).
 */
export const RETENTION_PARTITION_LOCK_KEY = "8389772432466532";

/** Retention's cutoff by the database's clock, and the smallest UUIDv7 of that millisecond. */
export const RETENTION_CUTOFF_SQL = `
SELECT c.cutoff, taskflow_uuid_floor(c.cutoff) AS id_floor
FROM (SELECT now() - make_interval(days => $1::int) AS cutoff) c`;

export interface RetentionCutoff {
  /** Jobs finished before this moment are removed. */
  cutoff: Date;
  /** `taskflow_uuid_floor(cutoff)`: every job created before the cutoff has a smaller id. */
  idFloor: string;
}

/** Reads the cutoff of a retention of `days` days (at least 1). */
export async function retentionCutoff(db: Queryable, days: number): Promise<RetentionCutoff> {
  const { rows } = await db.query<{ cutoff: Date; id_floor: string }>({
    name: "history_retention_cutoff",
    text: RETENTION_CUTOFF_SQL,
    values: [days],
  });
  const row = rows[0] as { cutoff: Date; id_floor: string };
  return { cutoff: row.cutoff, idFloor: row.id_floor };
}

/**
 * Whether the day partition `$4` still exists, and whether every job of the id range [$1, $2)
 * is finished before `$3`. Two index probes, whatever the partition's size: no unfinished job
 * (idx_jobs_unfinished_id, whose predicate the first test repeats word for word), no job
 * finished at or after the cutoff (`(completed_at)`). A finished job
 * always has completed_at (AppendEvents sets it in the update that makes the job terminal), so
 * nothing else can keep a day.
 */
export const DAY_EXPIRED_SQL = `
SELECT to_regclass($4::text) IS NOT NULL AS present,
       NOT EXISTS (SELECT 1 FROM jobs
                   WHERE id >= $1::uuid AND id < $2::uuid AND status IN ('pending', 'processing'))
       AND NOT EXISTS (SELECT 1 FROM jobs
                       WHERE id >= $1::uuid AND id < $2::uuid AND completed_at >= $3) AS expired`;

/** A day partition pair, by its id range and its jobs partition's name. */
export interface DayRange {
  fromId: string;
  toId: string;
  /** Name of the jobs partition, e.g. `jobs_p20261101`. */
  jobsTable: string;
}

/** Whether the day still exists and all its jobs are finished before `cutoff` ({@link DAY_EXPIRED_SQL}). */
export async function dayExpired(db: Queryable, day: DayRange, cutoff: Date): Promise<{ present: boolean; expired: boolean }> {
  const { rows } = await db.query<{ present: boolean; expired: boolean }>({
    name: "history_retention_day_expired",
    text: DAY_EXPIRED_SQL,
    values: [day.fromId, day.toId, cutoff, day.jobsTable],
  });
  return rows[0] as { present: boolean; expired: boolean };
}

/** Tries the partition path's advisory lock, held until the transaction ends. */
export async function tryRetentionPartitionLock(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ locked: boolean }>({
    name: "history_retention_try_partition_lock",
    text: "SELECT pg_try_advisory_xact_lock($1::bigint) AS locked",
    values: [RETENTION_PARTITION_LOCK_KEY],
  });
  return rows[0]?.locked === true;
}

/**
 * Locks both parents, jobs first and then job_events: the order every statement of history
 * takes them in. `drop` (ACCESS EXCLUSIVE) comes before dropping a day, which also locks the
 * DEFAULT partitions; `rows` (ROW EXCLUSIVE, which every writer takes anyway) opens a row batch,
 * whose DEFAULT scope reads jobs_default directly and would otherwise lock a partition before
 * its parent, the opposite order to a drop's: the two would deadlock.
 */
export async function lockJobTables(db: Queryable, purpose: "drop" | "rows"): Promise<void> {
  await db.query(
    purpose === "drop"
      ? { name: "history_retention_lock_parents_drop", text: "LOCK TABLE ONLY jobs, ONLY job_events IN ACCESS EXCLUSIVE MODE" }
      : { name: "history_retention_lock_parents_rows", text: "LOCK TABLE ONLY jobs, ONLY job_events IN ROW EXCLUSIVE MODE" },
  );
}

/** Jobs and events of the id range [$1, $2); run under {@link lockJobTables}, nothing can add to them. */
export const DAY_COUNTS_SQL = `
SELECT (SELECT count(*) FROM jobs WHERE id >= $1::uuid AND id < $2::uuid) AS jobs,
       (SELECT count(*) FROM job_events WHERE job_id >= $1::uuid AND job_id < $2::uuid) AS events`;

/** How many jobs and events a day holds ({@link DAY_COUNTS_SQL}). */
export async function dayCounts(db: Queryable, day: DayRange): Promise<{ jobs: number; events: number }> {
  const { rows } = await db.query<{ jobs: string; events: string }>({
    name: "history_retention_day_counts",
    text: DAY_COUNTS_SQL,
    values: [day.fromId, day.toId],
  });
  const row = rows[0] as { jobs: string; events: string };
  return { jobs: Number(row.jobs), events: Number(row.events) };
}

/**
 * Deletes the dependency edges of the children of the id range [$1, $2) (a dropped day's jobs):
 * job_dependencies is not partitioned, so a partition drop leaves them behind otherwise.
 */
export async function deleteDayDependencies(db: Queryable, day: DayRange): Promise<void> {
  await db.query({
    name: "history_retention_delete_day_dependencies",
    text: "DELETE FROM job_dependencies WHERE child_id >= $1::uuid AND child_id < $2::uuid",
    values: [day.fromId, day.toId],
  });
}

/** Drops the job_events and jobs partitions of a UTC day (`YYYY-MM-DD`); false when it had none. */
export async function dropDayPartitions(db: Queryable, day: string): Promise<boolean> {
  const { rows } = await db.query<{ dropped: boolean }>({
    name: "history_retention_drop_day",
    text: "SELECT taskflow_drop_day_partitions($1::date) AS dropped",
    values: [day],
  });
  return rows[0]?.dropped === true;
}

/** A job as archived: its row and its whole trail. */
export interface ArchivedJob {
  job: JobRow;
  events: JobEventRow[];
}

/** Columns of an archive read: the job, and its events as a JSON array in seq order. */
const archiveColumns = (eventsBound: string): string => `${jobColumns("j")},
       coalesce((SELECT json_agg(e ORDER BY e.seq) FROM job_events e WHERE e.job_id = j.id${eventsBound}),
                '[]'::json) AS events`;

/**
 * Every job of the id range [$1, $2) with its events, by id. Read through a cursor, so a day of
 * any size streams in bounded memory; the bound on the events keeps their lookup in one partition.
 */
export const ARCHIVE_DAY_SQL = `
SELECT ${archiveColumns(" AND e.job_id >= $1::uuid AND e.job_id < $2::uuid")}
FROM jobs j
WHERE j.id >= $1::uuid AND j.id < $2::uuid
ORDER BY j.id`;

/** The jobs `$1` with their events, by id: one batch of the row path. */
export const ARCHIVE_JOBS_SQL = `
SELECT ${archiveColumns("")}
FROM jobs j
WHERE j.id = ANY($1::uuid[])
ORDER BY j.id`;

/** A row of {@link ARCHIVE_DAY_SQL} or {@link ARCHIVE_JOBS_SQL}: events come as JSON, timestamps as text. */
export type ArchiveRow = JobRow & { events: (Omit<JobEventRow, "occurred_at" | "recorded_at"> & { occurred_at: string; recorded_at: string })[] };

/** An archive row as the job and event rows the proto mapping takes. */
export function toArchivedJob(row: ArchiveRow): ArchivedJob {
  const { events, ...job } = row;
  return {
    job,
    events: events.map((e) => ({ ...e, occurred_at: new Date(e.occurred_at), recorded_at: new Date(e.recorded_at) })),
  };
}

/** Reads jobs `ids` with their events ({@link ARCHIVE_JOBS_SQL}). */
export async function readArchivedJobs(db: Queryable, ids: readonly string[]): Promise<ArchivedJob[]> {
  const { rows } = await db.query<ArchiveRow>({ name: "history_retention_read_jobs", text: ARCHIVE_JOBS_SQL, values: [ids] });
  return rows.map(toArchivedJob);
}

/** Where the row path looks: the finished part of one day before the cutoff, or the DEFAULT partition. */
export type ExpiredScope = { kind: "range"; fromId: string; toId: string } | { kind: "default" };

const EXPIRED_IN_RANGE = `
FROM jobs
WHERE id >= $1::uuid AND id < $2::uuid AND status IN ${TERMINAL} AND completed_at < $3
ORDER BY id
LIMIT $4`;

/** DEFAULT holds ids of any time (a clock far off), so its whole table is looked at. */
const EXPIRED_IN_DEFAULT = `
FROM jobs_default
WHERE status IN ${TERMINAL} AND completed_at < $1
ORDER BY id
LIMIT $2`;

/**
 * Locks and returns up to `limit` ids of jobs finished before `cutoff`, oldest first. SKIP
 * LOCKED leaves rows another replica's batch holds to that replica.
 */
export async function pickExpiredJobs(db: Queryable, scope: ExpiredScope, cutoff: Date, limit: number): Promise<string[]> {
  const { rows } =
    scope.kind === "range"
      ? await db.query<{ id: string }>({
          name: "history_retention_pick_range",
          text: `SELECT id ${EXPIRED_IN_RANGE} FOR UPDATE SKIP LOCKED`,
          values: [scope.fromId, scope.toId, cutoff, limit],
        })
      : await db.query<{ id: string }>({
          name: "history_retention_pick_default",
          text: `SELECT id ${EXPIRED_IN_DEFAULT} FOR UPDATE SKIP LOCKED`,
          values: [cutoff, limit],
        });
  return rows.map((r) => r.id);
}

/** How many jobs {@link pickExpiredJobs} would find, counting at most `limit`: a dry run's answer. */
export async function countExpiredJobs(db: Queryable, scope: ExpiredScope, cutoff: Date, limit: number): Promise<number> {
  const { rows } =
    scope.kind === "range"
      ? await db.query<{ n: number }>({
          name: "history_retention_count_range",
          text: `SELECT count(*)::int AS n FROM (SELECT 1 ${EXPIRED_IN_RANGE}) x`,
          values: [scope.fromId, scope.toId, cutoff, limit],
        })
      : await db.query<{ n: number }>({
          name: "history_retention_count_default",
          text: `SELECT count(*)::int AS n FROM (SELECT 1 ${EXPIRED_IN_DEFAULT}) x`,
          values: [cutoff, limit],
        });
  return rows[0]?.n ?? 0;
}

/**
 * Deletes the jobs `$1` that are still finished before `$2`, their events and the edges to their
 * parents (job_dependencies: a parent deleted first reads as completed to its children), in one
 * statement. `= ANY($1)` lets every job_events partition answer from its primary key; the
 * `IN (gone)` keeps the events of a job the re-check spared.
 */
export const DELETE_JOBS_SQL = `
WITH gone AS (
  DELETE FROM jobs
  WHERE id = ANY($1::uuid[]) AND status IN ${TERMINAL} AND completed_at < $2
  RETURNING id
),
gone_events AS (
  DELETE FROM job_events
  WHERE job_id = ANY($1::uuid[]) AND job_id IN (SELECT id FROM gone)
  RETURNING 1
),
gone_edges AS (
  DELETE FROM job_dependencies
  WHERE child_id = ANY($1::uuid[]) AND child_id IN (SELECT id FROM gone)
)
SELECT (SELECT count(*) FROM gone)::int AS jobs, (SELECT count(*) FROM gone_events)::int AS events`;

/** Deletes jobs `ids` finished before `cutoff` with their events ({@link DELETE_JOBS_SQL}). */
export async function deleteExpiredJobs(db: Queryable, ids: readonly string[], cutoff: Date): Promise<{ jobs: number; events: number }> {
  const { rows } = await db.query<{ jobs: number; events: number }>({
    name: "history_retention_delete_jobs",
    text: DELETE_JOBS_SQL,
    values: [ids, cutoff],
  });
  return rows[0] as { jobs: number; events: number };
}
