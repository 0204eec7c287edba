-- Why: the scheduler's reconciler asks history, every RECONCILE_INTERVAL_MS, for the jobs that are
-- not finished and whose row last changed before a moment (ListUnfinishedJobs), oldest first,
-- keyset-paged on (updated_at, id). A partial index on exactly those rows serves that range scan
-- in order and stays as small as the backlog: finished jobs, the bulk of the table, leave it.
-- The statement repeats the predicate `status IN ('pending', 'processing')` word for word so
-- the planner can prove the index applies.

-- Up Migration

CREATE INDEX idx_jobs_unfinished_updated ON jobs (updated_at, id)
    WHERE status IN ('pending', 'processing');

-- Down Migration

DROP INDEX idx_jobs_unfinished_updated;
