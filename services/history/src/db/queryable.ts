import type pg from "pg";

/** Anything queries run on: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
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
] as const;

/** `a.id, a.type, …` for a table alias. */
export const jobColumns = (alias: string): string => JOB_COLUMNS.map((c) => `${alias}.${c}`).join(", ");
