-- Why: handlers report how far a running attempt got (a percent and a small JSON object), and
-- GetJob, WatchJob and WatchJobs show it. Only the latest value is kept, on the job's own row:
-- progress is not a transition, so it writes no `job_events` row (the audit trail holds
-- transitions only).
--   * `progress_attempt` and `progress_at` (the scheduler's clock when it accepted the value)
--     order the values: RecordProgress keeps a value only when it is newer than the stored one,
--     so batches from several scheduler replicas may arrive in any order.
--   * No index names these columns, so a progress update changes no index and PostgreSQL can
--     make it a HOT update when the page has room.
--   * Nullable without defaults: adding them rewrites nothing.

-- Up Migration

ALTER TABLE jobs
    ADD COLUMN progress_percent double precision,
    ADD COLUMN progress_details jsonb,
    ADD COLUMN progress_at timestamptz,
    ADD COLUMN progress_attempt integer;

-- Down Migration

ALTER TABLE jobs
    DROP COLUMN progress_percent,
    DROP COLUMN progress_details,
    DROP COLUMN progress_at,
    DROP COLUMN progress_attempt;
