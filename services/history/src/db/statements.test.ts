import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../test/fixtures.js";
import { StatementTimings, timed } from "./statements.js";

describe("StatementTimings", () => {
  it("counts calls and errors and keeps total, mean, p95 and max per name", () => {
    const t = new StatementTimings();
    for (let i = 1; i <= 100; i++) t.record("a", i, i !== 100);
    t.record("b", 5, true);
    const byName = new Map(t.snapshot().map((s) => [s.name, s]));
    expect(byName.get("a")).toEqual({ name: "a", calls: 100, errors: 1, totalMs: 5050, meanMs: 50.5, p95Ms: 95, maxMs: 100 });
    expect(byName.get("b")).toEqual({ name: "b", calls: 1, errors: 0, totalMs: 5, meanMs: 5, p95Ms: 5, maxMs: 5 });
  });

  it("bases the p95 on the most recent 512 calls", () => {
    const t = new StatementTimings();
    for (let i = 0; i < 1000; i++) t.record("a", 1000, true);
    for (let i = 0; i < 512; i++) t.record("a", 1, true);
    expect(t.snapshot()[0]).toMatchObject({ calls: 1512, p95Ms: 1, maxMs: 1000 });
  });
});

describe("timed", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(() => f.close());

  it("times statements run on PostgreSQL under their name, failures included", async () => {
    const t = new StatementTimings();
    const db = timed(f.pool, t);
    const { rows } = await db.query<{ n: number }>({ name: "test_sleep", text: "SELECT $1::int AS n, pg_sleep(0.02)", values: [7] });
    expect(rows[0]?.n).toBe(7);
    await expect(db.query({ name: "test_fail", text: "SELECT 1/0" })).rejects.toThrow(/division by zero/);
    const byName = new Map(t.snapshot().map((s) => [s.name, s]));
    expect(byName.get("test_sleep")?.calls).toBe(1);
    expect(byName.get("test_sleep")?.totalMs).toBeGreaterThanOrEqual(20);
    expect(byName.get("test_fail")).toMatchObject({ calls: 1, errors: 1 });
    await db.query({ label: "test_unprepared", text: "SELECT $1::int AS n", values: [1] });
    expect(new Map(t.snapshot().map((s) => [s.name, s])).get("test_unprepared")?.calls).toBe(1);
  });
});
