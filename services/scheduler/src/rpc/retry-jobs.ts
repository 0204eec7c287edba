import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { type Job, JobStatus, SortOrder, type RetryJobsRequest, type SchedulerService } from "@taskflow/proto";
import { actorOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { invalidArgument, jobNotFound } from "../errors.js";
import type { ListJobsInit } from "../history-client.js";
import { checkJobId, checkText, NAME_PATTERN } from "../validate.js";
import { endNotSettled, jobNotRetriable, reopenAndRequeue, settledJobs } from "./requeue-retried.js";

/** Most jobs one RetryJobs call retries; the default when `limit` is 0. */
export const MAX_RETRY_LIMIT = 1_000;
export const DEFAULT_RETRY_LIMIT = 100;
/** Most queues and types a RetryJobs filter may name, and the longest text query. */
export const MAX_RETRY_FILTER_NAMES = 100;
export const MAX_RETRY_TEXT_QUERY_LENGTH = 256;
/** HistoryService.ListJobs' largest page. */
const LIST_PAGE_SIZE = 500;

const RETRIABLE = new Set([JobStatus.FAILED, JobStatus.CANCELLED]);

/**
 * RetryJob: puts one FAILED or CANCELLED job back to PENDING with fresh attempts. History first
 * (ReopenJobs: the RETRIED event, the reset row and the operator action, one transaction, with
 * the verified caller as actor), then Redis (see {@link requeueRetried}).
 * @throws invalid_argument for a bad id; not_found for an unknown job; failed_precondition for a
 *   job that is pending, processing or completed (nothing changes), or that a concurrent retry
 *   reopened first; unavailable when a store cannot be reached, or Redis has still not
 *   acknowledged the job's end after the wait of {@link settledJobs} (retry).
 */
export const retryJob =
  (d: Deps): ServiceImpl<typeof SchedulerService>["retryJob"] =>
  async (req, ctx) => {
    const actor = actorOf(ctx, "api");
    checkJobId(req.id, "id");
    const job = await d.history.getJob(req.id, ctx.signal);
    if (!RETRIABLE.has(job.status)) throw jobNotRetriable(job.id, job.status);
    if ((await settledJobs(d, [job], ctx.signal)).unsettled.length > 0) throw endNotSettled(job.id);
    const res = await reopenAndRequeue(d, [job], { actor, action: "job.retry", target: job.id }, ctx.signal);
    const reopened = res.jobs[0];
    if (reopened === undefined) {
      if (res.refused.length === 0) throw jobNotFound(job.id);
      throw jobNotRetriable(job.id, res.refused[0]!.status);
    }
    d.logger.info({ job_id: job.id, queue: job.queue, actor }, "job retried");
    return { job: reopened };
  };

/**
 * RetryJobs: the FAILED or CANCELLED jobs the filter selects, oldest first, at most `limit`
 * (1 to 1000, default 100) per call, read from history's ListJobs; a dry run answers them and
 * changes nothing. Otherwise they are reopened in history together with one operator action
 * (the filter and the count), then enqueued. A job another retry reopened meanwhile is left out,
 * and so is one whose end Redis has not acknowledged yet (`more` is then set: call again).
 * @throws invalid_argument for a status other than FAILED or CANCELLED, a bad name, limit,
 *   text query or time range; unavailable when a store cannot be reached.
 */
export const retryJobs =
  (d: Deps): ServiceImpl<typeof SchedulerService>["retryJobs"] =>
  async (req, ctx) => {
    const actor = actorOf(ctx, "api");
    const { query, limit, details } = parseRetryFilter(req);
    const selected = await selectJobs(d, query, limit, ctx.signal);
    if (req.dryRun || selected.jobs.length === 0) return selected;
    // Jobs whose end Redis has not acknowledged yet wait for the next call.
    const { settled: matched, unsettled } = await settledJobs(d, selected.jobs, ctx.signal);
    const more = selected.more || unsettled.length > 0;
    const action = { actor, action: "jobs.retry", target: req.queues.length === 1 ? req.queues[0]! : "*", details };
    const res = await reopenAndRequeue(d, matched, action, ctx.signal);
    d.logger.info({ retried: res.jobs.length, refused: res.refused.length, actor }, "jobs retried");
    return { jobs: res.jobs, more };
  };

interface RetryFilter {
  query: ListJobsInit;
  limit: number;
  /** The filter as the operator action records it. */
  details: JsonObject;
}

function parseRetryFilter(req: RetryJobsRequest): RetryFilter {
  req.statuses.forEach((s, i) => {
    if (!RETRIABLE.has(s)) throw invalidArgument(`statuses[${i}]`, "must be JOB_STATUS_FAILED or JOB_STATUS_CANCELLED");
  });
  for (const [field, names] of [["queues", req.queues], ["types", req.types]] as const) {
    if (names.length > MAX_RETRY_FILTER_NAMES) throw invalidArgument(field, `must name at most ${MAX_RETRY_FILTER_NAMES}`);
    names.forEach((n, i) => {
      if (!NAME_PATTERN.test(n)) throw invalidArgument(`${field}[${i}]`, "must be 1 to 128 of A-Z a-z 0-9 . _ : -");
    });
  }
  if (req.textQuery.length > MAX_RETRY_TEXT_QUERY_LENGTH) throw invalidArgument("text_query", `must be at most ${MAX_RETRY_TEXT_QUERY_LENGTH} characters`);
  checkText(req.textQuery, "text_query");
  if (req.limit < 0 || req.limit > MAX_RETRY_LIMIT) throw invalidArgument("limit", `must be from 1 to ${MAX_RETRY_LIMIT} (0: ${DEFAULT_RETRY_LIMIT})`);
  const statuses = req.statuses.length === 0 ? [...RETRIABLE] : [...new Set(req.statuses)];
  const finished = req.finished;
  const details: JsonObject = {
    statuses: statuses.map((s) => JobStatus[s]),
    queues: req.queues,
    types: req.types,
    limit: req.limit || DEFAULT_RETRY_LIMIT,
  };
  if (finished?.startTime !== undefined) details.finished_from = timestampDate(finished.startTime).toISOString();
  if (finished?.endTime !== undefined) details.finished_before = timestampDate(finished.endTime).toISOString();
  if (req.textQuery !== "") details.text_query = req.textQuery;
  return {
    query: { statuses, queues: req.queues, types: req.types, finished, textQuery: req.textQuery, order: SortOrder.OLDEST_FIRST },
    limit: req.limit || DEFAULT_RETRY_LIMIT,
    details,
  };
}

/** Up to `limit` matching jobs, oldest first, page by page; `more` when another one matched. */
async function selectJobs(d: Deps, query: ListJobsInit, limit: number, signal: AbortSignal): Promise<{ jobs: Job[]; more: boolean }> {
  const jobs: Job[] = [];
  let pageToken = "";
  do {
    const page = await d.history.listJobs({ ...query, pageSize: Math.min(LIST_PAGE_SIZE, limit + 1 - jobs.length), pageToken }, signal);
    jobs.push(...page.jobs);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && jobs.length <= limit);
  return { jobs: jobs.slice(0, limit), more: jobs.length > limit };
}
