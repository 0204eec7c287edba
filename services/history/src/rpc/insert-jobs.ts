import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import {
  IdempotencyKeyConflictError,
  IdempotencyKeyReservedError,
  insertJobs as storeJobs,
} from "../db/queries/insert-jobs.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { parseInsertJobs } from "./parse-ingest.js";

/**
 * InsertJobs: stores new jobs as PENDING with their SUBMITTED event, in one statement, and
 * answers the stored jobs in request order: the original job where an idempotency key was
 * used within the last `IDEMPOTENCY_WINDOW_MS` for the same request (same digest, or none on
 * either side). InvalidArgument, changing nothing, when any job or digest is malformed;
 * AlreadyExists, changing nothing, when a job's key was used for a different request;
 * AlreadyExists when a key is still reserved for a job no longer kept.
 */
export const insertJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["insertJobs"] =>
  async (req) => {
    const jobs = parseInsertJobs(req);
    try {
      const actor = req.actor === "" ? "api" : req.actor;
      const rows = await storeJobs(d.db, jobs, { idempotencyWindowMs: d.config.idempotencyWindowMs, actor });
      return { jobs: rows.map(jobToProto) };
    } catch (err) {
      throw keyError(err);
    }
  };

/** An idempotency key refusal as AlreadyExists; anything else unchanged. */
function keyError(err: unknown): unknown {
  if (err instanceof IdempotencyKeyConflictError) {
    return new ConnectError(
      `jobs[${err.index}].idempotency_key: ${JSON.stringify(err.key)} was used for a different request within the idempotency window; use another key`,
      Code.AlreadyExists,
    );
  }
  if (err instanceof IdempotencyKeyReservedError) {
    return new ConnectError(
      `idempotency_key: ${JSON.stringify(err.key)} belongs to job ${err.jobId}, which is no longer kept; use another key`,
      Code.AlreadyExists,
    );
  }
  return err;
}
