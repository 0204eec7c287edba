import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../../test/fixtures.js";
import {
  addJob,
  DAY_MS,
  dayOf,
  dayStartMs,
  eventCount,
  makeDayPartitions,
  pinToday,
  suffixOf,
  tableExists,
} from "../../../test/retention-data.js";
import { listPartitions } from "./partitions.js";
import {
  type DayRange,
  dayExpired,
  deleteDayDependencies,
  deleteExpiredJobs,
  dropDayPartitions,
  pickExpiredJobs,
  readArchivedJobs,
  retentionCutoff,
} from "./retention.js";

const HOUR = 3_600_000;

// Each test has a database of its own, so none sees the days and jobs another one made.
describe("retention queries", () => {
  let f: DbFixture;
  let cutoff: Date;
  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    cutoff = (await retentionCutoff(f.pool, 10)).cutoff;
  });
  afterEach(async () => {
    await f?.close();
  });

  /** The id range and jobs partition of today plus `offset`, created on the way. */
  const day = async (offset: number): Promise<DayRange> => {
    await makeDayPartitions(f.pool, offset);
    const p = (await listPartitions(f.pool)).find((x) => x.table === `jobs_p${suffixOf(offset)}`);
    return { fromId: p?.fromId ?? "", toId: p?.toId ?? "", jobsTable: p?.table ?? "" };
  };

  it("computes the cutoff by the database's clock, and the smallest id of its millisecond", async () => {
    const { cutoff: c, idFloor } = await retentionCutoff(f.pool, 30);

    expect(Math.abs(c.getTime() - (Date.now() - 30 * DAY_MS))).toBeLessThan(60_000);
    expect(idFloor).toBe(`${c.getTime().toString(16).padStart(12, "0").replace(/^(.{8})/, "$1-")}-0000-0000-000000000000`);
  });

  it("calls a day expired only while every job in it is finished before the cutoff", async () => {
    const d = await day(-40);
    expect(await dayExpired(f.pool, d, cutoff)).toEqual({ present: true, expired: true });

    await addJob(f.pool, dayStartMs(-40) + HOUR, "completed");
    expect((await dayExpired(f.pool, d, cutoff)).expired).toBe(true);

    const late = await addJob(f.pool, dayStartMs(-40) + 2 * HOUR, "completed", Date.now() - DAY_MS);
    expect((await dayExpired(f.pool, d, cutoff)).expired).toBe(false);
    await deleteExpiredJobs(f.pool, [late], new Date());

    await addJob(f.pool, dayStartMs(-40) + 3 * HOUR, "processing");
    expect((await dayExpired(f.pool, d, cutoff)).expired).toBe(false);
    expect(await dayExpired(f.pool, { ...d, jobsTable: "jobs_p19990101" }, cutoff)).toMatchObject({ present: false });
  });

  it("hands each expired job to one batch only: a second transaction skips the rows the first one holds", async () => {
    const d = await day(-35);
    for (let i = 1; i <= 3; i++) await addJob(f.pool, dayStartMs(-35) + i * HOUR, "failed");
    const scope = { kind: "range" as const, fromId: d.fromId, toId: d.toId };
    const first = await f.pool.connect();
    try {
      await first.query("BEGIN");
      const a = await pickExpiredJobs(first, scope, cutoff, 2);
      const b = await pickExpiredJobs(f.pool, scope, cutoff, 2);

      expect(a).toHaveLength(2);
      expect(b).toHaveLength(1);
      expect([...a, ...b].sort()).toEqual([...a, ...b]);
    } finally {
      await first.query("ROLLBACK");
      first.release();
    }
  });

  it("reads jobs with their whole trail for the archive", async () => {
    const id = await addJob(f.pool, dayStartMs(-35) + 5 * HOUR, "completed");

    const [a] = await readArchivedJobs(f.pool, [id]);

    expect(a?.job).toMatchObject({ id, status: "completed" });
    expect(a?.job).not.toHaveProperty("search");
    expect(a?.events.map((e) => [e.seq, e.type])).toEqual([
      [1, "submitted"],
      [2, "started"],
      [3, "completed"],
    ]);
    expect(a?.events[2]?.occurred_at).toEqual(a?.job.completed_at);
    expect(a?.events[0]?.recorded_at).toBeInstanceOf(Date);
  });

  it("deletes only what is still finished before the cutoff, with its events, whatever ids it is given", async () => {
    await day(-33);
    const old = await addJob(f.pool, dayStartMs(-33) + HOUR, "cancelled");
    const pending = await addJob(f.pool, dayStartMs(-33) + 2 * HOUR, "pending");
    const recent = await addJob(f.pool, dayStartMs(-33) + 3 * HOUR, "completed", Date.now() - HOUR);

    const gone = await deleteExpiredJobs(f.pool, [old, pending, recent], cutoff);

    expect(gone).toEqual({ jobs: 1, events: 3 });
    expect(await eventCount(f.pool, [old])).toBe(0);
    expect(await eventCount(f.pool, [pending, recent])).toBe(1 + 3);
    const { rows } = await f.pool.query<{ id: string }>("SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id", [[old, pending, recent]]);
    expect(rows.map((r) => r.id)).toEqual([pending, recent].sort());
  });

  it("drops a day's two partitions, and nothing for a day that has none (DEFAULT is never touched)", async () => {
    await day(-60);
    const inDefault = await addJob(f.pool, dayStartMs(-61) + HOUR, "completed");

    expect(await dropDayPartitions(f.pool, dayOf(-60))).toBe(true);
    expect(await dropDayPartitions(f.pool, dayOf(-61))).toBe(false);

    expect(await tableExists(f.pool, `jobs_p${suffixOf(-60)}`)).toBe(false);
    expect(await tableExists(f.pool, `job_events_p${suffixOf(-60)}`)).toBe(false);
    expect((await f.pool.query("SELECT 1 FROM jobs_default WHERE id = $1", [inDefault])).rowCount).toBe(1);
    expect(await eventCount(f.pool, [inDefault])).toBe(3);
  });

  it("deletes the dependency edges of the children it deletes, by rows or by day", async () => {
    const range = await day(-40);
    const parent = await addJob(f.pool, dayStartMs(-40) + HOUR, "completed");
    const [child, kept, later] = await Promise.all(
      [2, 3, 4].map((h) => addJob(f.pool, dayStartMs(-40) + h * HOUR, h === 3 ? "pending" : "completed")),
    );
    const edges = [child, kept, later].map((c) => [c, parent]);
    await f.pool.query("INSERT INTO job_dependencies (child_id, parent_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])", [
      edges.map((e) => e[0]),
      edges.map((e) => e[1]),
    ]);
    const children = async () =>
      (await f.pool.query<{ child_id: string }>("SELECT child_id FROM job_dependencies ORDER BY child_id")).rows.map((r) => r.child_id);

    await deleteExpiredJobs(f.pool, [child!, kept!], cutoff);
    expect(await children()).toEqual([kept, later].sort());
    await deleteDayDependencies(f.pool, range);
    expect(await children()).toEqual([]);
  });
});
