import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { type HistoryService, type JobStatus, type ListJobsRequest, SortOrder } from "@taskflow/proto";
import { type JobOrder, type ListJobsFilter, listJobs as readJobs } from "../db/queries/list-jobs.js";
import type { JobStatusText } from "../db/rows.js";
import { invalidArgument } from "../errors.js";
import { jobStatusText } from "../mapping/enums.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { parseTimeRange } from "./time-range.js";
import { isUuid, pageSize } from "./validate.js";

export const LIST_JOBS_DEFAULT_PAGE_SIZE = 50;
export const LIST_JOBS_MAX_PAGE_SIZE = 500;
/** Longest text_query, in characters: enough for any search a person types. */
export const MAX_TEXT_QUERY_CHARS = 500;

const isJobCursor = (after: unknown): after is string => typeof after === "string" && isUuid(after);

/** Sorted and without repeats: the same set of values is the same filter, and the same scope. */
const canonical = <T extends string>(items: readonly T[]): T[] => [...new Set(items)].sort();

export function statusFilter(statuses: readonly JobStatus[]): JobStatusText[] {
  return canonical(
    statuses.map((s) => {
      const text = jobStatusText(s);
      if (text === undefined) throw invalidArgument(`statuses: must be known job statuses, got ${s}`);
      return text;
    }),
  );
}

function sortOrder(order: SortOrder): JobOrder {
  if (order === SortOrder.UNSPECIFIED || order === SortOrder.NEWEST_FIRST) return "newest_first";
  if (order === SortOrder.OLDEST_FIRST) return "oldest_first";
  throw invalidArgument(`order: must be a known sort order, got ${Number(order)}`);
}

/** The text query trimmed; undefined when nothing is left, which means no text filter. */
function textQuery(q: string): string | undefined {
  const text = q.trim();
  if (text.length > MAX_TEXT_QUERY_CHARS && [...text].length > MAX_TEXT_QUERY_CHARS) {
    throw invalidArgument(`text_query: must be at most ${MAX_TEXT_QUERY_CHARS} characters`);
  }
  return text === "" ? undefined : text;
}

function attemptsAbove(n: number | undefined): number | undefined {
  if (n !== undefined && n < 0) throw invalidArgument(`attempts_above: must not be negative, got ${n}`);
  return n;
}

/** The object with its keys sorted at every depth, so equal objects print alike. */
function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k] as JsonValue)]));
}

/** The request's filters without paging, canonical: equal filters give equal objects. */
function parseListJobs(req: ListJobsRequest): Omit<ListJobsFilter, "afterId" | "limit"> {
  const payload = req.payloadContains;
  return {
    statuses: statusFilter(req.statuses),
    types: canonical(req.types),
    queues: canonical(req.queues),
    workerId: req.workerId === "" ? undefined : req.workerId,
    scheduleId: req.scheduleId === "" ? undefined : req.scheduleId,
    created: parseTimeRange(req.created, "created"),
    finished: parseTimeRange(req.finished, "finished"),
    // {} is contained in every payload: no filter.
    payloadContains: payload === undefined || Object.keys(payload).length === 0 ? undefined : (sortKeys(payload) as JsonObject),
    textQuery: textQuery(req.textQuery),
    attemptsAbove: attemptsAbove(req.attemptsAbove),
    order: sortOrder(req.order),
  };
}

/**
 * The page-token scope of a filter: its every field, canonical, so a token only resumes the
 * very list that issued it, whatever order the request listed repeated values or keys in.
 */
function scopeOf(f: Omit<ListJobsFilter, "afterId" | "limit">): string {
  const ms = (d: Date | undefined) => d?.getTime() ?? null;
  return `jobs:${JSON.stringify([
    f.statuses,
    f.types,
    f.queues,
    f.workerId ?? null,
    f.scheduleId ?? null,
    [ms(f.created.from), ms(f.created.before)],
    [ms(f.finished.from), ms(f.finished.before)],
    f.payloadContains ?? null,
    f.textQuery ?? null,
    f.attemptsAbove ?? null,
    f.order,
  ])}`;
}

/**
 * ListJobs: jobs filtered by status, type, queue, worker, created and finished time, payload
 * containment, full text and attempts, in creation order, keyset-paged, read from the replica.
 * InvalidArgument naming the field for an unspecified or unknown status or order, a page size
 * outside 1..500, a bad timestamp or a range whose start is not before its end, a text query
 * over 500 characters, a negative attempts_above, or a page token this list did not issue for
 * these filters and this order.
 */
export const listJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["listJobs"] =>
  async (req) => {
    const size = pageSize(req.pageSize, LIST_JOBS_DEFAULT_PAGE_SIZE, LIST_JOBS_MAX_PAGE_SIZE);
    const filter = parseListJobs(req);
    const scope = scopeOf(filter);
    const rows = await readJobs(d.readDb, {
      ...filter,
      afterId: d.pageTokens.decode(req.pageToken, scope, isJobCursor),
      limit: size + 1,
    });
    const page = d.pageTokens.pageOf(rows, size, scope, (last) => last.id);
    return { jobs: page.items.map(jobToProto), nextPageToken: page.next };
  };
