-- Why: an idempotency key must not answer a different request. Until now a submit whose key was
-- held returned the holder's job even when it asked for another type, queue or payload, so a
-- caller that reused a key by mistake was told its new job existed. The scheduler now sends a
-- digest of each submit request (InsertJobsRequest.request_digests), and history keeps the
-- digest of the request that claimed a key beside it: a later submit naming a live key with a
-- different digest is refused with already_exists.
--   * The column is nullable and has no default: keys claimed before this release, and by callers
--     that send no digest, have none, and a missing digest on either side matches any request.
--     Adding a nullable column without a default is a catalog change; no row is rewritten.
--   * It is only compared for the key's one row (by primary key), so it needs no index.

-- Up Migration

ALTER TABLE idempotency_keys ADD COLUMN request_digest text;

-- Down Migration

ALTER TABLE idempotency_keys DROP COLUMN request_digest;
