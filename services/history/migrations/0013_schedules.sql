-- Why: recurring jobs (ScheduleService). A schedule's definition must outlive Redis, which holds
-- only its firing state, so history keeps it here and the scheduler rebuilds that state from it
-- after a loss; and a schedule's runs must be findable among the jobs.
--   * `schedules` holds one row per schedule: its spec (a cron expression with its time zone, or
--     an interval), the job template, the overlap policy and catch-up bound, the pause, and its
--     runs as the scheduler records them (next_run_at, last_run_at, last_job_id move forward only).
--   * `version` comes from one sequence for every schedule, so it keeps increasing across a
--     delete and a re-creation of the same id: the scheduler fences its Redis copy with it, and a
--     late write of an older definition (or of a deleted schedule) changes nothing there.
--   * `jobs.schedule_id` names the schedule whose run a job is; the partial (schedule_id, id)
--     index serves ListJobs' schedule filter in id order and holds only schedules' runs.
--     Adding a nullable column without a default rewrites nothing; the index is built inside this
--     transaction (see 0009 for tables too large for that).

-- Up Migration

CREATE SEQUENCE schedule_versions AS bigint;

CREATE TABLE schedules (
    id text PRIMARY KEY,
    cron text,
    time_zone text NOT NULL DEFAULT 'UTC',
    interval_ms bigint,
    job_type text NOT NULL,
    queue text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL,
    timeout_ms int,
    overlap_policy text NOT NULL CHECK (overlap_policy IN ('skip', 'allow', 'cancel_previous')),
    catch_up int NOT NULL CHECK (catch_up >= 0),
    paused boolean NOT NULL DEFAULT false,
    next_run_at timestamptz,
    last_run_at timestamptz,
    last_job_id uuid,
    version bigint NOT NULL DEFAULT nextval('schedule_versions'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_by text NOT NULL,
    CHECK ((cron IS NULL) <> (interval_ms IS NULL))
);

ALTER TABLE jobs ADD COLUMN schedule_id text;

CREATE INDEX idx_jobs_schedule ON jobs (schedule_id, id)
    WHERE schedule_id IS NOT NULL;

-- Down Migration

DROP INDEX idx_jobs_schedule;
ALTER TABLE jobs DROP COLUMN schedule_id;
DROP TABLE schedules;
DROP SEQUENCE schedule_versions;
