import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../../test/fixtures.js";
import { type ListJobsFilter, listJobsQuery, NO_JOB_FILTER } from "./list-jobs.js";

/** The five days the rows are spread over; each has its own partition. */
const DAYS = ["20260301", "20260302", "20260303", "20260304", "20260305"];

/**
 * 4,000 jobs, one every 100 s from 2026-03-01, so about 860 per day partition, with types,
 * queues, statuses, workers, payloads and errors cycling at different periods. One value of
 * each filtered column is rare (2 %), as a status, type, queue or worker a person looks
 * for among millions of jobs is: the case where walking its (column, id) index pays.
 */
const SEED_SQL = `
INSERT INTO jobs (id, type, queue, payload, status, error, attempts, created_at, updated_at,
                  scheduled_at, completed_at, worker_id, search)
SELECT id, type, queue, payload, status, error, attempts, created_at, updated_at, scheduled_at,
       completed_at, worker_id, taskflow_search_vector(payload, error)
FROM (
SELECT (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(i % 4096), 3, '0') || '8'
        || lpad(to_hex(i), 15, '0'))::uuid,
       CASE WHEN i % 50 = 1 THEN 'video.encode' ELSE (ARRAY['email.send', 'report.build', 'sms.send'])[1 + i % 3] END,
       CASE WHEN i % 50 = 11 THEN 'urgent' ELSE (ARRAY['default', 'bulk'])[1 + i % 2] END,
       jsonb_build_object('customer', jsonb_build_object('id', i % 100), 'to', 'user' || i || '@example.com'),
       CASE WHEN i % 50 = 7 THEN 'cancelled'
            ELSE (ARRAY['pending', 'processing', 'completed', 'failed'])[1 + i % 4] END,
       CASE WHEN i % 4 = 3 THEN (ARRAY['smtp timeout', 'disk full', 'connection refused'])[1 + i % 3] END,
       i % 4,
       to_timestamp(ms / 1000.0), to_timestamp(ms / 1000.0), to_timestamp(ms / 1000.0),
       CASE WHEN i % 4 >= 2 OR i % 50 = 7 THEN to_timestamp(ms / 1000.0) + interval '1 minute' END,
       'w-' || (i % 50)
FROM (SELECT i, 1772323200000::bigint + i * 100000::bigint AS ms FROM generate_series(0, 3999) i) s
) AS seeded (id, type, queue, payload, status, error, attempts, created_at, updated_at, scheduled_at,
             completed_at, worker_id)`;

const filter = (over: Partial<ListJobsFilter>): ListJobsFilter => ({ ...NO_JOB_FILTER, limit: 51, ...over });

