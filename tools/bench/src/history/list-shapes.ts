import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, timestampMs } from "@bufbuild/protobuf/wkt";
import { type Job, JobStatus, type ListJobsRequestSchema, type ListJobsResponse, SortOrder } from "@taskflow/proto";
import { BIG_CUSTOMER_SHARE, BIG_CUSTOMERS, CUSTOMERS, JOB_TYPES, QUEUES, WORKERS } from "./catalog.js";
import { DEEP_PAGE } from "./sample-facts.js";
import { defineShape, type HistoryClient, PAGE_SIZE, type Shape, type ShapeContext, ShapeUnavailable, TARGET_MS } from "./shape.js";
import { VOCABULARY } from "./vocabulary.js";

type ListRequest = MessageInitShape<typeof ListJobsRequestSchema>;

/** One drawn ListJobs request and how to tell whether the page answers it. */
interface Drawn {
  req: ListRequest;
  /** What is wrong with `job` on the page (a filter the service ignored), or undefined. */
  mismatch(job: Job): string | undefined;
  /** What is wrong with the page as a whole, or undefined. */
  pageMismatch?(jobs: readonly Job[]): string | undefined;
}

const HOUR_MS = 3_600_000;
/** Distinct filters the deep-page shape walks to page 49 for (49 untimed calls each). */
const DEEP_WALKS = 4;

function listShape(name: string, requests: (ctx: ShapeContext, n: number) => Promise<Drawn[]>): Shape {
  return defineShape<Drawn, ListJobsResponse>({
    name,
    targetMs: TARGET_MS.list,
    requests,
    send: (client, d) => client.listJobs({ pageSize: PAGE_SIZE, ...d.req }),
    check: (d, res) => {
      for (const job of res.jobs) {
        const problem = d.mismatch(job);
        if (problem !== undefined) return `job ${job.id}: ${problem}`;
      }
      return d.pageMismatch?.(res.jobs);
    },
  });
}

/** A shape whose requests are independent draws of `draw`. */
const drawnShape = (name: string, draw: (ctx: ShapeContext) => Drawn): Shape =>
  listShape(name, (ctx, n) => Promise.resolve(Array.from({ length: n }, () => draw(ctx))));

const is = (what: string, actual: unknown, expected: unknown): string | undefined =>
  actual === expected ? undefined : `${what} ${String(actual)}`;

/** Failed jobs of one type: the dashboard's "what failed" view. */
function failedOfType(type: string): Drawn {
  return {
    req: { statuses: [JobStatus.FAILED], types: [type] },
    mismatch: (job) => is("status", JobStatus[job.status], "FAILED") ?? is("type", job.type, type),
  };
}

/** Walks to page DEEP_PAGE - 1 of failed jobs of a few deep types; requests ask for page DEEP_PAGE. */
async function deepPages(ctx: ShapeContext, n: number): Promise<Drawn[]> {
  const types = ctx.facts.deepTypes.slice(0, DEEP_WALKS);
  if (types.length === 0) throw new ShapeUnavailable(`no type has ${DEEP_PAGE} pages of failed jobs`);
  const walks = await Promise.all(
    types.map(async (type) => {
      const first = failedOfType(type);
      const pageToken = await tokenOfPage(ctx.client, first.req, DEEP_PAGE);
      return { ...first, req: { ...first.req, pageToken }, pageMismatch: fullPage };
    }),
  );
  return Array.from({ length: n }, () => ctx.rng.pick(walks));
}

const fullPage = (jobs: readonly Job[]): string | undefined =>
  jobs.length === PAGE_SIZE ? undefined : `page ${DEEP_PAGE} holds ${jobs.length} jobs`;

/** The page token that fetches page `page` of `req`'s list, by walking the pages before it. */
async function tokenOfPage(client: HistoryClient, req: ListRequest, page: number): Promise<string> {
  let pageToken = "";
  for (let p = 1; p < page; p++) {
    const res = await client.listJobs({ pageSize: PAGE_SIZE, ...req, pageToken });
    if (res.nextPageToken === "") throw new ShapeUnavailable(`the list ends at page ${p}`);
    pageToken = res.nextPageToken;
  }
  return pageToken;
}

