import type pg from "pg";
import type { Queryable } from "../queryable.js";
import type { StatementTimings } from "../statements.js";
import { inTransaction, isLockTimeout, setLocalLockTimeout } from "../transaction.js";

/**
 * Longest wait for a lock that reading a relation's size takes, in milliseconds. The size
 * functions open the relation (ACCESS SHARE), which waits behind an ACCESS EXCLUSIVE lock held
 * or awaited by another session; {@link RELATION_SIZES_CTE} estimates such relations instead,
 * and this bounds the wait when such a lock comes between that check and the read.
 */
export const SIZE_LOCK_TIMEOUT_MS = 500;
/** Tries of a size read that ran into {@link SIZE_LOCK_TIMEOUT_MS}; the next try sees the lock. */
const SIZE_READ_TRIES = 3;
/** Samples are kept this many days: growth reads the last 7, and a day more is margin. */
export const SAMPLE_RETENTION_DAYS = 8;

/**
 * `exclusive`: relations of this database someone holds or awaits an ACCESS EXCLUSIVE lock on.
 * Opening one to read its size would wait (a waiting request queues the ones after it too).
 */
export const EXCLUSIVE_LOCKS_CTE = `
exclusive AS (
  SELECT relation FROM pg_locks
  WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
)`;

/**
 * Every table and partition of the history schema (the connection's current schema), with
 * `sizes`: total and index bytes of the leaf tables holding its rows (itself for a plain table
 * or a partition, every leaf below it for a partitioned table, whose own relation is empty).
 * The partition tree is walked in pg_inherits, which takes no locks (pg_partition_tree would
 * lock every partition). A leaf whose heap, TOAST table or an index someone holds or awaits an
 * ACCESS EXCLUSIVE lock on (LOCK TABLE, DROP or DETACH by retention, REINDEX) is `locked`: its
 * size is estimated from pg_class.relpages (as of the last VACUUM or ANALYZE) instead of read,
 * so that a stats call never queues behind it. A fixed fragment that opens `WITH RECURSIVE`.
 */
export const RELATION_SIZES_CTE = `
WITH RECURSIVE rels AS (
  SELECT c.oid, c.relname::text AS name, coalesce(p.relname::text, '') AS parent
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
  LEFT JOIN pg_class p ON p.oid = i.inhparent
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
),
tree AS (
  SELECT oid AS rel, oid AS member FROM rels
  UNION ALL
  SELECT t.rel, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.member
),
${EXCLUSIVE_LOCKS_CTE},
leaves AS (
  SELECT t.rel, c.oid AS leaf,
         EXISTS (SELECT 1 FROM exclusive e
                 WHERE e.relation IN (c.oid, c.reltoastrelid)
                    OR e.relation IN (SELECT indexrelid FROM pg_index WHERE indrelid = c.oid)) AS locked,
         current_setting('block_size')::bigint * (
           SELECT coalesce(sum(greatest(x.relpages, 0)), 0)
           FROM pg_index ix JOIN pg_class x ON x.oid = ix.indexrelid WHERE ix.indrelid = c.oid
         ) AS index_estimate,
         current_setting('block_size')::bigint * (
           greatest(c.relpages, 0)
           + coalesce((SELECT greatest(tc.relpages, 0) FROM pg_class tc WHERE tc.oid = c.reltoastrelid), 0)
         ) AS heap_estimate
  FROM tree t JOIN pg_class c ON c.oid = t.member
  WHERE c.relkind = 'r'
),
sizes AS (
  -- The size functions give NULL for a relation dropped meanwhile: it counts as empty.
  SELECT r.oid, r.name, r.parent, coalesce(bool_or(l.locked), false) AS locked,
         coalesce(sum(CASE WHEN l.locked THEN l.heap_estimate + l.index_estimate
                           ELSE pg_total_relation_size(l.leaf) END), 0)::bigint AS total_bytes,
         coalesce(sum(CASE WHEN l.locked THEN l.index_estimate
                           ELSE pg_indexes_size(l.leaf) END), 0)::bigint AS index_bytes
  FROM rels r LEFT JOIN leaves l ON l.rel = r.oid
  GROUP BY r.oid, r.name, r.parent
)`;

/**
 * Records the total size of every table and partition now, one row per relation and UTC hour:
 * a later sample in the same hour (another replica, a short interval) replaces the earlier one.
 * A relation being locked is left out this time: an estimate would put noise into its growth.
 */
export const RECORD_TABLE_SIZES_SQL = `
${RELATION_SIZES_CTE}
INSERT INTO table_size_samples (relation, sampled_hour, sampled_at, total_bytes)
SELECT name, date_trunc('hour', now(), 'UTC'), now(), total_bytes FROM sizes WHERE NOT locked
ON CONFLICT (relation, sampled_hour)
DO UPDATE SET sampled_at = EXCLUDED.sampled_at, total_bytes = EXCLUDED.total_bytes`;

/** Deletes samples older than `$1` days. */
export const PURGE_TABLE_SIZE_SAMPLES_SQL = `
DELETE FROM table_size_samples WHERE sampled_hour < now() - $1::int * interval '1 day'`;

/**
 * Runs `body`, which reads relation sizes, in a transaction whose lock waits end after
 * {@link SIZE_LOCK_TIMEOUT_MS}; a body that runs into that is tried again, up to
 * {@link SIZE_READ_TRIES} times in all.
 * @throws Error when every try ran into the timeout, or on any other failure.
 */
export async function withSizeLockTimeout<T>(
  pool: pg.Pool,
  timings: StatementTimings,
  body: (db: Queryable) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(pool, timings, async ({ db }) => {
        await setLocalLockTimeout(db, SIZE_LOCK_TIMEOUT_MS);
        return body(db);
      });
    } catch (err) {
      if (!isLockTimeout(err) || attempt >= SIZE_READ_TRIES) throw err;
    }
  }
}

/**
 * Records one size sample per table and partition that is not being locked (see
 * {@link RECORD_TABLE_SIZES_SQL}); returns how many.
 */
export async function recordTableSizes(db: Queryable): Promise<number> {
  const res = await db.query({ name: "history_record_table_sizes", text: RECORD_TABLE_SIZES_SQL });
  return res.rowCount ?? 0;
}

/** Deletes size samples older than `days` days; returns how many. */
export async function purgeTableSizeSamples(db: Queryable, days = SAMPLE_RETENTION_DAYS): Promise<number> {
  const res = await db.query({
    name: "history_purge_table_size_samples",
    text: PURGE_TABLE_SIZE_SAMPLES_SQL,
    values: [days],
  });
  return res.rowCount ?? 0;
}
