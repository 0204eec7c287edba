-- Why: an operator may put a failed or cancelled job back to pending for a retry
-- (SchedulerService.RetryJob/RetryJobs, applied by HistoryIngestService.ReopenJobs). That is the
-- one transition out of a terminal status, and the trail must hold it like every other: a
-- 'retried' event (status 'pending', reason 'retry_requested', the operator as actor). The type
-- check of job_events gains 'retried'; the constraint keeps its name, so the partitions' copies
-- are replaced with the parent's. It is added NOT VALID: every stored row met the old check,
-- which the new one widens, so a validating scan of the whole trail (under the ALTER's exclusive
-- lock, holding up ingest for as long) would find nothing; new rows are checked all the same.

-- Up Migration

ALTER TABLE job_events DROP CONSTRAINT job_events_type_check1;
ALTER TABLE job_events ADD CONSTRAINT job_events_type_check1 CHECK (type IN (
    'submitted', 'started', 'completed', 'retry_scheduled', 'failed', 'lease_expired', 'released',
    'cancelled', 'retried')) NOT VALID;

-- Down Migration

DELETE FROM job_events WHERE type = 'retried';
ALTER TABLE job_events DROP CONSTRAINT job_events_type_check1;
ALTER TABLE job_events ADD CONSTRAINT job_events_type_check1 CHECK (type IN (
    'submitted', 'started', 'completed', 'retry_scheduled', 'failed', 'lease_expired', 'released',
    'cancelled'));
