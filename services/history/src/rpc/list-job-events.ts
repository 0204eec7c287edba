import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService } from "@taskflow/proto";
import { listJobEvents as readEvents } from "../db/queries/list-job-events.js";
import { notFound } from "../errors.js";
import { eventToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { pageSize, requireUuid } from "./validate.js";

export const LIST_JOB_EVENTS_DEFAULT_PAGE_SIZE = 100;
export const LIST_JOB_EVENTS_MAX_PAGE_SIZE = 1_000;

const isSeqCursor = (after: unknown): after is number =>
  typeof after === "number" && Number.isInteger(after) && after >= 1 && after <= 2_147_483_647;

/**
 * ListJobEvents: a job's audit trail oldest first, keyset-paged on seq. InvalidArgument for a
 * malformed id, page size or token; NotFound for an unknown job.
 */
export const listJobEvents =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["listJobEvents"] =>
  async (req) => {
    const jobId = requireUuid(req.jobId, "job_id");
    const size = pageSize(req.pageSize, LIST_JOB_EVENTS_DEFAULT_PAGE_SIZE, LIST_JOB_EVENTS_MAX_PAGE_SIZE);
    const scope = `job-events:${jobId}`;
    const afterSeq = d.pageTokens.decode(req.pageToken, scope, isSeqCursor) ?? 0;
    const rows = await readEvents(d.db, { jobId, afterSeq, limit: size + 1 });
    if (rows === undefined) throw notFound(`job ${jobId} not found`);
    const page = d.pageTokens.pageOf(rows, size, scope, (last) => last.seq);
    return { events: page.items.map(eventToProto), nextPageToken: page.next };
  };
