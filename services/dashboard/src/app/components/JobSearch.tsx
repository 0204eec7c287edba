import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Job, type ListJobsRequestSchema, type RetryJobsRequestSchema, JobStatus, JobStatusSchema, SortOrder, enumFromText, enumText } from "@taskflow/proto";
import type { Api } from "../api.js";

/** The statuses a search offers, as the URL spells them. */
export const STATUS_NAMES = ["pending", "processing", "completed", "failed", "cancelled"] as const;

/** Jobs per page of the Jobs page. */
export const JOBS_PAGE_SIZE = 50;

/** The URL parameters of a job search (a link per filter: the whole search lives in the URL). */
export const PARAM = {
  status: "status",
  type: "type",
  queue: "queue",
  worker: "worker",
  schedule: "schedule",
  text: "text",
  payload: "payload",
  attempts: "attempts",
  order: "order",
  from: "from",
  to: "to",
  finishedFrom: "finished_from",
  finishedTo: "finished_to",
  page: "page",
} as const;

type ListJobsInit = MessageInitShape<typeof ListJobsRequestSchema>;
type RetryJobsInit = MessageInitShape<typeof RetryJobsRequestSchema>;

/** A job search read from the URL. */
export interface JobSearch {
  /** The ListJobs request of the filters, without page size and token. */
  request: ListJobsInit;
  /** The same for equal filters, whatever the page: the query key of the filters. */
  key: string;
  /** `next_page_token` of the page before the shown one; empty for the first page. */
  page: string;
  /** What in the URL is not a valid filter; the search is not run while there is any. */
  problems: string[];
  /** Whether a job changed now could match the filters WatchJobs does not apply (worker, schedule, times, attempts). */
  couldMatch: (job: Job) => boolean;
  /** Whether history alone can tell a match (a text or payload filter). */
  approximate: boolean;
}

/** `a,b` and repeated parameters as one list, blanks dropped. */
const listOf = (params: URLSearchParams, name: string): string[] =>
  params
    .getAll(name)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");

/** Reads the search the URL holds; every malformed parameter is named in `problems`. */
export function parseJobSearch(params: URLSearchParams): JobSearch {
  const problems: string[] = [];
  const statuses = listOf(params, PARAM.status).map((s) => {
    const status = enumFromText<JobStatus>(JobStatusSchema, s);
    if (status === JobStatus.UNSPECIFIED) problems.push(`status: unknown status "${s}"`);
    return status;
  });
  const time = (name: string): Date | undefined => {
    const v = params.get(name)?.trim() ?? "";
    if (v === "") return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) problems.push(`${name}: not a time, "${v}"`);
    return Number.isNaN(d.getTime()) ? undefined : d;
  };
  const created = { from: time(PARAM.from), to: time(PARAM.to) };
  const finished = { from: time(PARAM.finishedFrom), to: time(PARAM.finishedTo) };
  const payloadText = params.get(PARAM.payload)?.trim() ?? "";
  const payload = payloadText === "" ? undefined : parseJsonObject(payloadText);
  if (typeof payload === "string") problems.push(`payload: ${payload}`);
  const attemptsText = params.get(PARAM.attempts)?.trim() ?? "";
  const attempts = attemptsText === "" ? undefined : Number(attemptsText);
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1)) problems.push(`attempts: must be a whole number from 1, got "${attemptsText}"`);
  const orderText = params.get(PARAM.order) ?? "newest";
  if (orderText !== "newest" && orderText !== "oldest") problems.push(`order: must be newest or oldest, got "${orderText}"`);
  const workerId = params.get(PARAM.worker)?.trim() ?? "";
  const scheduleId = params.get(PARAM.schedule)?.trim() ?? "";
  const textQuery = params.get(PARAM.text)?.trim() ?? "";
  const request: ListJobsInit = {
    statuses,
    types: listOf(params, PARAM.type),
    queues: listOf(params, PARAM.queue),
    workerId,
    scheduleId,
    textQuery,
    created: range(created),
    finished: range(finished),
    payloadContains: typeof payload === "object" ? payload : undefined,
    // "At least n attempts" is "more than n - 1".
    attemptsAbove: attempts !== undefined && attempts >= 1 ? attempts - 1 : undefined,
    order: orderText === "oldest" ? SortOrder.OLDEST_FIRST : SortOrder.NEWEST_FIRST,
  };
  const rest = new URLSearchParams(params);
  rest.delete(PARAM.page);
  rest.sort();
  const within = (t: Job["createdAt"], span: { from?: Date | undefined; to?: Date | undefined }): boolean => {
    if (span.from === undefined && span.to === undefined) return true;
    if (t === undefined) return false;
    const ms = timestampDate(t).getTime();
    return (span.from === undefined || ms >= span.from.getTime()) && (span.to === undefined || ms < span.to.getTime());
  };
  return {
    request,
    key: rest.toString(),
    page: params.get(PARAM.page) ?? "",
    problems,
    approximate: textQuery !== "" || payload !== undefined,
    couldMatch: (job) =>
      (workerId === "" || job.workerId === workerId) &&
      (scheduleId === "" || job.scheduleId === scheduleId) &&
      (attempts === undefined || job.attempts >= attempts) &&
      within(job.createdAt, created) &&
      within(job.completedAt, finished),
  };
}

