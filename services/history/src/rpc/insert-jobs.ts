import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { notifyJobEvents } from "../db/job-notifications.js";
import { insertJobs as storeJobs, type InsertJobsOptions, type NewJob } from "../db/queries/insert-jobs.js";
import { insertDependencies, type JobLinkRow, lockParents, selectParents } from "../db/queries/job-dependencies.js";
import type { JobRow } from "../db/rows.js";
import { inTransaction } from "../db/transaction.js";
import { notFound } from "../errors.js";
import { jobToProto, jobToProtoWithoutPayload, withLinks } from "../mapping/to-proto.js";
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
 * answered in errors.ts). A batch with dependencies is stored in one transaction with its edges
 * (see {@link storeFlow}): NotFound, changing nothing, when a parent is neither stored nor in the
 * batch; its jobs come back with their parents and their status. New jobs are
 * announced to watchers (WatchJobs) without waiting.
 */
export const insertJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["insertJobs"] =>
  async (req) => {
    const jobs = parseInsertJobs(req);
    const actor = req.actor === "" ? "api" : req.actor;
    const opts = { idempotencyWindowMs: d.config.idempotencyWindowMs, actor, secretKeys: d.config.secretPayloadKeys };
    const flow = jobs.some((j) => (j.parentIds ?? []).length > 0);
    const { rows, parents } = await observeIngest(d.metrics, "InsertJobs", jobs.length, () =>
      flow ? storeFlow(d, jobs, opts) : storeJobs(d.db, jobs, opts).then((r) => ({ rows: r, parents: new Map<string, JobLinkRow[]>() })),
    );
    // WatchJobs streams show new jobs too. The submit does not wait for the notification: a
    // dashboard missing a new job (history failing right after the commit) is better than a
    // slower submit.
    notifyJobEvents(d.db, rows.map((r) => r.id)).catch((err: unknown) => d.logger.warn({ err, jobs: rows.length }, "new jobs not announced to watchers"));
    // The caller sent the payload of every job stored under the id it asked for: only a key
    // holder's (another request's job) goes back.
    return {
      jobs: rows.map((row, i) => withLinks(row.id === jobs[i]!.id ? jobToProtoWithoutPayload(row) : jobToProto(row), parents.get(row.id))),
    };
  };

/**
 * Stores a batch with dependencies in one transaction: locks the parents outside the batch
 * (`FOR SHARE`, so a parent ending meanwhile either waits for this commit and then finds the
 * children, or ended before and is read ended here), stores the jobs, their edges, and reads
 * the parents' status back under those locks. A parent that is a job of the batch answered by an
 * idempotency key's holder is that holder.
 * @throws {ConnectError} NotFound when a parent id is neither stored nor a job of the batch.
 */
async function storeFlow(d: HistoryDeps, jobs: readonly NewJob[], opts: InsertJobsOptions): Promise<{ rows: JobRow[]; parents: Map<string, JobLinkRow[]> }> {
  return inTransaction(d.pool, d.timings, async ({ db }) => {
    const batch = new Set(jobs.map((j) => j.id));
    const outside = [...new Set(jobs.flatMap((j) => j.parentIds ?? []))].filter((id) => !batch.has(id)).sort();
    const found = await lockParents(db, outside);
    const missing = outside.find((id) => !found.has(id));
    if (missing !== undefined) throw notFound(`parent job ${missing} not found`);
    const rows = await storeJobs(db, jobs, opts);
    const storedAs = new Map(jobs.map((j, i) => [j.id, rows[i]!.id]));
    const edges = jobs.flatMap((j, i) =>
      rows[i]!.id !== j.id
        ? []
        : (j.parentIds ?? []).map((p) => ({ childId: j.id, parentId: storedAs.get(p) ?? p, onParentFailure: j.onParentFailure ?? ("fail" as const) })),
    );
    await insertDependencies(db, edges);
    return { rows, parents: await selectParents(db, rows.map((r) => r.id)) };
  });
}
