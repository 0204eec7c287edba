import { DEFAULT_SECRET_PAYLOAD_KEYS } from "@taskflow/service-kit";
import type { Queryable } from "../queryable.js";
import type { JsonObject } from "../rows.js";
import { searchablePayloads } from "./insert-jobs.js";

/** The payloads of the `$2` jobs after `$1` in id order (the primary key, walked). */
export const SELECT_SEARCH_BATCH_SQL = `
SELECT id, payload FROM jobs WHERE id > $1::uuid ORDER BY id LIMIT $2::int`;

/**
 * Sets `search` of the jobs `$1` as InsertJobs and AppendEvents would have left it: from `$2`
 * (per job, the searchable payload, or JSON null for the payload itself) and the job's current
 * error, read under the row's lock. A row whose vector is already that is not written.
 */
export const REBUILD_SEARCH_SQL = `
WITH rebuilt AS (
  SELECT t.id, taskflow_search_vector(coalesce(nullif(s.searchable, 'null'::jsonb), j.payload), j.error) AS search
  FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ord)
  JOIN jsonb_array_elements($2::jsonb) WITH ORDINALITY AS s(searchable, ord) USING (ord)
  JOIN jobs j ON j.id = t.id
)
UPDATE jobs j SET search = r.search
FROM rebuilt r
WHERE j.id = r.id AND j.search IS DISTINCT FROM r.search`;

/** Options of {@link rebuildSearchBatch}. */
export interface RebuildSearchOptions {
  /** Rebuild the jobs after this id; the nil UUID starts at the first. */
  afterId: string;
  /** Most jobs read by the batch. */
  limit: number;
  /** Key names whose values stay out of the vector (`SECRET_PAYLOAD_KEYS`). */
  secretKeys?: readonly string[];
}

/** The smallest UUID: {@link rebuildSearchBatch} after it starts at the first job. */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * Rebuilds the search vectors of one batch of jobs in id order: one read, then one UPDATE that
 * writes only the rows whose vector changes (jobs stored before migration 0010, whose vectors
 * still hold the values of secret-named keys, or stored under another `SECRET_PAYLOAD_KEYS`).
 * @returns the last id read (null when there was no job after `afterId`), the jobs read and the
 *   rows rewritten.
 */
export async function rebuildSearchBatch(
  db: Queryable,
  opts: RebuildSearchOptions,
): Promise<{ lastId: string | null; read: number; rewritten: number }> {
  const { rows } = await db.query<{ id: string; payload: JsonObject }>({
    name: "history_select_search_batch",
    text: SELECT_SEARCH_BATCH_SQL,
    values: [opts.afterId, opts.limit],
  });
  if (rows.length === 0) return { lastId: null, read: 0, rewritten: 0 };
  const res = await db.query({
    name: "history_rebuild_search",
    text: REBUILD_SEARCH_SQL,
    values: [rows.map((r) => r.id), searchablePayloads(rows, opts.secretKeys ?? DEFAULT_SECRET_PAYLOAD_KEYS)],
  });
  return { lastId: rows.at(-1)?.id ?? null, read: rows.length, rewritten: res.rowCount ?? 0 };
}
