import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase } from "../../../test/fixtures.js";
import type { JobRow } from "../rows.js";
import { StatementTimings, timed } from "../statements.js";
import { appendEvents, type NewJobEvent } from "./append-events.js";
import { insertJobs } from "./insert-jobs.js";
import { listJobs, NO_JOB_FILTER } from "./list-jobs.js";

// What the write path costs PostgreSQL, counted where PostgreSQL counts it: statements, and the
// rows each one inserted and updated (pg_stat_xact_user_tables: this connection's counts not yet
// sent to the shared statistics, so read before and after the work).

const started = (id: string, worker = "w1"): NewJobEvent =>
  makeEvent(id, { seq: 2, type: "started", status: "processing", attempt: 1, workerId: worker, actor: `worker:${worker}` });
const completed = (id: string, seq = 3, attempt = 1): NewJobEvent =>
  makeEvent(id, { seq, type: "completed", status: "completed", attempt, workerId: "w1", result: { ok: true } });
const failed = (id: string, error: string): NewJobEvent =>
  makeEvent(id, { seq: 3, type: "failed", status: "failed", attempt: 1, workerId: "w1", error });
const retried = (id: string, error: string): NewJobEvent =>
  makeEvent(id, { seq: 3, type: "retry_scheduled", status: "pending", attempt: 1, workerId: "w1", error });

interface Counts {
  ins: number;
  upd: number;
  hot: number;
}

/** Rows this connection inserted, updated and updated HOT in the partitions of `parent`, not yet flushed. */
async function xactCounts(c: pg.PoolClient, parent: "jobs" | "job_events"): Promise<Counts> {
  const { rows } = await c.query<Counts>(
    `SELECT coalesce(sum(n_tup_ins), 0)::int AS ins, coalesce(sum(n_tup_upd), 0)::int AS upd,
            coalesce(sum(n_tup_hot_upd), 0)::int AS hot
     FROM pg_stat_xact_user_tables s JOIN pg_inherits i ON i.inhrelid = s.relid
     WHERE i.inhparent = $1::regclass`,
    [parent],
  );
  return rows[0] as Counts;
}

describe("the write path", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const newJobs = async (n: number, payload = { note: "invoice paid" }): Promise<string[]> =>
    (await insertJobs(f.pool, Array.from({ length: n }, () => makeJob({ payload })))).map((r) => r.id);

  /** Runs `work` in a transaction on one connection and returns the rows it wrote, then commits. */
  async function counted(work: (c: pg.PoolClient) => Promise<unknown>) {
    const c = await f.pool.connect();
    const read = async () => ({ jobs: await xactCounts(c, "jobs"), events: await xactCounts(c, "job_events") });
    const minus = (a: Counts, b: Counts): Counts => ({ ins: a.ins - b.ins, upd: a.upd - b.upd, hot: a.hot - b.hot });
    try {
      await c.query("BEGIN");
      const before = await read();
      await work(c);
      const after = await read();
      await c.query("COMMIT");
      return { jobs: minus(after.jobs, before.jobs), events: minus(after.events, before.events) };
    } finally {
      c.release();
    }
  }

  it("runs one statement per batch: InsertJobs and AppendEvents of many jobs each run one", async () => {
    const timings = new StatementTimings();
    const db = timed(f.pool, timings);
    const rows = await insertJobs(db, Array.from({ length: 40 }, () => makeJob()));
    await appendEvents(db, rows.flatMap((r) => [started(r.id), completed(r.id)]));
    expect(timings.snapshot().map(({ name, calls }) => ({ name, calls }))).toEqual([
      { name: "history_insert_jobs", calls: 1 },
      { name: "history_append_events", calls: 1 },
    ]);
  });

  it("writes a job's row once for all the transitions of it a batch holds, and inserts every event", async () => {
    const ids = await newJobs(6);
    const retriedId = ids[5] as string;
    const events = [
      ...ids.slice(0, 5).flatMap((id) => [started(id), completed(id)]),
      started(retriedId),
      retried(retriedId, "smtp timeout"),
      makeEvent(retriedId, { seq: 4, type: "started", status: "processing", attempt: 2, workerId: "w2" }),
      completed(retriedId, 5, 2),
    ];
    const counts = await counted((c) => appendEvents(c, events));
    expect(counts.jobs).toMatchObject({ ins: 0, upd: 6 });
    expect(counts.events).toMatchObject({ ins: events.length });
    const { rows } = await f.pool.query<JobRow>("SELECT * FROM jobs WHERE id = ANY($1)", [ids]);
    expect(rows.map((r) => [r.status, r.last_seq])).toEqual(
      expect.arrayContaining([...Array<[string, number]>(5).fill(["completed", 3]), ["completed", 5]]),
    );
    expect(rows.find((r) => r.id === retriedId)).toMatchObject({ error: "smtp timeout", attempts: 2, worker_id: "w2" });
  });

  it("writes a job's row once per batch when its transitions come apart", async () => {
    const ids = await newJobs(4);
    const first = await counted((c) => appendEvents(c, ids.map((id) => started(id))));
    const second = await counted((c) => appendEvents(c, ids.map((id) => completed(id))));
    expect([first.jobs.upd, second.jobs.upd]).toEqual([4, 4]);
  });

  it("writes no row for a batch applied again", async () => {
    const ids = await newJobs(3);
    const events = ids.flatMap((id) => [started(id), completed(id)]);
    await appendEvents(f.pool, events);
    const again = await counted((c) => appendEvents(c, events));
    expect(again).toEqual({ jobs: { ins: 0, upd: 0, hot: 0 }, events: { ins: 0, upd: 0, hot: 0 } });
  });

  it("makes the payload's words and the final error findable by text once a job has ended", async () => {
    const [done, broken] = await newJobs(2, { note: "quarterly ledger" });
    await appendEvents(f.pool, [started(done as string), completed(done as string)]);
    await appendEvents(f.pool, [started(broken as string), failed(broken as string, "disk quota exceeded")]);
    const find = async (textQuery: string) => (await listJobs(f.pool, { ...NO_JOB_FILTER, textQuery })).map((r) => r.id).sort();
    expect(await find("ledger")).toEqual([done, broken].sort());
    expect(await find("quota")).toEqual([broken]);
    const { rows } = await f.pool.query<{ same: boolean }>(
      `SELECT search = taskflow_search_vector(payload, error) AS same
       FROM jobs WHERE id = ANY($1)`,
      [[done, broken]],
    );
    expect(rows).toEqual([{ same: true }, { same: true }]);
  });
});

