-- Why: GetDatabaseStats reports how fast each table grows, so an operator sees the disk filling
-- days before it is full, and PostgreSQL keeps no history of relation sizes. The history
-- service samples them: every PARTITION_MAINTENANCE_INTERVAL_MS it records the total size of
-- every table and partition here, and deletes samples older than 8 days (growth is computed
-- over the last 7).
--   * One row per relation and hour (`sampled_hour`, the sample time truncated to the hour).
--     Several history replicas, or a short interval, update that hour's row (`ON CONFLICT DO
--     UPDATE`) instead of adding rows, so the table holds at most 8 * 24 rows per relation.
--   * `sampled_at` keeps the exact time of the latest sample of the hour, so a growth rate
--     divides by the real time between two samples, not by whole hours.
--   * `relation` is the table's name, not its oid: a partition dropped by retention and one
--     created again under the same name continue one series, and a name outlives a dump and
--     restore.
--   * The `sampled_hour` index serves the purge of old samples.

-- Up Migration

CREATE TABLE table_size_samples (
    relation text NOT NULL,
    sampled_hour timestamptz NOT NULL,
    sampled_at timestamptz NOT NULL,
    total_bytes bigint NOT NULL,
    PRIMARY KEY (relation, sampled_hour)
);

CREATE INDEX idx_table_size_samples_sampled_hour ON table_size_samples (sampled_hour);

-- Down Migration

DROP TABLE table_size_samples;
