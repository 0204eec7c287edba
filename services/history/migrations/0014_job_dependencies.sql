-- Why: flows. A job may wait for other jobs (its parents) and runs only once every parent is
-- terminal; a parent that fails or is cancelled decides the child's fate through the child's
-- policy. PostgreSQL is where a dependency must live: Redis holds a waiting child not at all (it
-- is enqueued when its parents settle), so the edges survive the loss of Redis, and the
-- reconciler reads them to tell a waiting child from a lost one.
--   * One row per (child, parent) edge, written with the child's InsertJobs, never changed.
--   * `on_parent_failure` is the child's policy ('fail', 'cancel' or 'run'), the same on every
--     edge of one child.
--   * The primary key (child_id, parent_id) serves a child's parents (GetJob, the reconciler,
--     the settle check); idx_job_dependencies_parent serves a parent's children (AppendEvents
--     looking for children it may release, GetJob).
--   * No foreign keys: jobs is partitioned by day and retention drops whole partitions.

-- Up Migration

CREATE TABLE job_dependencies (
    child_id uuid NOT NULL,
    parent_id uuid NOT NULL,
    on_parent_failure text NOT NULL DEFAULT 'fail'
        CHECK (on_parent_failure IN ('fail', 'cancel', 'run')),
    PRIMARY KEY (child_id, parent_id),
    CHECK (child_id <> parent_id)
);

CREATE INDEX idx_job_dependencies_parent ON job_dependencies (parent_id, child_id);

-- Down Migration

DROP TABLE job_dependencies;
