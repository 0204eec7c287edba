import { createHash } from "node:crypto";
import { JOB_COLUMNS, type Queryable, type Statement } from "../queryable.js";
import type { JobRow, JobStatusText, JsonObject } from "../rows.js";

/** Creation order of a job list: ids are UUIDv7, so id order is creation order. */
export type JobOrder = "newest_first" | "oldest_first";

/** A half-open range of instants [from, before); undefined leaves that side open. */
export interface InstantRange {
  from: Date | undefined;
  before: Date | undefined;
}

/** No bound on either side. */
export const ANY_TIME: InstantRange = { from: undefined, before: undefined };

/** What ListJobs filters on. Filters combine with AND; values of one list with OR. */
export interface ListJobsFilter {
  /** Any of these statuses; empty means all. */
  statuses: readonly JobStatusText[];
  /** Any of these types; empty means all. */
  types: readonly string[];
  /** Any of these queues; empty means all. */
  queues: readonly string[];
  /** Jobs whose latest attempt ran on this worker (`jobs.worker_id`); undefined means any. */
  workerId: string | undefined;
  /** Runs of this schedule (`jobs.schedule_id`); undefined means any. */
  scheduleId: string | undefined;
  /** Jobs created in this range. Jobs are created at whole milliseconds (their id's timestamp). */
  created: InstantRange;
  /** Jobs that reached a terminal status in this range (`completed_at`). */
  finished: InstantRange;
  /** Jobs whose payload contains this object (`@>`); undefined means any. */
  payloadContains: JsonObject | undefined;
  /** Web-search syntax over payload values and the error; undefined means any. */
  textQuery: string | undefined;
  /** Jobs with more attempts than this; undefined means any. */
  attemptsAbove: number | undefined;
  order: JobOrder;
  /** Id of the last job of the previous page; the page continues past it in `order`. */
  afterId: string | undefined;
  /** Rows to return, at least 1. */
  limit: number;
}

/** The filter that keeps every job, newest first, one page of 50. */
export const NO_JOB_FILTER: ListJobsFilter = {
  statuses: [],
  types: [],
  queues: [],
  workerId: undefined,
  scheduleId: undefined,
  created: ANY_TIME,
  finished: ANY_TIME,
  payloadContains: undefined,
  textQuery: undefined,
  attemptsAbove: undefined,
  order: "newest_first",
  afterId: undefined,
  limit: 50,
};

const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * The smallest UUIDv7 of the millisecond `at` falls in: its 48-bit Unix millisecond prefix and
 * zeros, as SQL `taskflow_uuid_floor` computes it. A created range [a, b) is the id range
 * [uuidFloor(a), uuidFloor(b)). Computed here rather than in SQL so the statement compares the
 * partition key with a plain uuid parameter, which PostgreSQL prunes on both in custom plans
 * and, at executor start-up, in generic ones. An instant before 1970 gives the nil UUID, below
 * every UUIDv7.
 */
