import type { Queryable } from "../queryable.js";
import { EXCLUSIVE_LOCKS_CTE, RELATION_SIZES_CTE } from "./relation-sizes.js";

/** Growth is reported once the samples of a relation span at least this long, in seconds. */
export const MIN_GROWTH_SPAN_SECONDS = 3_600;

/**
 * One row per table and partition (see {@link RELATION_SIZES_CTE}): sizes, tuples and vacuum state
 * from pg_stat_user_tables, summed over the leaves of a partitioned table (its timestamps are
 * the latest of its leaves). Growth per day compares the newest sample of the last 7 days with
 * the oldest, divided by the real time between them, once that is at least `$1` seconds.
 * Parents come first, each followed by its partitions.
 */
export const TABLE_STATS_SQL = `
${RELATION_SIZES_CTE},
growth AS (
  SELECT relation,
         (array_agg(total_bytes ORDER BY sampled_at DESC))[1]
           - (array_agg(total_bytes ORDER BY sampled_at))[1] AS delta_bytes,
         extract(epoch FROM max(sampled_at) - min(sampled_at))::float8 AS span_s
  FROM table_size_samples
  WHERE sampled_at >= now() - interval '7 days'
  GROUP BY relation
)
SELECT s.name, s.parent, s.total_bytes, s.index_bytes,
       CASE WHEN g.span_s >= $1 THEN round(g.delta_bytes::float8 * 86400 / g.span_s)::bigint ELSE 0 END
         AS growth_bytes_per_day,
       coalesce(sum(t.n_live_tup), 0)::bigint AS live_tuples,
       coalesce(sum(t.n_dead_tup), 0)::bigint AS dead_tuples,
       max(t.last_vacuum) AS last_vacuum, max(t.last_autovacuum) AS last_autovacuum,
       max(t.last_analyze) AS last_analyze, max(t.last_autoanalyze) AS last_autoanalyze
FROM sizes s
LEFT JOIN leaves l ON l.rel = s.oid
LEFT JOIN pg_stat_user_tables t ON t.relid = l.leaf
LEFT JOIN growth g ON g.relation = s.name
GROUP BY s.oid, s.name, s.parent, s.total_bytes, s.index_bytes, g.span_s, g.delta_bytes
ORDER BY coalesce(nullif(s.parent, ''), s.name), s.parent <> '', s.name`;

/**
 * Every index of the history schema's tables and partitions, by table and name. An index
 * someone holds or awaits an ACCESS EXCLUSIVE lock on is estimated from pg_class.relpages,
 * as in {@link RELATION_SIZES_CTE}, not opened.
 */
export const INDEX_STATS_SQL = `
WITH ${EXCLUSIVE_LOCKS_CTE}
SELECT s.indexrelname::text AS name, s.relname::text AS table,
       CASE WHEN EXISTS (SELECT 1 FROM exclusive e WHERE e.relation = s.indexrelid)
            THEN current_setting('block_size')::bigint * greatest(c.relpages, 0)
            ELSE coalesce(pg_relation_size(s.indexrelid), 0) END AS bytes,
       s.idx_scan AS scans
FROM pg_stat_user_indexes s
JOIN pg_class c ON c.oid = s.indexrelid
WHERE s.schemaname = current_schema()
ORDER BY s.relname, s.indexrelname`;

/**
 * Sessions of this database waiting for a lock, longest wait first. The wait is measured from
 * pg_locks.waitstart (when the wait began), or from the start of the session's query in the
 * instant before PostgreSQL sets it. The query text is cut to `$1` characters.
 */
export const LOCK_WAITS_SQL = `
SELECT a.pid, left(coalesce(a.query, ''), $1) AS query, l.locktype AS lock_type, l.mode,
       coalesce(l.relation::regclass::text, '') AS relation,
       (extract(epoch FROM now() - coalesce(l.waitstart, a.query_start)) * 1000)::float8 AS waiting_ms,
       pg_blocking_pids(a.pid) AS blocking_pids
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = current_database()
ORDER BY waiting_ms DESC NULLS LAST, a.pid`;

/** Whether pg_stat_statements is installed in this database. */
export const PG_STAT_STATEMENTS_INSTALLED_SQL = `SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`;

/** The `$1` statements of this database with the most execution time (PostgreSQL 13+ columns). */
export const SERVER_STATEMENTS_SQL = `
SELECT left(query, $2) AS query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY total_exec_time DESC
LIMIT $1`;

/**
 * Whether the server is a standby, and how long ago the last transaction it replayed committed
 * on the primary. On an idle primary that age grows though nothing is behind.
 */
export const REPLICA_STATE_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS lag_ms`;

/** Standbys streaming from this server, with their lags (NULL once a standby is idle and caught up). */
export const STANDBYS_SQL = `
SELECT coalesce(application_name, '') AS application_name, coalesce(host(client_addr), '') AS client_addr,
       coalesce(state, '') AS state,
       (extract(epoch FROM write_lag) * 1000)::float8 AS write_lag_ms,
       (extract(epoch FROM flush_lag) * 1000)::float8 AS flush_lag_ms,
       (extract(epoch FROM replay_lag) * 1000)::float8 AS replay_lag_ms
