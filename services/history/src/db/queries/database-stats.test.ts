import { createTestDatabase, eventually, type PrivatePostgres, startPrivatePostgres, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, waitForLockWaiter } from "../../../test/fixtures.js";
import { endPool } from "../pool.js";
import { StatementTimings } from "../statements.js";
import {
  readIndexStats,
  readLockWaits,
  readReplicaState,
  readServerStatements,
  readStandbys,
  readTableStats,
  type TableStatsRow,
} from "./database-stats.js";
import { insertJobs } from "./insert-jobs.js";
import { recordTableSizes, withSizeLockTimeout } from "./relation-sizes.js";

/** A session of its own holding `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` until released. */
async function holdExclusive(url: string, table: "workers" | "idempotency_keys") {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return {
    pid: rows[0]!.pid,
    release: async () => {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

const byName = (rows: TableStatsRow[]) => new Map(rows.map((r) => [r.name, r]));

describe("database stats queries", () => {
  let f: DbFixture;
  const timings = new StatementTimings();
  const tables = () => withSizeLockTimeout(f.pool, timings, readTableStats);

  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("lists every table and partition, parents summing their partitions and followed by them", async () => {
    const jobs = Array.from({ length: 200 }, () => makeJob({ payload: { note: "x".repeat(200) } }));
    // A session reports its table statistics when it ends (or when idle, in its own time).
    const writer = new pg.Client({ connectionString: f.db.url });
    await writer.connect();
    await insertJobs(writer, jobs);
    await writer.end();
    const rows = await eventually(async () => {
      const r = await tables();
      return r.find((t) => t.name === "jobs")?.live_tuples === "200" ? r : undefined;
    });
    const names = rows.map((r) => r.name);
    for (const t of ["idempotency_keys", "job_events", "jobs", "pgmigrations", "table_size_samples", "workers"]) {
      expect(names).toContain(t);
    }
    const { rows: parts } = await f.pool.query<{ name: string; parent: string }>(
      `SELECT c.relname AS name, p.relname AS parent FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE c.relkind = 'r' ORDER BY 1`,
    );
    expect(parts.length).toBeGreaterThanOrEqual(4);
    const stats = byName(rows);
    for (const p of parts) expect(stats.get(p.name)?.parent).toBe(p.parent);
    for (const parent of ["jobs", "job_events"]) {
      const children = rows.filter((r) => r.parent === parent);
      const sum = (k: "total_bytes" | "index_bytes" | "live_tuples") => children.reduce((s, r) => s + BigInt(r[k]), 0n);
      expect(BigInt(stats.get(parent)!.total_bytes)).toBe(sum("total_bytes"));
      expect(BigInt(stats.get(parent)!.index_bytes)).toBe(sum("index_bytes"));
      expect(BigInt(stats.get(parent)!.live_tuples)).toBe(sum("live_tuples"));
      // Each parent comes first, then its partitions.
      expect(names.slice(names.indexOf(parent) + 1, names.indexOf(parent) + 1 + children.length)).toEqual(
        children.map((c) => c.name),
      );
    }
    const jobsRow = stats.get("jobs")!;
    expect(BigInt(jobsRow.total_bytes)).toBeGreaterThan(200n * 200n);
    expect(BigInt(jobsRow.index_bytes)).toBeGreaterThan(0n);
    expect(stats.get("workers")?.parent).toBe("");
  });

  it("reports growth per day from the samples of the last 7 days, 0 while they span less than an hour", async () => {
    await f.pool.query("DELETE FROM table_size_samples");
    await f.pool.query(
      `INSERT INTO table_size_samples (relation, sampled_hour, sampled_at, total_bytes) VALUES
         ('idempotency_keys', date_trunc('hour', now() - interval '9 days'), now() - interval '9 days', 0),
         ('idempotency_keys', date_trunc('hour', now() - interval '3 days'), now() - interval '3 days', 1000000),
         ('idempotency_keys', date_trunc('hour', now() - interval '1 day'), now() - interval '1 day', 3000000),
         ('pgmigrations', date_trunc('hour', now() - interval '2 days'), now() - interval '2 days', 9000000),
         ('pgmigrations', date_trunc('hour', now()), now(), 8000000),
         ('workers', date_trunc('hour', now() - interval '30 minutes'), now() - interval '30 minutes', 0),
         ('workers', date_trunc('hour', now()) + interval '1 hour', now(), 5000000)`,
    );
    const stats = byName(await tables());
    // 2,000,000 bytes over 2 days; the 9-day-old sample is out of the window.
    expect(stats.get("idempotency_keys")?.growth_bytes_per_day).toBe("1000000");
    expect(stats.get("pgmigrations")?.growth_bytes_per_day).toBe("-500000");
    expect(stats.get("workers")?.growth_bytes_per_day).toBe("0");
    expect(stats.get("jobs")?.growth_bytes_per_day).toBe("0");
    await f.pool.query("DELETE FROM table_size_samples");
  });

  it("estimates a table someone locks exclusively instead of waiting, and the sampler skips it", async () => {
    await f.pool.query("DELETE FROM table_size_samples");
    const holder = await holdExclusive(f.db.url, "workers");
    try {
      const started = Date.now();
      const stats = byName(await tables());
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(stats.get("workers")).toBeDefined();
      expect(stats.get("jobs")).toBeDefined();
      const indexes = await withSizeLockTimeout(f.pool, timings, readIndexStats);
      expect(indexes.map((i) => i.table)).toContain("workers");
      const sampled = await withSizeLockTimeout(f.pool, timings, recordTableSizes);
      expect(sampled).toBe(stats.size - 1);
      const { rows } = await f.pool.query<{ relation: string }>("SELECT relation FROM table_size_samples");
      expect(rows.map((r) => r.relation)).not.toContain("workers");
      expect(rows.map((r) => r.relation)).toContain("jobs");
    } finally {
      await holder.release();
    }
    expect(await withSizeLockTimeout(f.pool, timings, recordTableSizes)).toBe((await tables()).length);
    await f.pool.query("DELETE FROM table_size_samples");
  });

  it("lists every index of every table and partition with its size", async () => {
    const indexes = await withSizeLockTimeout(f.pool, timings, readIndexStats);
    const { rows } = await f.pool.query<{ name: string; table: string }>(
      `SELECT c.relname AS name, t.relname AS table FROM pg_index x
       JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = 'public' AND t.relkind = 'r' ORDER BY 2, 1`,
    );
    expect(indexes.map((i) => ({ name: i.name, table: i.table }))).toEqual(rows);
    expect(indexes.map((i) => i.name)).toContain("idx_table_size_samples_sampled_hour");
    for (const i of indexes) expect(BigInt(i.bytes)).toBeGreaterThan(0n);
  });

  it("shows a session waiting for a lock, with the pid that blocks it", async () => {
    expect(await readLockWaits(f.pool, 1_024)).toEqual([]);
    const holder = await holdExclusive(f.db.url, "workers");
    const waiter = new pg.Client({ connectionString: f.db.url });
    await waiter.connect();
    try {
      const { rows: w } = await waiter.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const waiting = waiter.query("SELECT * FROM workers /* waits for the holder */");
      await waitForLockWaiter(f.pool);
      const waits = await readLockWaits(f.pool, "SELECT * FROM workers".length);
      expect(waits).toEqual([
        {
          pid: w[0]!.pid,
          query: "SELECT * FROM workers",
          lock_type: "relation",
          mode: "AccessShareLock",
          relation: "workers",
          waiting_ms: expect.any(Number) as number,
          blocking_pids: [holder.pid],
        },
      ]);
      expect(waits[0]!.waiting_ms).toBeGreaterThanOrEqual(0);
      await holder.release();
      await waiting;
    } finally {
      await holder.release().catch(() => undefined);
      await waiter.end();
    }
    expect(await readLockWaits(f.pool, 1_024)).toEqual([]);
  });

  it("reports a primary as not in recovery with no replay lag", async () => {
    expect(await readReplicaState(f.pool)).toEqual({ in_recovery: false, lag_ms: null });
    expect(Array.isArray(await readStandbys(f.pool))).toBe(true);
  });
});

/**
 * pg_stat_statements on a private server of this file, which does not preload the library,
 * whatever the shared test server loads; read-replica.test.ts covers a server that preloads it.
 */
describe("database stats queries without pg_stat_statements preloaded", () => {
  let server: PrivatePostgres;
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    db = await createTestDatabase(server.adminUrl);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    try {
      if (pool) await endPool(pool);
    } finally {
      await server?.close();
    }
  });

  it("reports pg_stat_statements unavailable when not installed, and when installed but not preloaded", async () => {
    expect(await readServerStatements(pool, 20, 1_024)).toBeUndefined();
    const { rows } = await pool.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
    expect(rows[0]!.libs).not.toContain("pg_stat_statements");
    await pool.query("CREATE EXTENSION pg_stat_statements");
    try {
      expect(await readServerStatements(pool, 20, 1_024)).toBeUndefined();
    } finally {
      await pool.query("DROP EXTENSION pg_stat_statements");
    }
  });
});
