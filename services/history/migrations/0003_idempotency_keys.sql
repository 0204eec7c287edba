-- Why: an idempotency key must be honoured for a configured window (IDEMPOTENCY_WINDOW_MS), not
-- for as long as its job row happens to be kept, and not forever. The unique partial index on
-- jobs.idempotency_key tied the two together: a key could never be used again, and deleting old
-- jobs would silently free their keys. Keys move to a table of their own:
--   * key is the primary key, so two submits racing on one key are settled by PostgreSQL's
--     unique check (INSERT ... ON CONFLICT), never by a check-then-insert in application code.
--   * expires_at ends the window: InsertJobs takes over an expired key (ON CONFLICT DO UPDATE
--     ... WHERE expires_at <= now()) and leaves a live one to its job.
--   * job_id has no foreign key to jobs, so retention of jobs and of keys stay independent.
--   * the expires_at index serves the purge loop, which deletes expired keys in batches.
-- Existing keys are carried over as if the default 24 h window had applied since their job was
-- created. jobs.idempotency_key stays, for display.

-- Up Migration

CREATE TABLE idempotency_keys (
    key text PRIMARY KEY,
    job_id uuid NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX idx_idempotency_keys_expires_at ON idempotency_keys (expires_at);

INSERT INTO idempotency_keys (key, job_id, expires_at)
SELECT idempotency_key, id, created_at + interval '24 hours'
FROM jobs
WHERE idempotency_key IS NOT NULL;

DROP INDEX idx_jobs_idempotency_key;

-- Down Migration

-- Only the oldest job of a key keeps it, or the unique index could not be built again.
UPDATE jobs j SET idempotency_key = NULL
WHERE j.idempotency_key IS NOT NULL
  AND EXISTS (SELECT 1 FROM jobs o WHERE o.idempotency_key = j.idempotency_key AND o.id < j.id);

CREATE UNIQUE INDEX idx_jobs_idempotency_key ON jobs (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

DROP TABLE idempotency_keys;
