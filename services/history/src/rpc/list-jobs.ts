import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService, JobStatus } from "@taskflow/proto";
import { listJobs as readJobs } from "../db/queries/list-jobs.js";
import type { JobStatusText } from "../db/rows.js";
import { invalidArgument } from "../errors.js";
import { jobStatusText } from "../mapping/enums.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { isUuid, pageSize } from "./validate.js";

export const LIST_JOBS_DEFAULT_PAGE_SIZE = 50;
export const LIST_JOBS_MAX_PAGE_SIZE = 500;

const isJobCursor = (after: unknown): after is string => typeof after === "string" && isUuid(after);

function statusFilter(statuses: JobStatus[]): JobStatusText[] {
  return statuses.map((s) => {
    const text = jobStatusText(s);
    if (text === undefined) throw invalidArgument(`statuses: must be known job statuses, got ${s}`);
    return text;
  });
}

/**
 * ListJobs: jobs newest first, filtered by status, type and queue, keyset-paged.
 * InvalidArgument for an unspecified or unknown status, a page size outside 1..500, or a
 * page token this list did not issue.
 */
export const listJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["listJobs"] =>
  async (req) => {
    const size = pageSize(req.pageSize, LIST_JOBS_DEFAULT_PAGE_SIZE, LIST_JOBS_MAX_PAGE_SIZE);
    const statuses = statusFilter(req.statuses);
    const scope = `jobs:${JSON.stringify([statuses, req.types, req.queues])}`;
    const rows = await readJobs(d.readDb, {
      statuses,
      types: req.types,
      queues: req.queues,
      afterId: d.pageTokens.decode(req.pageToken, scope, isJobCursor),
      limit: size + 1,
    });
    const page = d.pageTokens.pageOf(rows, size, scope, (last) => last.id);
    return { jobs: page.items.map(jobToProto), nextPageToken: page.next };
  };
