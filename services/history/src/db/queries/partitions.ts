import type { Queryable } from "../queryable.js";

/** One partition of `jobs` or `job_events`, with its bounds. */
export interface PartitionInfo {
  /** Table name, e.g. `jobs_p20261101`, `job_events_default`. */
  table: string;
  parent: "jobs" | "job_events";
  /** The DEFAULT partition, which holds ids outside every day partition; it has no bounds. */
  isDefault: boolean;
  /** Lowest id of the range (inclusive); null for the DEFAULT partition. */
  fromId: string | null;
  /** End of the range (exclusive); null for the DEFAULT partition. */
  toId: string | null;
  /** Time of `fromId` (a UUIDv7's timestamp); null for the DEFAULT partition. */
  from: Date | null;
  /** Time of `toId`; null for the DEFAULT partition. */
  to: Date | null;
}

/**
 * The partitions of `jobs` and `job_events` from the catalog, bounds parsed out of
 * `pg_get_expr(relpartbound)` (`FOR VALUES FROM ('<uuid>') TO ('<uuid>')`, or `DEFAULT`).
 * DEFAULT partitions first, then by parent and lower bound.
 */
export const LIST_PARTITIONS_SQL = `
SELECT c.relname AS table_name,
       p.relname AS parent,
       b.bound = 'DEFAULT' AS is_default,
       r.m[1] AS from_id,
       r.m[2] AS to_id,
       taskflow_uuid_time(r.m[1]::uuid) AS from_time,
       taskflow_uuid_time(r.m[2]::uuid) AS to_time
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
CROSS JOIN LATERAL (
  SELECT regexp_match(b.bound, '^FOR VALUES FROM \\(''([0-9a-f-]{36})''\\) TO \\(''([0-9a-f-]{36})''\\)$') AS m
) r
WHERE i.inhparent IN ('jobs'::regclass, 'job_events'::regclass)
ORDER BY b.bound = 'DEFAULT' DESC, p.relname, r.m[1]`;

interface PartitionRow {
  table_name: string;
  parent: "jobs" | "job_events";
  is_default: boolean;
  from_id: string | null;
  to_id: string | null;
  from_time: Date | null;
  to_time: Date | null;
}

/** Reads every partition of `jobs` and `job_events` with its bounds (see {@link LIST_PARTITIONS_SQL}). */
export async function listPartitions(db: Queryable): Promise<PartitionInfo[]> {
  const { rows } = await db.query<PartitionRow>({ name: "history_list_partitions", text: LIST_PARTITIONS_SQL });
  return rows.map((r) => ({
    table: r.table_name,
    parent: r.parent,
    isDefault: r.is_default,
    fromId: r.from_id,
    toId: r.to_id,
    from: r.from_time,
    to: r.to_time,
  }));
}

/**
 * Creates the day partitions of today (UTC, by the database's clock) and the next `$1` days
 * that do not exist yet; resolves to how many days it created. The function queues replicas on
 * an advisory lock and skips, with a WARNING, a day whose rows already sit in a DEFAULT
 * partition.
 */
export const ENSURE_PARTITIONS_SQL = `
SELECT taskflow_ensure_partitions(today, today + $1::int) AS created
FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS today) t`;

/**
 * Runs {@link ENSURE_PARTITIONS_SQL}. Creating a partition takes an ACCESS EXCLUSIVE lock on
 * the parent, so callers run this in a transaction with a `lock_timeout`.
 * @param aheadDays days after today to cover, at least 0.
 * @returns how many days got their partitions.
 */
export async function ensurePartitions(db: Queryable, aheadDays: number): Promise<number> {
  const { rows } = await db.query<{ created: number }>({
    name: "history_ensure_partitions",
    text: ENSURE_PARTITIONS_SQL,
    values: [aheadDays],
  });
  return rows[0]?.created ?? 0;
}
