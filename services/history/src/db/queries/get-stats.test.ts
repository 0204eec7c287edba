import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase, uuidv7 } from "../../../test/fixtures.js";
import type { JobEventTypeText, JobStatusText } from "../rows.js";
import { appendEvents } from "./append-events.js";
import {
  getStats,
  STATS_CREATED_SQL,
  STATS_DURATIONS_SQL,
  STATS_FINISHED_BY_QUEUE_SQL,
  STATS_FINISHED_SQL,
  STATS_TOP_ERRORS_SQL,
  type StatsQuery,
  type ThroughputCounts,
} from "./get-stats.js";
import { insertJobs } from "./insert-jobs.js";

/** 2030-06-10 at h:m:s.ms UTC. */
const T = (h: number, m: number, s = 0, ms = 0) => new Date(Date.UTC(2030, 5, 10, h, m, s, ms));
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface JobSpec {
  type: string;
  queue: string;
  created: Date;
  status: JobStatusText;
  scheduled?: Date;
  started?: Date;
  completed?: Date;
}

// The window of most tests is [10:30, 13:00). Queue waits of the jobs finished in it (with a
// start): A 1 s, B 2 s, C 3 s, I 4 s, H 10 s, K -5 s (clamped to 0). Run times of the ones
// completed or failed: A 10 s, B 20 s, C 30 s, I 40 s, H 50 s.
const JOBS: Record<string, JobSpec> = {
  // Created two days before, finished in the window (a job older than the window).
  I: { type: "report.build", queue: "bulk", created: new Date(Date.UTC(2030, 5, 8, 9)), status: "failed", scheduled: T(12, 0), started: T(12, 0, 4), completed: T(12, 0, 44) },
  // Finished exactly at the window start: inside.
  H: { type: "email.send", queue: "default", created: T(10, 20), status: "completed", scheduled: T(10, 29), started: T(10, 29, 10), completed: T(10, 30) },
  // Finished 1 ms before the window start: outside.
  L: { type: "email.send", queue: "default", created: T(10, 25), status: "completed", started: T(10, 29), completed: T(10, 29, 59, 999) },
  // Created 1 ms before the window start: outside.
  M: { type: "email.send", queue: "default", created: T(10, 29, 59, 999), status: "pending" },
  // Created exactly at the window start: inside.
  A: { type: "email.send", queue: "default", created: T(10, 30), status: "completed", started: T(10, 30, 1), completed: T(10, 30, 11) },
  B: { type: "report.build", queue: "default", created: T(10, 45), status: "completed", started: T(10, 45, 2), completed: T(10, 45, 22) },
  C: { type: "email.send", queue: "bulk", created: T(11, 10), status: "failed", started: T(11, 10, 3), completed: T(11, 10, 33) },
  // Cancelled before it started: in neither percentile.
  D: { type: "report.build", queue: "default", created: T(11, 20), status: "cancelled", completed: T(11, 21) },
  E: { type: "email.send", queue: "default", created: T(11, 50), status: "pending" },
  // Started 5 s before its scheduled time (clock skew), then cancelled: queue wait 0, no run time.
  K: { type: "email.send", queue: "default", created: T(11, 55), status: "cancelled", scheduled: T(11, 55, 5), started: T(11, 55), completed: T(11, 56) },
  // Finished exactly at the window end: outside (but created inside).
  J: { type: "email.send", queue: "default", created: T(12, 0), status: "completed", started: T(12, 59), completed: T(13, 0) },
  // Created 1 ms before the window end: inside.
  F: { type: "email.send", queue: "default", created: T(12, 59, 59, 999), status: "processing", started: T(12, 59, 59, 999) },
  // Created exactly at the window end: outside.
  G: { type: "email.send", queue: "default", created: T(13, 0), status: "pending" },
};

type EventSpec = [job: string, seq: number, type: JobEventTypeText, error: string | null, at: Date];

const EVENTS: EventSpec[] = [
  ["A", 2, "retry_scheduled", "boom", T(10, 30)], // at the window start: inside
  ["A", 3, "lease_expired", null, T(10, 30, 5)], // no error: not counted
  ["B", 2, "released", "shutdown", T(10, 50)], // not a failed attempt
  ["C", 2, "retry_scheduled", "connection refused", T(11, 10, 2)],
  ["C", 3, "failed", "timeout", T(11, 10, 33)],
  ["H", 2, "retry_scheduled", "timeout", T(10, 29, 59, 999)], // before the window
  ["I", 2, "retry_scheduled", "connection refused", T(10, 40)],
  ["I", 3, "retry_scheduled", "connection refused", T(11, 30)],
  ["I", 4, "failed", "timeout", T(12, 0, 44)],
  ["J", 2, "retry_scheduled", "timeout", T(13, 0)], // at the window end: outside
  ["K", 2, "lease_expired", "lease lost", T(11, 55, 30)],
];

