import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { withClient } from "./bench-database.js";
import { COPY_EVENTS_SQL, COPY_JOBS_SQL, eventLines, jobLine } from "./copy-lines.js";
import { BLOCK_SIZE, type GeneratedJob, generateJobs, type LoadPlan } from "./generate-jobs.js";
import { insertWorkers, tallyJob, type WorkerTally } from "./insert-workers.js";

/** What a load wrote and how long it took. */
export interface LoadResult {
  jobs: number;
  events: number;
  workers: number;
  /** Seconds of COPY, worker rows and VACUUM ANALYZE together. */
  seconds: number;
}

export interface LoadOptions {
  /** Ranges of jobs loaded side by side, each through its own two COPY connections. */
  streams: number;
  /** Called now and then with the number of jobs written so far. */
  onProgress?: (jobs: number) => void;
  signal?: AbortSignal;
}

/**
 * InsertJobs sets `search`, which COPY bypasses: while the bench loads, a row trigger sets it as
 * InsertJobs and AppendEvents leave it for a payload without secret-named keys (the generator
 * makes none), with the job's final error.
 */
const FILL_SEARCH_SQL = `
CREATE FUNCTION bench_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search := taskflow_search_vector(NEW.payload, NEW.error);
  RETURN NEW;
END $$;
CREATE TRIGGER bench_fill_search BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION bench_fill_search();`;
const STOP_FILLING_SEARCH_SQL = "DROP TRIGGER bench_fill_search ON jobs; DROP FUNCTION bench_fill_search();";

/** Jobs per string handed to a COPY stream: large writes, few callbacks. */
const LINES_PER_CHUNK = 256;

/**
 * Loads `plan` into the (migrated, partitioned) database at `url`: jobs and their events with
 * `COPY ... FROM STDIN` in text format, generated on the fly, then the workers with counts
 * that match the events, then `VACUUM ANALYZE` so the planner knows the data and index-only
 * scans see all-visible pages. Each stream loads a contiguous range of jobs; jobs and events
 * of a range go over two connections at once, each pass regenerating the same jobs from the
 * seed rather than holding them.
 */
export async function loadHistory(url: string, plan: LoadPlan, opts: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const progress = new Progress(plan.jobs, opts.onProgress);
  await withClient(url, (c) => c.query(FILL_SEARCH_SQL));
  const ranges = await Promise.all(
    splitRange(plan.jobs, opts.streams).map(([from, to]) => loadRange(url, plan, from, to, progress, opts.signal)),
  ).finally(() => withClient(url, (c) => c.query(STOP_FILLING_SEARCH_SQL)));
  const workers = await insertWorkers(url, plan, ranges.map((r) => r.tally));
  await withClient(url, async (c) => {
    await c.query("SET maintenance_work_mem = '512MB'");
    await c.query("VACUUM (ANALYZE) jobs, job_events, workers");
  });
  return {
    jobs: ranges.reduce((sum, r) => sum + r.jobs, 0),
    events: ranges.reduce((sum, r) => sum + r.events, 0),
    workers,
    seconds: (performance.now() - started) / 1000,
  };
}

interface RangeLoad {
  jobs: number;
  events: number;
  tally: Map<string, WorkerTally>;
}

/** Copies jobs `from` to `to - 1` and their events, side by side. */
async function loadRange(url: string, plan: LoadPlan, from: number, to: number, progress: Progress, signal?: AbortSignal): Promise<RangeLoad> {
  const tally = new Map<string, WorkerTally>();
  const jobRows = lines(generateJobs(plan, from, to), (j) => {
    progress.add(1);
    return jobLine(j);
  });
  const eventRows = lines(generateJobs(plan, from, to), (j) => {
    tallyJob(tally, j);
    return eventLines(j);
  });
  const [jobs, events] = await Promise.all([copy(url, COPY_JOBS_SQL, jobRows, signal), copy(url, COPY_EVENTS_SQL, eventRows, signal)]);
  return { jobs, events, tally };
}

/** [from, to) ranges covering 0..total, cut at block boundaries so no stream replays a block. */
export function splitRange(total: number, parts: number): [number, number][] {
  const blocks = Math.ceil(total / BLOCK_SIZE);
  const per = Math.ceil(blocks / Math.max(1, parts));
  const ranges: [number, number][] = [];
  for (let b = 0; b < blocks; b += per) ranges.push([b * BLOCK_SIZE, Math.min(total, (b + per) * BLOCK_SIZE)]);
  return ranges;
}

/** The lines of `jobs`, {@link LINES_PER_CHUNK} jobs to a string. */
function* lines(jobs: Iterable<GeneratedJob>, format: (j: GeneratedJob) => string): Generator<string> {
  let chunk = "";
  let n = 0;
  for (const j of jobs) {
    chunk += format(j);
    if (++n === LINES_PER_CHUNK) {
      yield chunk;
      chunk = "";
      n = 0;
    }
  }
  if (chunk !== "") yield chunk;
}

/** Streams `source` into `COPY sql` on a connection of its own; resolves with the rows copied. */
async function copy(url: string, sql: string, source: Iterable<string>, signal: AbortSignal | undefined): Promise<number> {
  const client = new pg.Client({ connectionString: url, application_name: "taskflow-bench-history-load" });
  await client.connect();
  try {
    // One transaction per COPY; not waiting for the WAL flush at its commit costs nothing here.
    await client.query("SET synchronous_commit = off");
    // The GIN indexes (payload, search) queue new entries in a pending list and merge it into
    // the index whenever it fills: a larger list, merged with more memory, merges less often.
    // The VACUUM after the load flushes what is left, so the queries meet a clean index.
    await client.query("SET gin_pending_list_limit = '64MB'");
    await client.query("SET work_mem = '64MB'");
    const target = client.query(copyFrom(sql));
    await pipeline(Readable.from(source), target, signal === undefined ? {} : { signal });
    return target.rowCount;
  } finally {
    await client.end();
  }
}

/** Reports progress every tenth of the jobs. */
class Progress {
  private done = 0;
  private nextReport: number;

  constructor(
    private readonly total: number,
    private readonly report: ((jobs: number) => void) | undefined,
  ) {
    this.nextReport = Math.ceil(total / 10);
  }

  add(n: number): void {
    this.done += n;
    if (this.report !== undefined && this.done >= this.nextReport) {
      this.report(this.done);
      this.nextReport += Math.ceil(this.total / 10);
    }
  }
}
