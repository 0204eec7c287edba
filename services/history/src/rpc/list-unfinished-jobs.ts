import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { FIRST_JOB_ID, listUnfinishedJobs as readJobs } from "../db/queries/list-unfinished-jobs.js";
import { invalidArgument } from "../errors.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { pageSize, requireUuid, toDate } from "./validate.js";

export const LIST_UNFINISHED_DEFAULT_PAGE_SIZE = 500;
export const LIST_UNFINISHED_MAX_PAGE_SIZE = 1_000;

/**
 * ListUnfinishedJobs: pending and processing jobs created before `created_before` whose id
 * sorts after `after_id`, in id order, each with `last_event_seq`. The caller keeps the cursor
 * (the last id it saw), so any history replica answers the next page. InvalidArgument when
 * `created_before` is unset, `after_id` is neither empty nor a UUID, or the page size is outside
 * 1..1000.
 */
export const listUnfinishedJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["listUnfinishedJobs"] =>
  async (req) => {
    // No default: a caller that forgets the grace period would take in-flight submits for lost ones.
    if (req.createdBefore === undefined) throw invalidArgument("created_before: must be set");
    const createdBefore = toDate(req.createdBefore, "created_before");
    const afterId = req.afterId === "" ? FIRST_JOB_ID : requireUuid(req.afterId, "after_id");
    const limit = pageSize(req.pageSize, LIST_UNFINISHED_DEFAULT_PAGE_SIZE, LIST_UNFINISHED_MAX_PAGE_SIZE);
    const rows = await readJobs(d.db, { createdBefore, afterId, limit });
    return { jobs: rows.map(jobToProto) };
  };
