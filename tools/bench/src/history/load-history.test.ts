import { testDatabaseAdminUrl } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchDatabase, createBenchDatabase, prepareSchema } from "./bench-database.js";
import { BLOCK_SIZE, type GeneratedJob, generateJobs, type LoadPlan } from "./generate-jobs.js";
import { loadHistory, type LoadResult, splitRange } from "./load-history.js";
import { VOCABULARY } from "./vocabulary.js";

describe("splitRange", () => {
  it("covers every job once in block-aligned ranges", () => {
    expect(splitRange(6_000, 2)).toEqual([
      [0, BLOCK_SIZE],
      [BLOCK_SIZE, 6_000],
    ]);
    expect(splitRange(100, 4)).toEqual([[0, 100]]);
    const ranges = splitRange(10 * BLOCK_SIZE + 7, 3);
    expect(ranges.flatMap(([a, b]) => [a, b])).toEqual([0, 4 * BLOCK_SIZE, 4 * BLOCK_SIZE, 8 * BLOCK_SIZE, 8 * BLOCK_SIZE, 10 * BLOCK_SIZE + 7]);
  });
});

describe("loadHistory against PostgreSQL", () => {
  const plan: LoadPlan = { seed: 11, jobs: 6_000, days: 2, endMs: Date.now() };
  const jobs: GeneratedJob[] = [...generateJobs(plan)];
  let db: BenchDatabase;
  let sql: pg.Pool;
  let load: LoadResult;

  const one = async <T>(text: string, values: unknown[] = []): Promise<T> => {
    const { rows } = await sql.query(text, values);
    return rows[0] as T;
  };

  beforeAll(async () => {
    db = await createBenchDatabase(testDatabaseAdminUrl());
    await prepareSchema(db.url, plan);
    load = await loadHistory(db.url, plan, { streams: 2 });
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("copies every job, event and worker, none into a DEFAULT partition", async () => {
    const events = jobs.reduce((n, j) => n + j.events.length, 0);
    expect(load).toMatchObject({ jobs: 6_000, events, workers: 50 });
    expect(await one("SELECT (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_events)::int AS events")).toEqual({ jobs: 6_000, events });
    expect(await one("SELECT (SELECT count(*) FROM jobs_default)::int AS j, (SELECT count(*) FROM job_events_default)::int AS e")).toEqual({ j: 0, e: 0 });
  });

  it("stores each job as generated, created at its id's time", async () => {
    expect(await one("SELECT count(*)::int AS n FROM jobs WHERE created_at <> taskflow_uuid_time(id)")).toEqual({ n: 0 });
    for (const j of [jobs[0], jobs[4_321], jobs.at(-1)] as GeneratedJob[]) {
      const row = await one<Record<string, unknown>>("SELECT * FROM jobs WHERE id = $1", [j.id]);
      expect(row).toMatchObject({
        type: j.type,
        queue: j.queue,
        payload: j.payload,
        status: j.status,
        attempts: j.attempts,
        error: j.error,
        worker_id: j.workerId,
        last_seq: j.lastSeq,
        created_at: new Date(j.createdMs),
        completed_at: j.completedMs === null ? null : new Date(j.completedMs),
      });
    }
  });

  it("leaves each job at the status of its last event", async () => {
    const mismatched = await one("SELECT count(*)::int AS n FROM jobs j JOIN job_events e ON e.job_id = j.id AND e.seq = j.last_seq WHERE e.status <> j.status");
    expect(mismatched).toEqual({ n: 0 });
  });

  it("counts each worker's outcomes and current jobs as the events say", async () => {
    const wrong = await one(`
      SELECT count(*)::int AS n FROM workers w
      LEFT JOIN worker_outcome_counts c ON c.worker_id = w.id
      WHERE coalesce(c.completed, 0) <> (SELECT count(*) FROM job_events e WHERE e.worker_id = w.id AND e.type = 'completed')
         OR coalesce(c.failed, 0) <> (SELECT count(*) FROM job_events e WHERE e.worker_id = w.id AND e.type IN ('failed', 'retry_scheduled'))
         OR jsonb_array_length(current_jobs) <> (SELECT count(*) FROM jobs j WHERE j.worker_id = w.id AND j.status = 'processing')`);
    expect(wrong).toEqual({ n: 0 });
    expect(
      await one(
        "SELECT count(*) FILTER (WHERE status = 'gone')::int AS gone, (SELECT sum(completed)::int FROM worker_outcome_counts) AS completed FROM workers",
      ),
    ).toEqual({
      gone: 5,
      completed: jobs.filter((j) => j.status === "completed").length,
    });
  });

  it("makes the notes' words findable with full-text search", async () => {
    const word = VOCABULARY[40] as string;
    const holding = jobs.filter((j) => j.payload.note.split(" ").includes(word)).length;
    expect(holding).toBeGreaterThan(0);
    expect(await one("SELECT count(*)::int AS n FROM jobs WHERE search @@ websearch_to_tsquery('simple', $1)", [word])).toEqual({ n: holding });
  });

  it("analyzes the tables it loaded", async () => {
    const stats = await one<{ n: number }>("SELECT count(*)::int AS n FROM pg_stats WHERE tablename LIKE 'jobs_p%' AND attname = 'status'");
    expect(stats.n).toBeGreaterThan(0);
  });
});
