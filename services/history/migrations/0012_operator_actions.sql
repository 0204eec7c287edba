-- Why: what operators do outside a job's own trail (a queue paused, resumed or limited) must be
-- auditable like the jobs: who did it, when, to what, with which parameters. The scheduler
-- records each action here (RecordOperatorActions, on history's internal listener) before it
-- carries it out, so no action takes effect unrecorded; HistoryService.ListOperatorActions reads
-- them back.
--   * `id` orders the actions (newest first) and is the keyset cursor of a listing.
--   * `at` is history's clock when the action was recorded.
--   * The (target, id) index serves a listing of one queue's actions; the table is small (a row
--     per operator action) and kept whole: retention does not touch it.

-- Up Migration

CREATE TABLE operator_actions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX idx_operator_actions_target ON operator_actions (target, id);

-- Down Migration

DROP TABLE operator_actions;
