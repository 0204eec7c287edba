-- Why: history must stay fast on millions of jobs and retention must be cheap. `jobs` and
-- `job_events` become natively range-partitioned by day, so that dropping a day of finished
-- jobs is a `DROP TABLE` of two partitions, not a long DELETE, and a query bounded in time
-- reads only the partitions it needs.
--   * The partition key is the job id. Ids are UUIDv7, whose first 48 bits are the Unix
--     milliseconds at which the scheduler accepted the job, so a day of jobs is one id range.
--     Partitioning on id keeps `PRIMARY KEY (id)`, so a retried InsertJobs batch still meets
--     `ON CONFLICT (id)`; a timestamp key would have to join the primary key and lose that.
--   * `created_at` is from now on the id's timestamp (set by InsertJobs), so a created-time
--     filter is an id range and prunes partitions exactly.
--   * `job_events` is partitioned on `job_id` with the same bounds: a job and its trail live in
--     partitions of the same day and are dropped together. Its key becomes (job_id, seq), which
--     includes the partition key as PostgreSQL requires; the surrogate `id` goes. The foreign
--     key to jobs goes too: AppendEvents only inserts events of jobs it finds, and retention
--     removes events before their jobs.
--   * A DEFAULT partition catches ids outside every day partition (a clock far off), so an
--     insert never fails for want of a partition. `taskflow_ensure_partitions` creates day
--     partitions ahead; the service calls it at start-up and hourly.
--   * `search` is a stored tsvector of the payload's string and number values and of the error
--     message ('simple' configuration: no stemming, since payloads hold identifiers and
--     addresses), GIN-indexed for ListJobs' full-text filter. The payload GIN index switches
--     to jsonb_path_ops, which serves `@>` with a smaller, faster index.
--   * New indexes serve ListJobs' worker and finished-time filters and GetStats; events get
--     (occurred_at, job_id, seq) for the audit export and error statistics. The created_at
--     index goes: the primary key serves created-time ranges.
--   * Events record the lease token and a reason code; worker_outcome_counts holds the attempts
--     each worker completed and failed, maintained by AppendEvents.
-- Existing rows are copied into the new tables inside this migration's transaction. That is
-- right for the installations this release meets; see services/history/README.md (schema
-- changes) for how a change of this kind runs on a table too large to copy in one go.

-- Up Migration

CREATE FUNCTION taskflow_uuid_floor(ts timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0')
          || '00000000000000000000')::uuid
$$;

