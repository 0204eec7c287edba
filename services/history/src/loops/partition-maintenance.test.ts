import { eventually } from "@taskflow/testkit";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { capturingLogger, type DbFixture, quietLogger, setupDatabase } from "../../test/fixtures.js";
import { addJob, dayStartMs, pinToday, suffixOf } from "../../test/retention-data.js";
import { listPartitions } from "../db/queries/partitions.js";
import { StatementTimings } from "../db/statements.js";
import { PartitionMaintenance, type PartitionMaintenanceOptions } from "./partition-maintenance.js";

// The upkeep names days by the database's now(), so the tests take today from it too; each has a
// database of its own, so none depends on the partitions or jobs of another.
describe("PartitionMaintenance", () => {
  let f: DbFixture;
  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
  });
  afterEach(async () => {
    await f?.close();
  });

  const upkeep = (over: Partial<PartitionMaintenanceOptions> = {}) =>
    new PartitionMaintenance({
      pool: f.pool,
      timings: new StatementTimings(),
      premakeDays: 7,
      lockTimeoutMs: 2_000,
      intervalMs: 3_600_000,
      logger: quietLogger,
      ...over,
    });

  /** Names of the day partitions of jobs and of job_events, each sorted. */
  const dayTables = async () => {
    const parts = (await listPartitions(f.pool)).filter((p) => !p.isDefault);
    return {
      jobs: parts.filter((p) => p.parent === "jobs").map((p) => p.table),
      events: parts.filter((p) => p.parent === "job_events").map((p) => p.table),
    };
  };
  const days = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => suffixOf(first + i));

  it("creates both tables of every day from today to premake days ahead, bounded by the day's ids", async () => {
    const result = await upkeep({ premakeDays: 5 }).runOnce();

    expect(result.lockTimedOut).toBe(false);
    expect(result.created).toBeGreaterThan(0);
    const { jobs, events } = await dayTables();
    expect(jobs).toEqual(expect.arrayContaining(days(0, 5).map((d) => `jobs_p${d}`)));
    expect(events).toEqual(expect.arrayContaining(days(0, 5).map((d) => `job_events_p${d}`)));
    const fourth = (await listPartitions(f.pool)).find((p) => p.table === `jobs_p${suffixOf(4)}`);
    expect(fourth?.from?.getTime()).toBe(dayStartMs(4));
    expect(fourth?.to?.getTime()).toBe(dayStartMs(5));
    expect(fourth?.fromId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-0000-0000-000000000000$/);
  });

  it("is idempotent: a second run creates nothing and changes nothing", async () => {
    const loop = upkeep({ premakeDays: 5 });
    await loop.runOnce();
    const before = await dayTables();

    const again = await loop.runOnce();

    expect(again).toEqual({ created: 0, lockTimedOut: false, warnings: [] });
    expect(await dayTables()).toEqual(before);
  });

  it("lets two replicas run at once: each missing day is created exactly once", async () => {
    const before = (await dayTables()).jobs;
    const missing = days(0, 12).filter((d) => !before.includes(`jobs_p${d}`));
    expect(missing.length).toBeGreaterThan(0);

    const [a, b] = await Promise.all([upkeep({ premakeDays: 12 }).runOnce(), upkeep({ premakeDays: 12 }).runOnce()]);

    expect(a.lockTimedOut || b.lockTimedOut).toBe(false);
    expect(a.created + b.created).toBe(missing.length);
    const after = await dayTables();
    expect(after.jobs).toEqual(expect.arrayContaining(days(0, 12).map((d) => `jobs_p${d}`)));
    expect(after.events).toHaveLength(after.jobs.length);
  });

  it("skips, with a warning, a day whose rows already sit in the DEFAULT partition", async () => {
    const id = await addJob(f.pool, dayStartMs(20) + 3_600_000, "pending");
    expect((await f.pool.query("SELECT 1 FROM jobs_default WHERE id = $1", [id])).rowCount).toBe(1);
    const { logger, lines } = capturingLogger();

    const result = await upkeep({ premakeDays: 22, logger }).runOnce();

    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(`rows of ${new Date(dayStartMs(20)).toISOString().slice(0, 10)}`);
    const { jobs } = await dayTables();
    expect(jobs).not.toContain(`jobs_p${suffixOf(20)}`);
    expect(jobs).toEqual(expect.arrayContaining([`jobs_p${suffixOf(19)}`, `jobs_p${suffixOf(21)}`, `jobs_p${suffixOf(22)}`]));
    expect((await f.pool.query("SELECT 1 FROM jobs_default WHERE id = $1", [id])).rowCount).toBe(1);
    expect(lines.some((l) => l.msg === "day partition not created" && l.level === 40)).toBe(true);
  });

  it("gives up within the lock timeout while a reader holds the parent, and catches up once it is gone", async () => {
    await addJob(f.pool, dayStartMs(0) + 3_600_000, "pending");
    const blocker = new pg.Client({ connectionString: f.db.url });
    await blocker.connect();
    const { logger, lines } = capturingLogger();
    let loop: PartitionMaintenance | undefined;
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE jobs IN ACCESS SHARE MODE");
      const started = performance.now();

      const result = await upkeep({ premakeDays: 30, lockTimeoutMs: 150, logger }).runOnce();

      expect(performance.now() - started).toBeLessThan(2_000);
      expect(result).toMatchObject({ created: 0, lockTimedOut: true });
      expect(lines.some((l) => l.msg === "partition upkeep gave up waiting for a lock")).toBe(true);
      expect((await dayTables()).jobs).not.toContain(`jobs_p${suffixOf(30)}`);
      // The reader was not disturbed, and the service keeps running its loop.
      expect((await blocker.query("SELECT count(*)::int AS n FROM jobs")).rows[0]).toEqual({ n: 1 });
      loop = upkeep({ premakeDays: 30, lockTimeoutMs: 150, intervalMs: 20, logger });
      loop.start();
      await eventually(() => Promise.resolve(lines.filter((l) => l.msg === "partition upkeep gave up waiting for a lock").length >= 2 ? true : undefined));
      await blocker.query("COMMIT");
      await eventually(async () => ((await dayTables()).jobs.includes(`jobs_p${suffixOf(30)}`) ? true : undefined));
    } finally {
      await loop?.stop();
      await blocker.end();
    }
    expect(lines.some((l) => l.msg === "loop run failed")).toBe(false);
  });
});