export function uuidFloor(at: Date): string {
  const ms = Math.floor(at.getTime());
  if (!(ms > 0)) return NIL_UUID;
  const hex = ms.toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** Collects the conditions of a statement and the parameters they refer to. */
class Where {
  readonly values: unknown[] = [];
  readonly conditions: string[] = [];

  /** Adds `condition`, in which `$?` stands for the next parameter, holding `value`. */
  add(condition: string, value: unknown): void {
    this.values.push(value);
    const n = this.values.length;
    this.conditions.push(condition.replace("$?", () => `$${n}`));
  }

  /**
   * One value becomes `col = $n`, several `col = ANY ($n::text[])`: PostgreSQL 15 walks the
   * (col, id) index in id order only for an equality, and with ANY it falls back to the
   * primary key and a filter.
   */
  anyOf(column: string, items: readonly string[]): void {
    if (items.length === 1) this.add(`${column} = $?`, items[0]);
    else if (items.length > 1) this.add(`${column} = ANY ($?::text[])`, items);
  }

  /** Adds `condition`, which has no parameter. */
  fixed(condition: string): void {
    this.conditions.push(condition);
  }

  /** `column` in [from, before); an undefined end adds no condition. */
  range(column: string, cast: string, from: unknown, before: unknown): void {
    if (from !== undefined) this.add(`${column} >= $?::${cast}`, from);
    if (before !== undefined) this.add(`${column} < $?::${cast}`, before);
  }
}

/**
 * The statuses that a partial index of `jobs` holds, with its predicate word for word. The
 * statement compares statuses with parameters, from which PostgreSQL cannot prove in a generic
 * plan that the index applies; so a list of statuses all within one set also carries the set's
 * predicate, which changes no answer and lets the partial index serve the list.
 */
const STATUS_SUBSETS: readonly { statuses: readonly JobStatusText[]; predicate: string }[] = [
  /** idx_jobs_unfinished_id (migration 0007). */
  { statuses: ["pending", "processing"], predicate: "status IN ('pending', 'processing')" },
  /** idx_jobs_failed_cancelled (migration 0009). */
  { statuses: ["failed", "cancelled"], predicate: "status IN ('failed', 'cancelled')" },
];

/**
 * Builds the statement of one page. The text is assembled from fixed fragments only, holding
 * just the filters given, and every value is a parameter. Each distinct text gets its own
 * stable name (a hash of the text), because pg prepares a named statement once per connection
 * and refuses one name for two texts. With `allMatches`, the jobs matching the filter are read
 * whole and then sorted (the filter sits in a subquery with `OFFSET 0`, which PostgreSQL plans
 * on its own), never by walking an index in id order until the page is full: for a stage of a
 * containment page (see {@link STAGE_AGES_MS}).
 */
export function listJobsQuery(f: ListJobsFilter, allMatches = false): Statement {
  const w = new Where();
  w.anyOf("status", f.statuses);
  const subset = STATUS_SUBSETS.find((set) => f.statuses.length > 0 && f.statuses.every((st) => set.statuses.includes(st)));
  if (subset !== undefined) w.fixed(subset.predicate);
  w.anyOf("type", f.types);
  w.anyOf("queue", f.queues);
  if (f.workerId !== undefined) w.add("worker_id = $?", f.workerId);
  if (f.scheduleId !== undefined) w.add("schedule_id = $?", f.scheduleId);
  const { from, before } = f.created;
  w.range("id", "uuid", from && uuidFloor(from), before && uuidFloor(before));
  w.range("completed_at", "timestamptz", f.finished.from?.toISOString(), f.finished.before?.toISOString());
  if (f.payloadContains !== undefined) w.add("payload @> $?::jsonb", JSON.stringify(f.payloadContains));
  if (f.textQuery !== undefined) w.add("search @@ websearch_to_tsquery('simple', $?::text)", f.textQuery);
  if (f.attemptsAbove !== undefined) w.add("attempts > $?::int", f.attemptsAbove);
  const newest = f.order === "newest_first";
  if (f.afterId !== undefined) w.add(newest ? "id < $?::uuid" : "id > $?::uuid", f.afterId);
  const filter = w.conditions.length === 0 ? "" : ` WHERE ${w.conditions.join(" AND ")}`;
  w.values.push(f.limit);
  const columns = JOB_COLUMNS.join(", ");
  const source = allMatches ? `(SELECT ${columns} FROM jobs${filter} OFFSET 0) j` : `jobs${filter}`;
  const text = `SELECT ${columns} FROM ${source} ORDER BY id ${newest ? "DESC" : "ASC"} LIMIT $${w.values.length}`;
  const key = `history_list_jobs_${createHash("sha1").update(text).digest("hex").slice(0, 12)}`;
  // A full-text or containment filter matches from no job to most of them depending on its
  // value, and the best plan follows that count: the GIN index for a rare word, a walk of the
  // primary key newest first for a common one. A prepared statement settles on one generic plan
  // after five calls, and the walk costs whole partitions when the word turns out rare; so these
  // statements are planned with their values on every call (a label, not a name; ~1 ms).
  const planPerCall = f.textQuery !== undefined || f.payloadContains !== undefined;
  return planPerCall ? { label: key, text, values: w.values } : { name: key, text, values: w.values };
}

/**
 * Reads one page of jobs in creation order, keyset-paged on id: a page starts past the previous
 * page's last id, so jobs created meanwhile (larger ids) never shift the pages being walked.
 * Newest first, they lie before the walk's start and never show up; oldest first, they come
 * at its end. A newest-first page with a full-text or containment filter is read in stages, the
 * last hour, the rest of the last day, the two days before, then the rest, until it is full (see
 * {@link STAGE_AGES_MS}).
 */
export async function listJobs(db: Queryable, f: ListJobsFilter, now = new Date()): Promise<JobRow[]> {
  const staged = f.order === "newest_first" && (f.textQuery !== undefined || f.payloadContains !== undefined);
  if (!staged) return run(db, f);
  const rows: JobRow[] = [];
  let before: Date | undefined;
  for (const from of [...STAGE_AGES_MS.map((ms) => new Date(now.getTime() - ms)), undefined]) {
    const stage = within(f.created, { from, before });
    before = from;
    // A page that continues past an older job has nothing to read in the stages newer than it.
    if (isEmpty(stage) || (from !== undefined && f.afterId !== undefined && f.afterId < uuidFloor(from))) continue;
    const afterId = rows.length === 0 ? f.afterId : undefined;
    const page = { ...f, created: stage, afterId, limit: f.limit - rows.length };
    rows.push(...(await run(db, page, f.payloadContains !== undefined)));
    if (rows.length >= f.limit) break;
  }
  return rows;
}

/**
 * Where the stages of a newest-first full-text or containment page begin, as ages: the last
 * hour, the rest of the last day, the two days before, then everything older. How many jobs such
 * a filter matches depends on its value (a common word, a customer with hundreds of jobs, a
 * region with most of them), and a page of a rare value read newest first in one statement
 * would fetch and sort every match, or walk the primary key through whole partitions. A stage
 * bounds both: a common value fills the page within the last hour, and a rarer one is read
 * through the GIN index one stage at a time, each holding few matches.
 *
 * Words are left to the planner, which estimates a tsvector match from the column's statistics
 * of its words and walks the primary key for a common word. It has no statistics of the values
 * inside a payload, and estimates `@>` from a sample of a hundred whole payloads: no match or one
 * in a hundred, for a customer whose few dozen jobs a day are one in two thousand; taking them
 * for common, it walked the whole day's primary key to find them. A containment stage therefore
 * reads its matches whole ({@link listJobsQuery}'s `allMatches`): for a common value, an hour's.
 */
export const STAGE_AGES_MS: readonly number[] = [3_600_000, 86_400_000, 3 * 86_400_000];

async function run(db: Queryable, f: ListJobsFilter, allMatches = false): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>(listJobsQuery(f, allMatches));
  return rows;
}

/** The intersection of two ranges. */
function within(a: InstantRange, b: InstantRange): InstantRange {
  const later = (x: Date | undefined, y: Date | undefined) => (x === undefined ? y : y === undefined || x > y ? x : y);
  const earlier = (x: Date | undefined, y: Date | undefined) => (x === undefined ? y : y === undefined || x < y ? x : y);
  return { from: later(a.from, b.from), before: earlier(a.before, b.before) };
}

const isEmpty = (r: InstantRange): boolean => r.from !== undefined && r.before !== undefined && r.from >= r.before;