function range(span: { from?: Date | undefined; to?: Date | undefined }): ListJobsInit["created"] {
  if (span.from === undefined && span.to === undefined) return undefined;
  return {
    startTime: span.from === undefined ? undefined : timestampFromDate(span.from),
    endTime: span.to === undefined ? undefined : timestampFromDate(span.to),
  };
}

/** The JSON object `text` holds, or what is wrong with it. */
export function parseJsonObject(text: string): JsonObject | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${err instanceof Error ? err.message : String(err)})`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "must be a JSON object, like {\"customer\": {\"id\": 42}}";
  return value as JsonObject;
}

/** The statuses RetryJobs takes. */
const RETRYABLE = new Set([JobStatus.FAILED, JobStatus.CANCELLED]);

/**
 * What RetryJobs makes of a search: its filter, built from the search's own ListJobs request
 * (statuses, queues, types, finished range and text, as ListJobs reads them), when the search
 * selects only failed and/or cancelled jobs and uses no filter RetryJobs lacks. Otherwise what
 * stands in the way (`blockers`, named as the form labels them) and whether the status filter
 * selects failed or cancelled jobs at all (`retryable`).
 */
export type RetryFilter = { ok: true; request: RetryJobsInit } | { ok: false; retryable: boolean; blockers: string[] };

/** The {@link RetryFilter} of a search's ListJobs request (`search.request`), without limit and dry run. */
export function retryFilterOf(r: ListJobsInit): RetryFilter {
  const statuses = r.statuses ?? [];
  const others = statuses.filter((s) => !RETRYABLE.has(s));
  const blockers: string[] = [];
  if (others.length > 0) blockers.push(`status ${others.map((s) => enumText(JobStatusSchema, s) ?? String(s)).join(", ")}`);
  if ((r.workerId ?? "") !== "") blockers.push("worker id");
  if ((r.scheduleId ?? "") !== "") blockers.push("schedule id");
  if (r.created !== undefined) blockers.push("created time");
  if (r.attemptsAbove !== undefined) blockers.push("at least attempts");
  if (r.payloadContains !== undefined) blockers.push("payload contains");
  if (statuses.length === 0 || blockers.length > 0) return { ok: false, retryable: others.length < statuses.length, blockers };
  return { ok: true, request: { statuses, queues: r.queues ?? [], types: r.types ?? [], finished: r.finished, textQuery: r.textQuery ?? "" } };
}

/**
 * The query of a search's page of jobs: its key and the one ListJobs call, shared by the Jobs
 * page and the prefetch that starts the call before the page is drawn (main.tsx).
 */
export function jobsPageQuery(api: Api, search: JobSearch) {
  return {
    queryKey: ["jobs", search.key, search.page],
    queryFn: ({ signal }: { signal: AbortSignal }) =>
      api.history.listJobs({ ...search.request, pageSize: JOBS_PAGE_SIZE, pageToken: search.page }, { signal }),
  };
}
