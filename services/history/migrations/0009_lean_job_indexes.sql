-- Why: every index of `jobs` takes a new entry at every insert and at every update of a row (no
-- update of a job is HOT: each transition changes a column some index needs), so an index no
-- query needs is paid for three or four times per job. Each index now serves a statement of
-- services/history/src/db/queries (the table in services/history/README.md says which):
--   * idx_jobs_scheduled_at goes: no statement filters or sorts on scheduled_at.
--   * idx_jobs_status (status, id) goes. Every transition changes status, so it took an entry
--     at each one, for lists that other indexes serve: pending and processing jobs through
--     idx_jobs_unfinished_id, completed jobs (most of the table) through the primary key walked in
--     id order, and failed and cancelled jobs through idx_jobs_failed_cancelled, an (id, status)
--     index of those rows only, walked in id order like the unfinished one (status second, so a
--     list of one of the two statuses skips the other's entries without reading their rows). A
--     terminal status never changes, so it takes one entry per failed or cancelled job, in the
--     update that ends it. ListJobs repeats its predicate `status IN ('failed', 'cancelled')`
--     word for word, so that the planner can prove it applies.
--   * idx_jobs_worker keeps only rows with a worker: a pending job has none, and no query looks
--     for jobs without one (`worker_id = $n` implies `worker_id IS NOT NULL`).
--   * idx_job_events_errors serves GetStats' top errors: the events of failed attempts that carry
--     an error, about 2 % of the trail. The statement read every event of its window through
--     idx_job_events_occurred_at to keep those; it now reads only them, without visiting the
--     table (INCLUDE). Its predicate is the statement's, word for word.
-- The new indexes are built inside this migration's transaction, which blocks writes to jobs and
-- job_events for as long as the build reads them: right for the installations this release
-- meets; on a table too large for that, build each partition's index with CREATE INDEX
-- CONCURRENTLY first and attach it (services/history/README.md, schema changes).

-- Up Migration

DROP INDEX idx_jobs_scheduled_at;

DROP INDEX idx_jobs_status;
CREATE INDEX idx_jobs_failed_cancelled ON jobs (id, status)
    WHERE status IN ('failed', 'cancelled');

DROP INDEX idx_jobs_worker;
CREATE INDEX idx_jobs_worker ON jobs (worker_id, id)
    WHERE worker_id IS NOT NULL;

CREATE INDEX idx_job_events_errors ON job_events (occurred_at) INCLUDE (error, job_id)
    WHERE type IN ('retry_scheduled', 'failed', 'lease_expired') AND error IS NOT NULL;

-- Down Migration

DROP INDEX idx_job_events_errors;

DROP INDEX idx_jobs_worker;
CREATE INDEX idx_jobs_worker ON jobs (worker_id, id);

DROP INDEX idx_jobs_failed_cancelled;
CREATE INDEX idx_jobs_status ON jobs (status, id);

CREATE INDEX idx_jobs_scheduled_at ON jobs (scheduled_at);
