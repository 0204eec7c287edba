import type pg from "pg";

/**
 * A statement. `name` makes pg prepare it once per connection (the hot statements); a statement
 * that must be planned with its actual values every time (one whose best plan depends on how
 * many rows a window holds) has no name but a `label`, under which it is timed.
 */
export type Statement = pg.QueryConfig & { label?: string };

/** Anything queries run on: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(config: Statement): Promise<pg.QueryResult<R>>;
}

/** Columns of `jobs` in table order, for statements that must name them. */
export const JOB_COLUMNS = [
  "id",
  "type",
  "queue",
  "payload",
  "status",
  "result",
  "error",
  "error_seq",
  "attempts",
  "max_attempts",
  "priority",
  "timeout_ms",
  "idempotency_key",
  "last_seq",
  "created_at",
  "updated_at",
  "scheduled_at",
  "started_at",
  "completed_at",
  "worker_id",
  "schedule_id",
  "progress_percent",
  "progress_details",
  "progress_at",
  "progress_attempt",
] as const;

/** `a.id, a.type, …` for a table alias. */
export const jobColumns = (alias: string, except: readonly string[] = []): string =>
  JOB_COLUMNS.filter((c) => !except.includes(c))
    .map((c) => `${alias}.${c}`)
    .join(", ");
