-- Why: job payloads carry credentials (a webhook's `Authorization` header, a user's password),
-- and the generated `search` column put every string of a payload into the full-text index, so a
-- text search for a secret found its job. Which keys hold secrets is configuration
-- (SECRET_PAYLOAD_KEYS), the same list that masks them in logs, so history leaves their values out
-- in TypeScript (`maskSecrets` of @taskflow/service-kit) before the payload reaches SQL, and a
-- generated column, which computes from the row alone, cannot:
--   * `search` becomes a plain column. DROP EXPRESSION only changes the catalog: no partition is
--     rewritten and every row keeps the vector it has. InsertJobs sets it from the payload with
--     the value of every secret-named key replaced by null, which holds no words. The payload is
--     stored unchanged.
--   * taskflow_search_vector(searchable, error) is the one definition of the vector: the string
--     and number values of the payload at weight D, the error's words at weight A (searches
--     ignore weights). The error is weighted so that the update that changes a job's error can
--     swap the error's words without the payload, which AppendEvents does not hold in searchable
--     form: taskflow_search_with_error(search, error) keeps the D part and appends the new error.
--     That is also cheaper than the generated column was, which parsed the payload again.
-- Rows stored before this migration keep their vectors, secrets included, until retention removes
-- them or an operator rebuilds them (services/history/README.md, "Full-text search and secrets");
-- their error's words carry weight D, so such a row whose error changes keeps the old error's
-- words beside the new one's.

-- Up Migration

ALTER TABLE jobs ALTER COLUMN search DROP EXPRESSION;

CREATE FUNCTION taskflow_search_vector(searchable jsonb, error text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT jsonb_to_tsvector('simple'::regconfig, searchable, '["string", "numeric"]'::jsonb)
         || setweight(to_tsvector('simple'::regconfig, coalesce(error, '')), 'A')
$$;

CREATE FUNCTION taskflow_search_with_error(search tsvector, error text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ts_filter(coalesce(search, ''::tsvector), '{d}')
         || setweight(to_tsvector('simple'::regconfig, coalesce(error, '')), 'A')
$$;

-- Down Migration

DROP FUNCTION taskflow_search_with_error(tsvector, text);
DROP FUNCTION taskflow_search_vector(jsonb, text);

-- A column cannot become generated again in place: it is added anew, rewriting every partition.
ALTER TABLE jobs DROP COLUMN search;
ALTER TABLE jobs ADD COLUMN search tsvector GENERATED ALWAYS AS (
    jsonb_to_tsvector('simple'::regconfig, payload, '["string", "numeric"]'::jsonb)
    || to_tsvector('simple'::regconfig, coalesce(error, ''))
) STORED;
CREATE INDEX idx_jobs_search ON jobs USING GIN (search);
