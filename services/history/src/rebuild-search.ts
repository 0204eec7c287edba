import type { Logger } from "pino";
import type { Queryable } from "./db/queryable.js";
import { NIL_UUID, rebuildSearchBatch } from "./db/queries/rebuild-search.js";

/** Options of {@link rebuildSearch}. */
export interface RebuildSearchRun {
  /** Jobs read per statement (each batch commits on its own). */
  batchSize: number;
  /** Key names whose values stay out of the vector (`SECRET_PAYLOAD_KEYS`). */
  secretKeys: readonly string[];
  /** Stops between batches; what was rebuilt stays rebuilt, and a new run starts over. */
  signal?: AbortSignal;
}

/**
 * Walks every job in id order and rebuilds its search vector where it differs from what history
 * writes today: the operator step after migration 0010 for jobs stored before it, or after a
 * change of `SECRET_PAYLOAD_KEYS`. Runs beside a serving history: each batch is one read and one
 * UPDATE of the rows that change, committed on its own, so locks are held one batch at a time.
 * @returns jobs read and rows rewritten.
 */
export async function rebuildSearch(db: Queryable, run: RebuildSearchRun, logger: Logger): Promise<{ read: number; rewritten: number }> {
  let afterId: string | null = NIL_UUID;
  let read = 0;
  let rewritten = 0;
  while (afterId !== null && run.signal?.aborted !== true) {
    const batch = await rebuildSearchBatch(db, { afterId, limit: run.batchSize, secretKeys: run.secretKeys });
    read += batch.read;
    rewritten += batch.rewritten;
    if (batch.rewritten > 0) logger.debug({ after_id: afterId, rewritten: batch.rewritten }, "search vectors rebuilt");
    afterId = batch.lastId;
  }
  logger.info({ read, rewritten, finished: afterId === null }, "search vector rebuild done");
  return { read, rewritten };
}
