-- Why: history is TaskFlow's durable record of every job and worker (DESIGN.md, Storage).
-- These are the `jobs` and `workers` tables and indexes of ADR-002, changed for the
-- taskflow.v1 contract:
--   * jobs.id is a uuid: the scheduler assigns time-ordered UUIDv7 ids, so `ORDER BY id DESC`
--     is newest first and keyset pages need no second sort column.
--   * queue, priority, timeout_ms and idempotency_key are fields of taskflow.v1.Job; a unique
--     partial index on idempotency_key makes a repeated submit return the original job.
--   * last_seq is the seq of the newest job_events row applied to the row, and error_seq the
--     seq of the event whose error `error` holds: both let AppendEvents apply events in any
--     order and any number of times with the same outcome.
--   * status is checked against the five statuses of the contract; text replaces varchar(n),
--     since lengths are the API's to validate and a stricter column would only turn an
--     accepted job into a failed insert.
--   * The ADR's single-column status and type indexes become (status, id DESC) and
--     (type, id DESC), and (queue, id DESC) joins them: ListJobs filters on these and pages
--     newest first, and the leading column still serves every query the ADR indexed for.
--   * workers gain the fields of taskflow.v1.Worker; current_job stays for compatibility.

-- Up Migration

CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    type text NOT NULL,
    queue text NOT NULL DEFAULT 'default',
    payload jsonb NOT NULL,
    status text NOT NULL
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    result jsonb,
    error text,
    error_seq int,
    attempts int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL DEFAULT 3,
    priority int NOT NULL DEFAULT 0,
    timeout_ms int,
    idempotency_key text,
    last_seq int NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    scheduled_at timestamptz NOT NULL,
    started_at timestamptz,
    completed_at timestamptz,
    worker_id text
);

CREATE INDEX idx_jobs_status ON jobs (status, id DESC);
CREATE INDEX idx_jobs_type ON jobs (type, id DESC);
CREATE INDEX idx_jobs_queue ON jobs (queue, id DESC);
CREATE INDEX idx_jobs_created_at ON jobs (created_at);
CREATE INDEX idx_jobs_scheduled_at ON jobs (scheduled_at);
CREATE INDEX idx_jobs_payload_gin ON jobs USING GIN (payload);
CREATE UNIQUE INDEX idx_jobs_idempotency_key ON jobs (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE workers (
    id text PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('healthy', 'gone')),
    last_seen timestamptz NOT NULL,
    job_types jsonb NOT NULL,
    current_job text,
    metadata jsonb,
    queues jsonb NOT NULL DEFAULT '[]',
    concurrency int NOT NULL DEFAULT 0,
    hostname text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL DEFAULT now(),
    current_jobs jsonb NOT NULL DEFAULT '[]'
);

CREATE INDEX idx_workers_status ON workers (status);
CREATE INDEX idx_workers_last_seen ON workers (last_seen);

-- Down Migration

DROP TABLE workers;
DROP TABLE jobs;