/** One whole hour of the time frame, and a queue. */
function queueHour(ctx: ShapeContext): Drawn {
  const first = Math.ceil(ctx.tl.startMs / HOUR_MS) * HOUR_MS;
  const last = Math.floor(ctx.tl.endMs / HOUR_MS) * HOUR_MS - HOUR_MS;
  const from = first + ctx.rng.int(0, Math.max(0, (last - first) / HOUR_MS)) * HOUR_MS;
  const queue = ctx.rng.pick(QUEUES);
  return {
    req: { queues: [queue], created: { startTime: timestampFromDate(new Date(from)), endTime: timestampFromDate(new Date(from + HOUR_MS)) } },
    mismatch: (job) => {
      const at = job.createdAt === undefined ? Number.NaN : timestampMs(job.createdAt);
      return is("queue", job.queue, queue) ?? (at >= from && at < from + HOUR_MS ? undefined : `created at ${at}, outside the hour`);
    },
  };
}

/** A word of the notes, drawn among vocabulary frequency ranks lo..hi - 1. */
const word = (ctx: ShapeContext, lo: number, hi: number): string => VOCABULARY[ctx.rng.int(lo, hi - 1)] as string;

/**
 * Two different words of ranks lo..hi - 1. A word drawn twice would make a one-word search that
 * PostgreSQL also misjudges: it takes `w & w` for two independent words, expects far fewer
 * matches than there are, and reads them all through the GIN index instead of stopping early.
 */
function twoWords(ctx: ShapeContext, lo: number, hi: number): string[] {
  const first = word(ctx, lo, hi);
  for (;;) {
    const second = word(ctx, lo, hi);
    if (second !== first) return [first, second];
  }
}

/** Full-text search for every word of `words`, which a matching job's note or error holds. */
function search(words: string[]): Drawn {
  return {
    req: { textQuery: words.join(" ") },
    mismatch: (job) => {
      const note = job.payload?.["note"];
      const held = new Set(`${typeof note === "string" ? note : ""} ${job.error}`.split(" "));
      const missing = words.find((w) => !held.has(w));
      return missing === undefined ? undefined : `no "${missing}" in its note or error`;
    },
  };
}

function oldestFirst(ctx: ShapeContext): Drawn {
  const status = ctx.rng.pick([JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.COMPLETED]);
  return {
    req: { statuses: [status], order: SortOrder.OLDEST_FIRST },
    mismatch: (job) => is("status", JobStatus[job.status], JobStatus[status]),
    pageMismatch: (jobs) => (jobs.some((job, i) => i > 0 && job.id < (jobs[i - 1] as Job).id) ? "jobs are not oldest first" : undefined),
  };
}

function customer(ctx: ShapeContext): Drawn {
  const id = ctx.rng.chance(BIG_CUSTOMER_SHARE) ? ctx.rng.int(1, BIG_CUSTOMERS) : ctx.rng.int(1, CUSTOMERS);
  return { req: { payloadContains: { customer_id: id } }, mismatch: (job) => is("customer_id", job.payload?.["customer_id"], id) };
}

const randomType = (ctx: ShapeContext): string => ctx.rng.pick(JOB_TYPES).name;

/** The ListJobs shapes: filtered pages, a deep page, containment, full text and order. */
export const LIST_SHAPES: readonly Shape[] = [
  drawnShape("list_status_type_p1", (ctx) => failedOfType(randomType(ctx))),
  listShape("list_status_type_p50", deepPages),
  drawnShape("list_queue_created_range", queueHour),
  drawnShape("list_worker", (ctx) => {
    const worker = ctx.rng.pick(WORKERS).id;
    return { req: { workerId: worker }, mismatch: (job) => is("worker", job.workerId, worker) };
  }),
  drawnShape("list_containment", customer),
  drawnShape("list_fulltext", (ctx) => search([word(ctx, 100, 600)])),
  drawnShape("list_fulltext_two_words", (ctx) => search(twoWords(ctx, 10, 80))),
  drawnShape("list_attempts_above", (ctx) => {
    const type = randomType(ctx);
    return { req: { attemptsAbove: 2, types: [type] }, mismatch: (job) => (job.attempts > 2 ? is("type", job.type, type) : `attempts ${job.attempts}`) };
  }),
  drawnShape("list_oldest_first", oldestFirst),
];