FROM pg_stat_replication
ORDER BY application_name, pid`;

/** One row of {@link TABLE_STATS_SQL}; bigint columns as pg returns them, decimal strings. */
export interface TableStatsRow {
  name: string;
  /** Empty for a table that is not a partition. */
  parent: string;
  total_bytes: string;
  index_bytes: string;
  growth_bytes_per_day: string;
  live_tuples: string;
  dead_tuples: string;
  last_vacuum: Date | null;
  last_autovacuum: Date | null;
  last_analyze: Date | null;
  last_autoanalyze: Date | null;
}

/** One row of {@link INDEX_STATS_SQL}. */
export interface IndexStatsRow {
  name: string;
  table: string;
  bytes: string;
  scans: string;
}

/** One row of {@link LOCK_WAITS_SQL}. */
export interface LockWaitRow {
  pid: number;
  query: string;
  lock_type: string;
  mode: string;
  /** Empty when the lock is not on a relation. */
  relation: string;
  waiting_ms: number | null;
  blocking_pids: number[];
}

/** One row of {@link SERVER_STATEMENTS_SQL}. */
export interface ServerStatementRow {
  query: string;
  calls: string;
  total_ms: number;
  mean_ms: number;
  rows: string;
}

/** The row of {@link REPLICA_STATE_SQL}. */
export interface ReplicaStateRow {
  in_recovery: boolean;
  /** NULL when the server has replayed nothing (a primary, or a standby that just started). */
  lag_ms: number | null;
}

/** One row of {@link STANDBYS_SQL}. */
export interface StandbyRow {
  application_name: string;
  client_addr: string;
  state: string;
  write_lag_ms: number | null;
  flush_lag_ms: number | null;
  replay_lag_ms: number | null;
}

/** SQLSTATE of a statement refused for want of a privilege. */
const INSUFFICIENT_PRIVILEGE = "42501";

const sqlState = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/**
 * `work`'s rows, or none when the role may not read the view: an operator still gets every
 * section it can read. Any other failure (database down, timeout) is thrown.
 */
async function readable<R>(work: Promise<R[]>): Promise<R[]> {
  try {
    return await work;
  } catch (err) {
    if (sqlState(err) === INSUFFICIENT_PRIVILEGE) return [];
    throw err;
  }
}

/** Tables and partitions with sizes, tuples, vacuum state and growth (see {@link TABLE_STATS_SQL}). */
export async function readTableStats(db: Queryable): Promise<TableStatsRow[]> {
  return readable(
    db
      .query<TableStatsRow>({ name: "history_dbstats_tables", text: TABLE_STATS_SQL, values: [MIN_GROWTH_SPAN_SECONDS] })
      .then((r) => r.rows),
  );
}

/** Indexes with size and scan count (see {@link INDEX_STATS_SQL}). */
export async function readIndexStats(db: Queryable): Promise<IndexStatsRow[]> {
  return readable(db.query<IndexStatsRow>({ name: "history_dbstats_indexes", text: INDEX_STATS_SQL }).then((r) => r.rows));
}

/** Sessions waiting for a lock (see {@link LOCK_WAITS_SQL}); query texts cut to `queryChars`. */
export async function readLockWaits(db: Queryable, queryChars: number): Promise<LockWaitRow[]> {
  return readable(
    db.query<LockWaitRow>({ name: "history_dbstats_lock_waits", text: LOCK_WAITS_SQL, values: [queryChars] }).then((r) => r.rows),
  );
}

/**
 * The `limit` statements of this database with the most execution time, or `undefined` when
 * pg_stat_statements cannot be read: not installed, installed but its library not preloaded
 * (reading it raises 55000), or not reachable by this role (class 42: privilege, missing view).
 */
export async function readServerStatements(
  db: Queryable,
  limit: number,
  queryChars: number,
): Promise<ServerStatementRow[] | undefined> {
  const installed = await db.query({ name: "history_dbstats_pgss_installed", text: PG_STAT_STATEMENTS_INSTALLED_SQL });
  if (installed.rows.length === 0) return undefined;
  try {
    const res = await db.query<ServerStatementRow>({
      name: "history_dbstats_server_statements",
      text: SERVER_STATEMENTS_SQL,
      values: [limit, queryChars],
    });
    return res.rows;
  } catch (err) {
    const state = sqlState(err);
    if (state === "55000" || state?.startsWith("42")) return undefined;
    throw err;
  }
}

/** Recovery state and replay lag of the server `db` runs on (see {@link REPLICA_STATE_SQL}). */
export async function readReplicaState(db: Queryable): Promise<ReplicaStateRow> {
  const { rows } = await db.query<ReplicaStateRow>({ name: "history_dbstats_replica_state", text: REPLICA_STATE_SQL });
  return rows[0] ?? { in_recovery: false, lag_ms: null };
}

/** Standbys streaming from the server `db` runs on (see {@link STANDBYS_SQL}). */
export async function readStandbys(db: Queryable): Promise<StandbyRow[]> {
  return readable(db.query<StandbyRow>({ name: "history_dbstats_standbys", text: STANDBYS_SQL }).then((r) => r.rows));
}