describe("the search vector", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
    // The migrations' two vector functions, each counting its calls: InsertJobs builds a job's
    // vector with the first, the update that changes its error rebuilds it with the second.
    await f.pool.query(`
      CREATE SEQUENCE search_builds;
      CREATE OR REPLACE FUNCTION taskflow_search_vector(searchable jsonb, error text) RETURNS tsvector
      LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        PERFORM nextval('search_builds');
        RETURN jsonb_to_tsvector('simple', searchable, '["string", "numeric"]') || setweight(to_tsvector('simple', coalesce(error, '')), 'A');
      END $$;
      CREATE OR REPLACE FUNCTION taskflow_search_with_error(search tsvector, error text) RETURNS tsvector
      LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        PERFORM nextval('search_builds');
        RETURN ts_filter(coalesce(search, ''), '{d}') || setweight(to_tsvector('simple', coalesce(error, '')), 'A');
      END $$;`);
  });
  afterAll(async () => {
    await f?.close();
  });

  const builds = async (): Promise<number> =>
    Number((await f.pool.query<{ n: string }>("SELECT last_value - 1 + is_called::int AS n FROM search_builds")).rows[0]?.n);

  it("is built once per job, when it is inserted, and again only by the batch that changes its error", async () => {
    const ids = (await insertJobs(f.pool, Array.from({ length: 3 }, () => makeJob()))).map((r) => r.id);
    const [ok, bad, flaky] = ids as [string, string, string];
    expect(await builds()).toBe(3);
    await appendEvents(f.pool, ids.map((id) => started(id)));
    await appendEvents(f.pool, [completed(ok)]);
    expect(await builds()).toBe(3);
    await appendEvents(f.pool, [failed(bad, "fatal"), retried(flaky, "smtp timeout")]);
    expect(await builds()).toBe(5);
    await appendEvents(f.pool, [
      makeEvent(flaky, { seq: 4, type: "started", status: "processing", attempt: 2, workerId: "w2" }),
      completed(flaky, 5, 2),
    ]);
    expect(await builds()).toBe(5);
    const { rows } = await f.pool.query<{ id: string }>("SELECT id FROM jobs WHERE search @@ to_tsquery('simple', 'fatal | smtp')");
    expect(rows.map((r) => r.id).sort()).toEqual([bad, flaky].sort());
  });

  it("swaps the error's words when the error changes, keeping the payload's", async () => {
    const [id] = (await insertJobs(f.pool, [makeJob({ payload: { note: "quarterly ledger" } })])).map((r) => r.id) as [string];
    await appendEvents(f.pool, [started(id), retried(id, "smtp timeout")]);
    await appendEvents(f.pool, [
      makeEvent(id, { seq: 4, type: "started", status: "processing", attempt: 2, workerId: "w2" }),
      makeEvent(id, { seq: 5, type: "failed", status: "failed", attempt: 2, workerId: "w2", error: "disk full" }),
    ]);
    const { rows } = await f.pool.query<{ words: string[] }>(
      "SELECT array(SELECT lexeme FROM unnest(search) ORDER BY 1) AS words FROM jobs WHERE id = $1",
      [id],
    );
    expect(rows).toEqual([{ words: ["disk", "full", "ledger", "quarterly"] }]);
  });
});
