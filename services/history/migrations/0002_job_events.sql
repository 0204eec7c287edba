-- Why: the audit trail. Every transition of every job is recorded exactly once and in order
-- (DESIGN.md invariant 4): (job_id, seq) is unique, so the scheduler's forwarder may resend a
-- batch after a timeout and `ON CONFLICT DO NOTHING` keeps one row per transition. The unique
-- index also serves ListJobEvents, which pages one job's events by seq. occurred_at is the
-- scheduler's clock when the transition happened; recorded_at is when history stored it, so
-- the forwarding lag can be measured.

-- Up Migration

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

-- Down Migration

DROP TABLE job_events;
