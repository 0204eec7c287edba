import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, quietLogger, setupDatabase } from "../../test/fixtures.js";
import { StatementTimings } from "../db/statements.js";
import { SampleTableSizes } from "./sample-table-sizes.js";

interface SampleRow {
  relation: string;
  sampled_hour: Date;
  sampled_at: Date;
  total_bytes: string;
}

describe("SampleTableSizes", () => {
  let f: DbFixture;
  const timings = new StatementTimings();
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const samples = async () =>
    (await f.pool.query<SampleRow>("SELECT * FROM table_size_samples ORDER BY relation, sampled_hour")).rows;
  /** Tables and partitions of the schema, with their size now. */
  const relations = async () =>
    (
      await f.pool.query<{ relation: string; bytes: string }>(
        `SELECT c.relname AS relation, pg_total_relation_size(c.oid) AS bytes FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
      )
    ).rows;

  it("records one sample per table and partition, and updates it within the same hour", async () => {
    const loop = new SampleTableSizes({ pool: f.pool, timings, intervalMs: 60_000, logger: quietLogger });
    const first = await loop.runOnce();
    const rows = await samples();
    const partitionedParents = ["job_events", "jobs"];
    expect(rows.map((r) => r.relation).sort()).toEqual(
      [...(await relations()).map((r) => r.relation), ...partitionedParents].sort(),
    );
    expect(first).toEqual({ sampled: rows.length, purged: 0 });
    // A plain table's sample is its size, as pg_total_relation_size reads it.
    const workers = rows.find((r) => r.relation === "workers");
    expect(workers?.total_bytes).toBe((await relations()).find((r) => r.relation === "workers")?.bytes);
    for (const r of rows) expect(r.sampled_hour.getTime() % 3_600_000).toBe(0);

    await f.pool.query(
      `INSERT INTO workers (id, status, queues, job_types, concurrency, hostname, started_at, last_seen)
       SELECT 'w-' || i, 'healthy', '{}', '{}', 1, 'h', now(), now() FROM generate_series(1, 500) AS i`,
    );
    await loop.runOnce();
    const again = await samples();
    const sameHour = again.every((r) => r.sampled_hour.getTime() === rows[0]!.sampled_hour.getTime());
    // Unless the hour turned between the two runs, the second run updated the first one's rows.
    expect(again).toHaveLength(sameHour ? rows.length : rows.length * 2);
    const grown = again.filter((r) => r.relation === "workers").at(-1)!;
    expect(BigInt(grown.total_bytes)).toBeGreaterThan(BigInt(workers!.total_bytes));
    expect(grown.sampled_at.getTime()).toBeGreaterThan(workers!.sampled_at.getTime());
  });

  it("deletes samples older than 8 days and keeps the rest", async () => {
    await f.pool.query(
      `INSERT INTO table_size_samples (relation, sampled_hour, sampled_at, total_bytes) VALUES
         ('workers', date_trunc('hour', now() - interval '8 days 2 hours'), now() - interval '8 days 2 hours', 1),
         ('workers', date_trunc('hour', now() - interval '7 days 20 hours'), now() - interval '7 days 20 hours', 2)`,
    );
    const loop = new SampleTableSizes({ pool: f.pool, timings, intervalMs: 60_000, logger: quietLogger });
    expect((await loop.runOnce()).purged).toBe(1);
    expect((await samples()).filter((r) => r.total_bytes === "1" || r.total_bytes === "2").map((r) => r.total_bytes)).toEqual([
      "2",
    ]);
  });

  it("samples when started and stops cleanly", async () => {
    await f.pool.query("DELETE FROM table_size_samples");
    const loop = new SampleTableSizes({ pool: f.pool, timings, intervalMs: 10, logger: quietLogger });
    loop.start();
    try {
      await eventually(async () => ((await samples()).length > 0 ? true : undefined));
    } finally {
      await loop.stop();
    }
    expect(timings.snapshot().map((t) => t.name)).toContain("history_record_table_sizes");
  });
});