const statusOf = (type: JobEventTypeText): JobStatusText => (type === "failed" ? "failed" : "pending");

/** The query for [start, end) in buckets of `bucketMs`, laid out as the RPC does. */
function query(start: Date, end: Date, bucketMs: number, over: Partial<StatsQuery> = {}): StatsQuery {
  const origin = Math.floor(start.getTime() / bucketMs) * bucketMs;
  const buckets = Math.ceil((end.getTime() - origin) / bucketMs);
  return { start, end, types: [], queues: [], origin: new Date(origin), bucketMs, buckets, topErrorsLimit: 10, byQueue: false, ...over };
}

/** An all-zero bucket grid with the given buckets filled in. */
function grid(origin: Date, bucketMs: number, n: number, filled: Record<number, Partial<ThroughputCounts>>): ThroughputCounts[] {
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(origin.getTime() + i * bucketMs),
    submitted: 0n,
    completed: 0n,
    failed: 0n,
    cancelled: 0n,
    ...filled[i],
  }));
}

describe("getStats", () => {
  let f: DbFixture;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    f = await setupDatabase();
    await f.pool.query("SELECT taskflow_ensure_partitions('2030-06-08', '2030-06-10')");
    // uuidv7 keeps ids increasing, so ids are made in creation order.
    const byCreation = Object.entries(JOBS).sort(([, a], [, b]) => a.created.getTime() - b.created.getTime());
    for (const [key, spec] of byCreation) ids.set(key, uuidv7(spec.created.getTime()));
    const id = (key: string) => ids.get(key) as string;
    await insertJobs(
      f.pool,
      byCreation.map(([key, s]) => makeJob({ id: id(key), type: s.type, queue: s.queue, scheduledAt: s.scheduled ?? s.created })),
    );
    const events = EVENTS.map(([job, seq, type, error, at]) => makeEvent(id(job), { seq, type, status: statusOf(type), error, occurredAt: at }));
    await appendEvents(f.pool, events);
    // The job rows as the test means them, whatever the events above moved.
    const specs = byCreation.map(([key, s]) => ({ id: id(key), ...s }));
    await f.pool.query(
      `UPDATE jobs SET status = s.status, started_at = s.started_at, completed_at = s.completed_at
       FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS s(id, status, started_at, completed_at)
       WHERE jobs.id = s.id`,
      [specs.map((s) => s.id), specs.map((s) => s.status), specs.map((s) => s.started ?? null), specs.map((s) => s.completed ?? null)],
    );
  });
  afterAll(async () => {
    await f?.close();
  });

  it("reads jobs created in the window from its day partition only", async () => {
    const { rows } = await f.pool.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${STATS_CREATED_SQL}`, [
      T(10, 30),
      T(13, 0),
      [],
      [],
      "1 hour",
      T(10, 0),
    ]);
    const relations = JSON.stringify(rows[0]?.["QUERY PLAN"]).match(/"Relation Name":"[^"]+"/g);
    expect(relations).toEqual(['"Relation Name":"jobs_p20300610"']);
  });

  it("reads finished jobs and failed attempts from indexes that hold all they need, not the rows", async () => {
    const client = await f.pool.connect();
    const plan = async (sql: string, values: unknown[]) =>
      JSON.stringify((await client.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, values)).rows[0]?.["QUERY PLAN"]);
    try {
      // Six rows cost less to scan than anything; forbid scans to see which index serves each statement.
      await client.query("BEGIN");
      await client.query("SET LOCAL enable_seqscan = off");
      await client.query("SET LOCAL enable_bitmapscan = off");
      const window = [T(10, 30), T(13, 0), [], []];
      for (const sql of [STATS_FINISHED_SQL, STATS_DURATIONS_SQL, STATS_FINISHED_BY_QUEUE_SQL]) {
        const p = await plan(sql, sql === STATS_FINISHED_SQL ? [...window, "1 hour", T(10, 0)] : window);
        expect(p).toMatch(/"Node Type":"Index Only Scan"[^}]*"Index Name":"jobs_p20300610_completed_at_\w*idx"/);
        expect(p).not.toMatch(/"Node Type":"(Seq Scan|Index Scan)"/);
      }
      const errors = await plan(STATS_TOP_ERRORS_SQL, [T(10, 30), T(13, 0), 10]);
      expect(errors).toMatch(/"Node Type":"Index Only Scan"[^}]*"Index Name":"job_events_p20300610_occurred_at_error_job_id_idx"/);
      expect(errors).not.toMatch(/"Node Type":"(Seq Scan|Index Scan)"|occurred_at_job_id_seq_idx/);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });

  it("counts every figure of the window, boundaries included (start inclusive, end exclusive)", async () => {
    const q = query(T(10, 30), T(13, 0), HOUR);
    const s = await getStats(f.pool, q);
    expect(s.created).toEqual({ pending: 1n, processing: 1n, completed: 3n, failed: 1n, cancelled: 2n });
    expect(s.finished).toEqual({ completed: 3n, failed: 2n, cancelled: 2n });
    expect(s.throughput).toEqual(
      grid(T(10, 0), HOUR, 3, {
        0: { submitted: 2n, completed: 3n },
        1: { submitted: 4n, failed: 1n, cancelled: 2n },
        2: { submitted: 2n, failed: 1n },
      }),
    );
    // percentile_cont over n sorted values: position f * (n - 1), interpolated linearly.
    // Waits [0, 1, 2, 3, 4, 10] s: p50 at 2.5 -> 2.5 s, p95 at 4.75 -> 4 + 0.75 * 6 = 8.5 s,
    // p99 at 4.95 -> 4 + 0.95 * 6 = 9.7 s.
    expect(s.queueWait).toEqual({ count: 6n, p50Us: 2_500_000, p95Us: 8_500_000, p99Us: 9_700_000 });
    // Runs [10, 20, 30, 40, 50] s: p50 at 2 -> 30 s, p95 at 3.8 -> 48 s, p99 at 3.96 -> 49.6 s.
    expect(s.runTime).toEqual({ count: 5n, p50Us: 30_000_000, p95Us: 48_000_000, p99Us: 49_600_000 });
    expect(s.topErrors).toEqual([
      { error: "connection refused", count: 3n, jobs: 2n, lastSeenAt: T(11, 30) },
      { error: "timeout", count: 2n, jobs: 2n, lastSeenAt: T(12, 0, 44) },
      { error: "boom", count: 1n, jobs: 1n, lastSeenAt: T(10, 30) },
      { error: "lease lost", count: 1n, jobs: 1n, lastSeenAt: T(11, 55, 30) },
    ]);
  });

  it("fills minute buckets from the window start, empty ones included", async () => {
    const s = await getStats(f.pool, query(T(10, 30), T(13, 0), MINUTE));
    const at = (h: number, m: number) => (T(h, m).getTime() - T(10, 30).getTime()) / MINUTE;
    expect(s.throughput).toEqual(
      grid(T(10, 30), MINUTE, 150, {
        [at(10, 30)]: { submitted: 1n, completed: 2n },
        [at(10, 45)]: { submitted: 1n, completed: 1n },
        [at(11, 10)]: { submitted: 1n, failed: 1n },
        [at(11, 20)]: { submitted: 1n },
        [at(11, 21)]: { cancelled: 1n },
        [at(11, 50)]: { submitted: 1n },
        [at(11, 55)]: { submitted: 1n },
        [at(11, 56)]: { cancelled: 1n },
        [at(12, 0)]: { submitted: 1n, failed: 1n },
        [at(12, 59)]: { submitted: 1n },
      }),
    );
  });

  it("starts a day bucket at UTC midnight before the window start", async () => {
    const s = await getStats(f.pool, query(T(10, 30), T(13, 0), DAY));
    expect(s.throughput).toEqual(grid(T(0, 0), DAY, 1, { 0: { submitted: 8n, completed: 3n, failed: 2n, cancelled: 2n } }));
  });

  it("keeps only the most frequent errors, ties in text order", async () => {
    const top = async (limit: number, window: [Date, Date]) =>
      (await getStats(f.pool, query(...window, HOUR, { topErrorsLimit: limit }))).topErrors.map((e) => e.error);
    expect(await top(2, [T(10, 30), T(13, 0)])).toEqual(["connection refused", "timeout"]);
    expect(await top(3, [T(10, 30), T(13, 0)])).toEqual(["connection refused", "timeout", "boom"]);
    // [10:30, 10:31) holds A's "boom" only; [10:30, 12:00) ends before I's "timeout", so
    // three errors seen once each follow "connection refused".
    expect(await top(10, [T(10, 30), T(10, 31)])).toEqual(["boom"]);
    expect(await top(10, [T(10, 30), T(12, 0)])).toEqual(["connection refused", "boom", "lease lost", "timeout"]);
  });

  it("applies a type filter to every figure", async () => {
    const s = await getStats(f.pool, query(T(10, 30), T(13, 0), HOUR, { types: ["report.build"] }));
    expect(s.created).toEqual({ pending: 0n, processing: 0n, completed: 1n, failed: 0n, cancelled: 1n });
    expect(s.finished).toEqual({ completed: 1n, failed: 1n, cancelled: 1n });
    expect(s.throughput).toEqual(
      grid(T(10, 0), HOUR, 3, { 0: { submitted: 1n, completed: 1n }, 1: { submitted: 1n, cancelled: 1n }, 2: { failed: 1n } }),
    );
    // Waits [2, 4] s: p50 3 s, p95 2 + 0.95 * 2 = 3.9 s, p99 3.98 s. Runs [20, 40] s likewise.
    expect(s.queueWait).toEqual({ count: 2n, p50Us: 3_000_000, p95Us: 3_900_000, p99Us: 3_980_000 });
    expect(s.runTime).toEqual({ count: 2n, p50Us: 30_000_000, p95Us: 39_000_000, p99Us: 39_800_000 });
    expect(s.topErrors).toEqual([
      { error: "connection refused", count: 2n, jobs: 1n, lastSeenAt: T(11, 30) },
      { error: "timeout", count: 1n, jobs: 1n, lastSeenAt: T(12, 0, 44) },
    ]);
  });

  it("applies a queue filter, alone and with a type filter", async () => {
    const bulk = await getStats(f.pool, query(T(10, 30), T(13, 0), HOUR, { queues: ["bulk"] }));
    expect(bulk.created).toEqual({ pending: 0n, processing: 0n, completed: 0n, failed: 1n, cancelled: 0n });
    expect(bulk.finished).toEqual({ completed: 0n, failed: 2n, cancelled: 0n });
    expect(bulk.queueWait).toEqual({ count: 2n, p50Us: 3_500_000, p95Us: 3_950_000, p99Us: 3_990_000 });
    expect(bulk.topErrors.map((e) => [e.error, e.count, e.jobs])).toEqual([
      ["connection refused", 3n, 2n],
      ["timeout", 2n, 2n],
    ]);
    const both = await getStats(f.pool, query(T(10, 30), T(13, 0), HOUR, { types: ["email.send"], queues: ["bulk", "nowhere"] }));
    expect(both.created.failed).toBe(1n);
    expect(both.finished).toEqual({ completed: 0n, failed: 1n, cancelled: 0n });
    expect(both.runTime).toEqual({ count: 1n, p50Us: 30_000_000, p95Us: 30_000_000, p99Us: 30_000_000 });
    expect(both.topErrors).toEqual([
      { error: "connection refused", count: 1n, jobs: 1n, lastSeenAt: T(11, 10, 2) },
      { error: "timeout", count: 1n, jobs: 1n, lastSeenAt: T(11, 10, 33) },
    ]);
  });

  it("counts the jobs finished per queue only when asked, under the same filters", async () => {
    expect((await getStats(f.pool, query(T(10, 30), T(13, 0), HOUR))).byQueue).toEqual([]);
    const all = await getStats(f.pool, query(T(10, 30), T(13, 0), HOUR, { byQueue: true }));
    expect(all.byQueue).toEqual([
      { queue: "bulk", completed: 0n, failed: 2n, cancelled: 0n },
      { queue: "default", completed: 3n, failed: 0n, cancelled: 2n },
    ]);
    const emails = await getStats(f.pool, query(T(10, 30), T(13, 0), HOUR, { types: ["email.send"], byQueue: true }));
    expect(emails.byQueue).toEqual([
      { queue: "bulk", completed: 0n, failed: 1n, cancelled: 0n },
      { queue: "default", completed: 2n, failed: 0n, cancelled: 1n },
    ]);
  });

  it("answers zeros, empty buckets and no percentiles for a window without jobs", async () => {
    const start = new Date(Date.UTC(2030, 5, 12));
    const s = await getStats(f.pool, query(start, new Date(start.getTime() + 2 * HOUR), HOUR));
    expect(s.created).toEqual({ pending: 0n, processing: 0n, completed: 0n, failed: 0n, cancelled: 0n });
    expect(s.throughput).toEqual(grid(start, HOUR, 2, {}));
    expect(s.queueWait).toEqual({ count: 0n });
    expect(s.runTime).toEqual({ count: 0n });
    expect(s.topErrors).toEqual([]);
  });

  it("reads a window that starts before 1970 (ids hold no earlier time)", async () => {
    const s = await getStats(f.pool, query(new Date(Date.UTC(1969, 11, 31)), new Date(Date.UTC(1970, 0, 2)), DAY));
    expect(s.created).toEqual({ pending: 0n, processing: 0n, completed: 0n, failed: 0n, cancelled: 0n });
    expect(s.throughput.map((b) => b.start.toISOString())).toEqual(["1969-12-31T00:00:00.000Z", "1970-01-01T00:00:00.000Z"]);
  });
});
