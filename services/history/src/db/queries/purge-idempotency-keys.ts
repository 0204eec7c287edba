import type { Queryable } from "../queryable.js";

/**
 * Deletes up to `$1` expired idempotency keys, oldest first. `SKIP LOCKED` leaves alone a key a
 * submit is taking over at this moment, and lets several history replicas purge side by side
 * without waiting on each other.
 */
export const PURGE_IDEMPOTENCY_KEYS_SQL = `
DELETE FROM idempotency_keys
WHERE key IN (
  SELECT key FROM idempotency_keys
  WHERE expires_at <= now()
  ORDER BY expires_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)`;

/**
 * Deletes one batch of expired idempotency keys.
 * @param limit most keys to delete, at least 1.
 * @returns how many were deleted.
 */
export async function purgeIdempotencyKeys(db: Queryable, limit: number): Promise<number> {
  const res = await db.query({ name: "history_purge_idempotency_keys", text: PURGE_IDEMPOTENCY_KEYS_SQL, values: [limit] });
  return res.rowCount ?? 0;
}
