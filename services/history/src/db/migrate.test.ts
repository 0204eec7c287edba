import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";

const ALL = [
  "0001_create_jobs",
  "0002_job_events",
  "0003_idempotency_keys",
  "0004_unfinished_jobs_index",
  "0005_partition_by_day",
  "0006_table_size_samples",
  "0007_unfinished_jobs_by_id",
  "0008_idempotency_request_digest",
  "0009_lean_job_indexes",
  "0010_search_without_secrets",
  "0011_partition_functions_as_owner",
  "0012_operator_actions",
  "0013_schedules",
  "0014_job_dependencies",
  "0015_job_progress",
  "0016_retried_events",
];
const TABLES = [
  "idempotency_keys",
  "job_dependencies",
  "job_events",
  "jobs",
  "operator_actions",
  "pgmigrations",
  "schedules",
  "table_size_samples",
  "worker_outcome_counts",
  "workers",
];
const LAST = ALL[ALL.length - 1];

/** Indexes of the jobs and job_events parents, with their definitions. */
async function parentIndexes(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('jobs', 'job_events') ORDER BY indexname",
    );
    return rows.map((r) => r.indexdef);
  } finally {
    await client.end();
  }
}

/** Tables of the public schema; partitions are left out (their days depend on the date). */
async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    return rows.map((r) => r.table_name);
  } finally {
    await client.end();
  }
}

describe("migrate", () => {
  let a: TestDatabase;
  let b: TestDatabase;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it("applies every migration to an empty database, then nothing on a second run", async () => {
    expect(await migrate(a.url)).toEqual(ALL);
    expect(await tables(a.url)).toEqual(TABLES);
    expect(await migrate(a.url)).toEqual([]);
  });

  it("reverts to zero and applies again", async () => {
    expect(await migrate(a.url, { direction: "down", count: Number.POSITIVE_INFINITY })).toEqual(
      [...ALL].reverse(),
    );
    expect(await tables(a.url)).toEqual(["pgmigrations"]);
    expect(await migrate(a.url)).toEqual(ALL);
    expect(await tables(a.url)).toEqual(TABLES);
  });

  it("reverts one migration at a time", async () => {
    expect(await migrate(a.url, { direction: "down" })).toEqual([LAST]);
    expect(await migrate(a.url)).toEqual([LAST]);
    expect(await tables(a.url)).toEqual(TABLES);
  });

  it("gives back the indexes of 0008 when 0009 is reverted", async () => {
    const before = await createTestDatabase();
    try {
      expect(await migrate(before.url, { count: ALL.indexOf("0008_idempotency_request_digest") + 1 })).toHaveLength(8);
      const withoutLean = await parentIndexes(before.url);
      expect(withoutLean).toContain("CREATE INDEX idx_jobs_status ON ONLY public.jobs USING btree (status, id)");
      const since0009 = ALL.slice(ALL.indexOf("0009_lean_job_indexes"));
      expect(await migrate(a.url, { direction: "down", count: since0009.length })).toEqual([...since0009].reverse());
      expect(await parentIndexes(a.url)).toEqual(withoutLean);
      expect(await migrate(a.url)).toEqual(since0009);
      expect(await parentIndexes(a.url)).not.toContain("CREATE INDEX idx_jobs_status ON ONLY public.jobs USING btree (status, id)");
    } finally {
      await before.drop();
    }
  });

  it("lets concurrent callers on one fresh database all succeed, migrating once", async () => {
    const runs = await Promise.all([migrate(b.url), migrate(b.url), migrate(b.url)]);
    expect(runs.filter((r) => r.length > 0)).toEqual([ALL]);
    expect(runs.flat()).toHaveLength(ALL.length);
    expect(await tables(b.url)).toEqual(TABLES);
  });

  it("0010 keeps the vectors of stored jobs without rewriting a partition; reverted, the column is generated again", async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await migrate(db.url, { count: ALL.indexOf("0010_search_without_secrets") });
      const upTo0010 = { count: 1 };
      await client.query(
        `INSERT INTO jobs (id, type, payload, status, created_at, updated_at, scheduled_at)
         VALUES ('00000000-0000-7000-8000-000000000001', 't', '{"token": "oldsecret"}', 'pending', now(), now(), now())`,
      );
      const filenode = "SELECT pg_relation_filenode('jobs_default') AS node, (SELECT search::text FROM jobs) AS search";
      const before = (await client.query<{ node: string; search: string }>(filenode)).rows[0];
      expect(before?.search).toBe("'oldsecret':1");
      expect(await migrate(db.url, upTo0010)).toEqual(["0010_search_without_secrets"]);
      expect((await client.query(filenode)).rows[0]).toEqual(before);
      const generated = "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attname = 'search'";
      expect((await client.query(generated)).rows).toEqual([{ attgenerated: "" }]);
      expect(await migrate(db.url, { direction: "down" })).toEqual(["0010_search_without_secrets"]);
      expect((await client.query(generated)).rows).toEqual([{ attgenerated: "s" }]);
      expect((await client.query("SELECT search::text FROM jobs")).rows).toEqual([{ search: "'oldsecret':1" }]);
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
