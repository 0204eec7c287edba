import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { IdempotencyKeyReservedError, insertJobs as storeJobs } from "../db/queries/insert-jobs.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { parseNewJob } from "./parse-ingest.js";

/**
 * InsertJobs: stores new jobs as PENDING with their SUBMITTED event, in one statement, and
 * answers the stored jobs in request order: the original job where an idempotency key was
 * used within the last `IDEMPOTENCY_WINDOW_MS`. InvalidArgument, changing nothing, when any
 * job is malformed; AlreadyExists when a key is still reserved for a job no longer kept.
 */
export const insertJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["insertJobs"] =>
  async (req) => {
    const jobs = req.jobs.map(parseNewJob);
    try {
      const actor = req.actor === "" ? "api" : req.actor;
      const rows = await storeJobs(d.db, jobs, { idempotencyWindowMs: d.config.idempotencyWindowMs, actor });
      return { jobs: rows.map(jobToProto) };
    } catch (err) {
      if (!(err instanceof IdempotencyKeyReservedError)) throw err;
      throw new ConnectError(
        `idempotency_key: ${JSON.stringify(err.key)} belongs to job ${err.jobId}, which is no longer kept; use another key`,
        Code.AlreadyExists,
      );
    }
  };