describe("listJobs plans on 4,000 jobs over five day partitions", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
    await f.pool.query("SELECT taskflow_ensure_partitions('2026-03-01', '2026-03-05')");
    await f.pool.query(SEED_SQL);
    await f.pool.query("ANALYZE jobs");
  });
  afterAll(async () => {
    await f?.close();
  });

  /**
   * Runs `work` in a transaction with `settings` (rolled back). The tables are small enough
   * that sequential scans, and bitmap scans followed by a sort, cost less than anything else;
   * turning them off shows whether the plan that serves millions of rows is available at all.
   */
  async function inTransaction<T>(settings: readonly string[], work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await f.pool.connect();
    try {
      await client.query("BEGIN");
      for (const s of settings) await client.query(`SET LOCAL ${s}`);
      return await work(client);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  }

  const explain = async (over: Partial<ListJobsFilter>, settings: readonly string[] = []): Promise<string> => {
    const q = listJobsQuery(filter(over));
    return inTransaction(settings, async (c) => {
      const { rows } = await c.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${q.text}`,
        q.values,
      );
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
  };

  /** Partitions a plan reads. */
  const scanned = (plan: string) => [...new Set([...plan.matchAll(/ on (jobs_\w+)/g)].map((m) => m[1]))].sort();
  /** Whether a Sort node (not a Merge Append's "Sort Key") is in the plan. */
  const hasSort = (plan: string) => /^(\s*->\s+)?(Incremental )?Sort \(actual/m.test(plan);
  const ORDERED_WALK = ["enable_seqscan = off", "enable_bitmapscan = off"];

  it.each<[string, Partial<ListJobsFilter>, RegExp]>([
    ["a status and a type, newest first", { statuses: ["cancelled"], types: ["video.encode"] }, /_(type_id|id_status)_idx/],
    ["a status and a type, oldest first", { statuses: ["cancelled"], types: ["video.encode"], order: "oldest_first" }, /_(type_id|id_status)_idx/],
    ["a queue", { queues: ["urgent"] }, /_queue_id_idx/],
    ["a worker", { workerId: "w-7" }, /_worker_id_id_idx/],
  ])("walks the (column, id) index of each partition in id order for %s: no sort", async (_, over, index) => {
    const plan = await explain(over, ORDERED_WALK);
    expect(plan).toMatch(/Merge Append/);
    expect(hasSort(plan)).toBe(false);
    const backward = over.order === "oldest_first" ? "" : " Backward";
    for (const day of DAYS) {
      expect(plan).toMatch(new RegExp(`Index (Only )?Scan${backward} using jobs_p${day}${index.source} on jobs_p${day}`));
    }
  });

  /**
   * The plans of `over`'s statement, planned with its values and as a prepared statement's
   * generic plan (values unknown to the planner), after `setup` (rolled back with the plans).
   */
  const explainBoth = async (over: Partial<ListJobsFilter>, setup: readonly string[]): Promise<string[]> => {
    const q = listJobsQuery(filter(over));
    const values = q.values ?? [];
    return inTransaction([], async (c) => {
      for (const statement of setup) await c.query(statement);
      const plan = async (sql: string, params: unknown[] = []) =>
        (await c.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`, params)).rows
          .map((r) => r["QUERY PLAN"])
          .join("\n");
      const custom = await plan(q.text, values);
      await c.query("SET LOCAL plan_cache_mode = force_generic_plan");
      await c.query(`PREPARE list_jobs_generic_statuses AS ${q.text}`);
      const literal = (v: unknown) => c.escapeLiteral(Array.isArray(v) ? `{${v.join(",")}}` : String(v));
      const generic = await plan(`EXECUTE list_jobs_generic_statuses(${values.map(literal).join(", ")})`);
      await c.query("DEALLOCATE list_jobs_generic_statuses");
      return [custom, generic];
    });
  };

  /**
   * Statuses as a person looks for them: the jobs of a status are a few among many. All but one
   * in sixteen pending, processing and failed jobs become completed (cancelled ones are 2 %
   * already), and the planner learns it.
   */
  const FEW_UNSUCCESSFUL = [
    "UPDATE jobs SET status = 'completed' WHERE status IN ('pending', 'processing', 'failed') AND id::text NOT LIKE '%0'",
    "ANALYZE jobs",
  ];

  it.each<[string, Partial<ListJobsFilter>, RegExp]>([
    ["failed jobs, newest first", { statuses: ["failed"] }, /_id_status_idx/],
    ["cancelled and failed jobs, oldest first", { statuses: ["cancelled", "failed"], order: "oldest_first" }, /_id_status_idx/],
    ["pending jobs, newest first", { statuses: ["pending"] }, /_id_idx/],
    ["pending and processing jobs, oldest first", { statuses: ["processing", "pending"], order: "oldest_first" }, /_id_idx/],
  ])("walks the partial index of those statuses in each partition for %s, in a generic plan too", async (_, over, index) => {
    for (const plan of await explainBoth(over, [...FEW_UNSUCCESSFUL, ...ORDERED_WALK.map((s) => `SET LOCAL ${s}`)])) {
      expect(hasSort(plan)).toBe(false);
      const backward = over.order === "oldest_first" ? "" : " Backward";
      for (const day of DAYS) expect(plan).toMatch(new RegExp(`Index Scan${backward} using jobs_p${day}${index.source} on jobs_p${day}`));
      expect(plan).not.toMatch(/_pkey/);
    }
  });

  it("reads the primary key in order for several statuses (the reason one value is compared with =)", async () => {
    const plan = await explain({ statuses: ["completed", "pending"] }, ORDERED_WALK);
    expect(hasSort(plan)).toBe(false);
    expect(plan).toMatch(/Index Scan Backward using jobs_p20260303_pkey/);
  });

  it("reads only the partitions of a created range", async () => {
    const plan = await explain({ created: { from: new Date("2026-03-02T12:00:00Z"), before: new Date("2026-03-04T00:00:00Z") } });
    expect(scanned(plan)).toEqual(["jobs_p20260302", "jobs_p20260303"]);
    expect(hasSort(plan)).toBe(false);
  });

  it("prunes the partitions of a created range at execution in a generic plan", async () => {
    const q = listJobsQuery(filter({ created: { from: new Date("2026-03-02T12:00:00Z"), before: new Date("2026-03-04T00:00:00Z") } }));
    const plan = await inTransaction(["plan_cache_mode = force_generic_plan"], async (c) => {
      await c.query(`PREPARE list_jobs_generic AS ${q.text}`);
      const args = q.values?.map((v) => c.escapeLiteral(String(v))).join(", ");
      const { rows } = await c.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE list_jobs_generic(${args})`,
      );
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toMatch(/Index Cond: \(\(id >= \$1\) AND \(id < \$2\)\)/);
    expect(plan).toMatch(/Subplans Removed: [1-9]/);
    expect(scanned(plan)).toEqual(["jobs_p20260302", "jobs_p20260303"]);
  });

  it("finds payload containment with the jsonb_path_ops GIN index of each partition", async () => {
    const plan = await explain({ payloadContains: { customer: { id: 42 } } }, ["enable_seqscan = off"]);
    for (const day of DAYS) expect(plan).toMatch(new RegExp(`Bitmap Index Scan on jobs_p${day}_payload_idx`));
    expect(plan).toMatch(/Index Cond: \(payload @> '\{"customer": \{"id": 42\}\}'::jsonb\)/);
  });

  it("finds words with the GIN search index of each partition", async () => {
    const plan = await explain({ textQuery: "disk full" }, ["enable_seqscan = off"]);
    for (const day of DAYS) expect(plan).toMatch(new RegExp(`Bitmap Index Scan on jobs_p${day}_search_idx`));
    expect(plan).toMatch(/Index Cond: \(search @@ '''disk'' & ''full'''::tsquery\)/);
  });

  it("finds a narrow finished range with the completed_at index", async () => {
    const plan = await explain({ finished: { from: new Date("2026-03-02T00:00:00Z"), before: new Date("2026-03-02T03:00:00Z") } }, [
      "enable_seqscan = off",
    ]);
    expect(plan).toMatch(/Index (Only )?Scan using jobs_p20260302_completed_at_\w*idx/);
  });
});