CREATE FUNCTION taskflow_uuid_time(id uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT to_timestamp(('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint / 1000.0)
$$;

ALTER TABLE job_events RENAME TO job_events_0004;
ALTER INDEX job_events_pkey RENAME TO job_events_0004_pkey;
ALTER INDEX job_events_job_id_seq_key RENAME TO job_events_0004_job_id_seq_key;
ALTER TABLE jobs RENAME TO jobs_0004;
ALTER INDEX jobs_pkey RENAME TO jobs_0004_pkey;

CREATE TABLE jobs (
    id uuid NOT NULL,
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
    worker_id text,
    search tsvector GENERATED ALWAYS AS (
        jsonb_to_tsvector('simple'::regconfig, payload, '["string", "numeric"]'::jsonb)
        || to_tsvector('simple'::regconfig, coalesce(error, ''))
    ) STORED,
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);

CREATE TABLE jobs_default PARTITION OF jobs DEFAULT;

CREATE TABLE job_events (
    job_id uuid NOT NULL,
    seq int NOT NULL,
    type text NOT NULL CHECK (type IN (
        'submitted', 'started', 'completed', 'retry_scheduled',
        'failed', 'lease_expired', 'released', 'cancelled'
    )),
    status text NOT NULL
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    attempt int NOT NULL DEFAULT 0,
    worker_id text,
    error text,
    actor text NOT NULL,
    result jsonb,
    details jsonb,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    lease_id text,
    reason text,
    PRIMARY KEY (job_id, seq)
) PARTITION BY RANGE (job_id);

CREATE TABLE job_events_default PARTITION OF job_events DEFAULT;

-- Creates the jobs and job_events partitions of every UTC day from first_day to last_day that
-- does not exist yet, and returns how many days it created. A day whose id range already has
-- rows in a DEFAULT partition is skipped (PostgreSQL would refuse the partition); its rows stay
-- where they are and retention deletes them row by row. Replicas calling it at once queue on
-- an advisory lock.
CREATE FUNCTION taskflow_ensure_partitions(first_day date, last_day date) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    d date;
    lo uuid;
    hi uuid;
    created int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(8389772432466531);
    FOR d IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        CONTINUE WHEN to_regclass(format('jobs_p%s', to_char(d, 'YYYYMMDD'))) IS NOT NULL;
        lo := taskflow_uuid_floor(d::timestamp AT TIME ZONE 'UTC');
        hi := taskflow_uuid_floor((d + 1)::timestamp AT TIME ZONE 'UTC');
        IF EXISTS (SELECT 1 FROM jobs_default WHERE id >= lo AND id < hi)
           OR EXISTS (SELECT 1 FROM job_events_default WHERE job_id >= lo AND job_id < hi) THEN
            RAISE WARNING 'taskflow: rows of % are in a default partition; day partition not created', d;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF jobs FOR VALUES FROM (%L) TO (%L)',
                       format('jobs_p%s', to_char(d, 'YYYYMMDD')), lo, hi);
        EXECUTE format('CREATE TABLE %I PARTITION OF job_events FOR VALUES FROM (%L) TO (%L)',
                       format('job_events_p%s', to_char(d, 'YYYYMMDD')), lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

-- Drops the job_events and jobs partitions of one UTC day, for retention, and returns false
-- when the day has no jobs partition. Only tables named for a day can be dropped this way, so a
-- DEFAULT partition or a parent never is; the caller checks that every job of the day is
-- finished and old enough. It locks the parents first (jobs, then job_events: the order in
-- which every statement of history takes them), so the drop cannot deadlock with one.
CREATE FUNCTION taskflow_drop_day_partitions(day date) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    suffix text := to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(format('jobs_p%s', suffix)) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I', format('job_events_p%s', suffix));
    EXECUTE format('DROP TABLE %I', format('jobs_p%s', suffix));
    RETURN true;
END
$$;

-- Partitions for every day that holds existing UUIDv7 jobs, and for today and the next two.
SELECT taskflow_ensure_partitions(day, day)
FROM (
    SELECT DISTINCT (taskflow_uuid_time(id) AT TIME ZONE 'UTC')::date AS day
    FROM jobs_0004
    WHERE substr(id::text, 15, 1) = '7'
      AND taskflow_uuid_time(id) BETWEEN timestamptz '2020-01-01 00:00:00+00' AND now() + interval '1 day'
) days
ORDER BY day;

SELECT taskflow_ensure_partitions((now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date + 2);

INSERT INTO jobs (id, type, queue, payload, status, result, error, error_seq, attempts,
                  max_attempts, priority, timeout_ms, idempotency_key, last_seq, created_at,
                  updated_at, scheduled_at, started_at, completed_at, worker_id)
SELECT id, type, queue, payload, status, result, error, error_seq, attempts, max_attempts,
       priority, timeout_ms, idempotency_key, last_seq, created_at, updated_at, scheduled_at,
       started_at, completed_at, worker_id
FROM jobs_0004;

INSERT INTO job_events (job_id, seq, type, status, attempt, worker_id, error, actor, result,
                        details, occurred_at, recorded_at)
SELECT job_id, seq, type, status, attempt, worker_id, error, actor, result, details,
       occurred_at, recorded_at
FROM job_events_0004;

-- Attempts each worker completed and failed, added to by AppendEvents. A worker's count is
-- spread over a few stripes (each statement adds to one, picked at random), so concurrent
-- batches of one busy worker rarely wait for each other's row lock; readers sum the stripes.
CREATE TABLE worker_outcome_counts (
    worker_id text NOT NULL,
    stripe smallint NOT NULL,
    completed bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (worker_id, stripe)
);

INSERT INTO worker_outcome_counts (worker_id, stripe, completed, failed)
SELECT worker_id, 0,
       count(*) FILTER (WHERE type = 'completed'),
       count(*) FILTER (WHERE type IN ('retry_scheduled', 'failed'))
FROM job_events_0004
WHERE worker_id IS NOT NULL
GROUP BY worker_id;

DROP TABLE job_events_0004;
DROP TABLE jobs_0004;

CREATE INDEX idx_jobs_status ON jobs (status, id);
CREATE INDEX idx_jobs_type ON jobs (type, id);
CREATE INDEX idx_jobs_queue ON jobs (queue, id);
CREATE INDEX idx_jobs_worker ON jobs (worker_id, id);
CREATE INDEX idx_jobs_scheduled_at ON jobs (scheduled_at);
-- INCLUDE makes GetStats' scans of a window's finished jobs (status, type, queue, wait and run
-- time) index-only: 4x fewer pages than visiting each row.
CREATE INDEX idx_jobs_completed_at ON jobs (completed_at) INCLUDE (status, type, queue, scheduled_at, started_at)
    WHERE completed_at IS NOT NULL;
CREATE INDEX idx_jobs_payload_gin ON jobs USING GIN (payload jsonb_path_ops);
CREATE INDEX idx_jobs_search ON jobs USING GIN (search);
CREATE INDEX idx_jobs_unfinished_updated ON jobs (updated_at, id)
    WHERE status IN ('pending', 'processing');

CREATE INDEX idx_job_events_occurred_at ON job_events (occurred_at, job_id, seq);

-- Down Migration

ALTER TABLE job_events RENAME TO job_events_0005;
ALTER INDEX job_events_pkey RENAME TO job_events_0005_pkey;
ALTER TABLE jobs RENAME TO jobs_0005;
ALTER INDEX jobs_pkey RENAME TO jobs_0005_pkey;
ALTER INDEX idx_jobs_status RENAME TO idx_jobs_0005_status;
ALTER INDEX idx_jobs_type RENAME TO idx_jobs_0005_type;
ALTER INDEX idx_jobs_queue RENAME TO idx_jobs_0005_queue;
ALTER INDEX idx_jobs_scheduled_at RENAME TO idx_jobs_0005_scheduled_at;
ALTER INDEX idx_jobs_payload_gin RENAME TO idx_jobs_0005_payload_gin;
ALTER INDEX idx_jobs_unfinished_updated RENAME TO idx_jobs_0005_unfinished_updated;

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

INSERT INTO jobs (id, type, queue, payload, status, result, error, error_seq, attempts,
                  max_attempts, priority, timeout_ms, idempotency_key, last_seq, created_at,
                  updated_at, scheduled_at, started_at, completed_at, worker_id)
SELECT id, type, queue, payload, status, result, error, error_seq, attempts, max_attempts,
       priority, timeout_ms, idempotency_key, last_seq, created_at, updated_at, scheduled_at,
       started_at, completed_at, worker_id
FROM jobs_0005;

CREATE TABLE job_events (
    id bigserial PRIMARY KEY,
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq int NOT NULL,
    type text NOT NULL CHECK (type IN (
        'submitted', 'started', 'completed', 'retry_scheduled',
        'failed', 'lease_expired', 'released', 'cancelled'
    )),
    status text NOT NULL
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    attempt int NOT NULL DEFAULT 0,
    worker_id text,
    error text,
    actor text NOT NULL,
    result jsonb,
    details jsonb,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, seq)
);

-- Events whose job is gone (removed by retention after the event) cannot keep a foreign key.
INSERT INTO job_events (job_id, seq, type, status, attempt, worker_id, error, actor, result,
                        details, occurred_at, recorded_at)
SELECT e.job_id, e.seq, e.type, e.status, e.attempt, e.worker_id, e.error, e.actor, e.result,
       e.details, e.occurred_at, e.recorded_at
FROM job_events_0005 e
WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = e.job_id)
ORDER BY e.job_id, e.seq;

DROP TABLE job_events_0005;
DROP TABLE jobs_0005;
DROP FUNCTION taskflow_drop_day_partitions(date);
DROP FUNCTION taskflow_ensure_partitions(date, date);
DROP FUNCTION taskflow_uuid_time(uuid);
DROP FUNCTION taskflow_uuid_floor(timestamptz);

DROP TABLE worker_outcome_counts;

CREATE INDEX idx_jobs_status ON jobs (status, id DESC);
CREATE INDEX idx_jobs_type ON jobs (type, id DESC);
CREATE INDEX idx_jobs_queue ON jobs (queue, id DESC);
CREATE INDEX idx_jobs_created_at ON jobs (created_at);
CREATE INDEX idx_jobs_scheduled_at ON jobs (scheduled_at);
CREATE INDEX idx_jobs_payload_gin ON jobs USING GIN (payload);
CREATE INDEX idx_jobs_unfinished_updated ON jobs (updated_at, id)
    WHERE status IN ('pending', 'processing');
