import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../../test/fixtures.js";
import { dayOf, dayStartMs, makeDayPartitions, pinToday, suffixOf } from "../../../test/retention-data.js";
import { ensurePartitions, listPartitions } from "./partitions.js";

/** The smallest UUIDv7 of millisecond `ms`, as taskflow_uuid_floor computes it. */
const floorId = (ms: number): string => {
  const h = ms.toString(16).padStart(12, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
};

// Today is the database's (the migrations and ensurePartitions create partitions by its now()),
// and each test has a database of its own.
describe("partition queries", () => {
  let f: DbFixture;
  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
  });
  afterEach(async () => {
    await f?.close();
  });

  it("lists the DEFAULT partitions first, unbounded, then each day of both parents with its id bounds", async () => {
    const parts = await listPartitions(f.pool);

    expect(parts.slice(0, 2)).toEqual([
      { table: "job_events_default", parent: "job_events", isDefault: true, fromId: null, toId: null, from: null, to: null },
      { table: "jobs_default", parent: "jobs", isDefault: true, fromId: null, toId: null, from: null, to: null },
    ]);
    const today = parts.filter((p) => p.table.endsWith(`_p${suffixOf(0)}`));
    expect(today.map((p) => p.parent).sort()).toEqual(["job_events", "jobs"]);
    for (const p of today) {
      expect(p).toMatchObject({ isDefault: false, fromId: floorId(dayStartMs(0)), toId: floorId(dayStartMs(1)) });
      expect(p.from).toEqual(new Date(dayStartMs(0)));
      expect(p.to).toEqual(new Date(dayStartMs(1)));
    }
    const jobsDays = parts.filter((p) => p.parent === "jobs" && !p.isDefault).map((p) => p.fromId ?? "");
    expect(jobsDays).toEqual([...jobsDays].sort());
  });

  it("lists a day created for the past, in id order among the others", async () => {
    await makeDayPartitions(f.pool, -45);

    const jobs = (await listPartitions(f.pool)).filter((p) => p.parent === "jobs" && !p.isDefault);

    expect(jobs[0]).toMatchObject({ table: `jobs_p${suffixOf(-45)}`, fromId: floorId(dayStartMs(-45)), toId: floorId(dayStartMs(-44)) });
  });

  it("ensures today and the days ahead, creating only what is missing", async () => {
    const created = await ensurePartitions(f.pool, 4);
    const again = await ensurePartitions(f.pool, 4);

    expect(created).toBeGreaterThanOrEqual(1);
    expect(again).toBe(0);
    const names = (await listPartitions(f.pool)).map((p) => p.table);
    expect(names).toEqual(expect.arrayContaining([`jobs_p${suffixOf(4)}`, `job_events_p${suffixOf(4)}`]));
    expect(dayOf(4)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
