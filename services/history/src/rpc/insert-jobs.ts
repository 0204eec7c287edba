import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { insertJobs as storeJobs } from "../db/queries/insert-jobs.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { parseNewJob } from "./parse-ingest.js";

/**
 * InsertJobs: stores new jobs as PENDING with their SUBMITTED event, in one statement, and
 * answers the stored jobs in request order (the original job where an idempotency key was
 * reused). InvalidArgument, changing nothing, when any job is malformed.
 */
export const insertJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["insertJobs"] =>
  async (req) => {
    const jobs = req.jobs.map(parseNewJob);
    const rows = await storeJobs(d.pool, jobs);
    return { jobs: rows.map(jobToProto) };
  };
