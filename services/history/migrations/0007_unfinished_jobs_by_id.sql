-- Why: the scheduler's reconciler no longer rereads every unfinished job on every run. It keeps a
-- cursor in job-id order (UUIDv7, so creation order) and asks ListUnfinishedJobs only for the
-- unfinished jobs created since its last run, and for all of them only after Redis lost its data.
-- A partial index on the ids of exactly those rows serves that walk in order, partition by
-- partition, and stays as small as the backlog. The (updated_at, id) index it replaces served
-- the old walk by last change, which nothing reads any more. The statement repeats the predicate
-- `status IN ('pending', 'processing')` word for word so the planner can prove the index applies.

-- Up Migration

CREATE INDEX idx_jobs_unfinished_id ON jobs (id)
    WHERE status IN ('pending', 'processing');

DROP INDEX idx_jobs_unfinished_updated;

-- Down Migration

CREATE INDEX idx_jobs_unfinished_updated ON jobs (updated_at, id)
    WHERE status IN ('pending', 'processing');

DROP INDEX idx_jobs_unfinished_id;
