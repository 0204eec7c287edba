import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { notifyJobEvents } from "../db/job-notifications.js";
import { insertJobs as storeJobs } from "../db/queries/insert-jobs.js";
import { jobToProto, jobToProtoWithoutPayload } from "../mapping/to-proto.js";
import { observeIngest } from "../metrics.js";
import type { HistoryDeps } from "./deps.js";
import { parseInsertJobs } from "./parse-ingest.js";

/**
 * InsertJobs: stores new jobs as PENDING with their SUBMITTED event, in one statement, and
 * answers the stored jobs in request order: the original job where an idempotency key was
 * used within the last `IDEMPOTENCY_WINDOW_MS` for the same request (same digest, or none on
 * either side). A job stored under the requested id comes back without its payload, which the
 * caller sent. InvalidArgument, changing nothing, when any job or digest is malformed;
 * AlreadyExists, changing nothing, when a job's key was used for a different request;
 * AlreadyExists when a key is still reserved for a job no longer kept; Unavailable, changing
 * nothing, when concurrent submits kept claiming the batch's keys (the errors of the store are
 * answered in errors.ts). New jobs are announced to watchers (WatchJobs) without waiting.
 */
export const insertJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["insertJobs"] =>
  async (req) => {
    const jobs = parseInsertJobs(req);
    const actor = req.actor === "" ? "api" : req.actor;
    const rows = await observeIngest(d.metrics, "InsertJobs", jobs.length, () =>
      storeJobs(d.db, jobs, { idempotencyWindowMs: d.config.idempotencyWindowMs, actor, secretKeys: d.config.secretPayloadKeys }),
    );
    // WatchJobs streams show new jobs too. The submit does not wait for the notification: a
    // dashboard missing a new job (history failing right after the commit) is better than a
    // slower submit.
    notifyJobEvents(d.db, rows.map((r) => r.id)).catch((err: unknown) => d.logger.warn({ err, jobs: rows.length }, "new jobs not announced to watchers"));
    // The caller sent the payload of every job stored under the id it asked for: only a key
    // holder's (another request's job) goes back.
    return { jobs: rows.map((row, i) => (row.id === jobs[i]!.id ? jobToProtoWithoutPayload(row) : jobToProto(row))) };
  };
