import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, uuidAt } from "../../../test/fixtures.js";
import type { JobRow } from "../rows.js";
import { insertJobs } from "./insert-jobs.js";
import { type ListJobsFilter, listJobs, listJobsQuery, NO_JOB_FILTER, RECENT_STAGE_MS } from "./list-jobs.js";

const HOUR = 3_600_000;
const NOW = new Date();

describe("listJobs: full-text and containment pages read the last day first", () => {
  let f: DbFixture;
  const ids: string[] = [];

  beforeAll(async () => {
    f = await setupDatabase();
    const today = new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate()));
    await f.pool.query("SELECT taskflow_ensure_partitions($1::date - 3, $1::date)", [today.toISOString().slice(0, 10)]);
    // 5 jobs in the last day and 5 older, oldest first; the even ones mention "refund".
    const ages = [60, 50, 40, 30, 25, 20, 6, 4, 2, 1].map((h) => h * HOUR);
    for (const [i, age] of ages.entries()) {
      const id = uuidAt(NOW.getTime() - age);
      const note = i % 2 === 0 ? "refund requested" : "paid";
      await insertJobs(f.pool, [makeJob({ id, payload: { note, customer: i % 2 } })]);
      ids.push(id);
    }
  });
  afterAll(() => f.close());

  /** What one statement over every partition answers. */
  const single = async (filter: ListJobsFilter): Promise<string[]> =>
    (await f.pool.query<JobRow>(listJobsQuery(filter))).rows.map((r) => r.id);
  const staged = async (filter: ListJobsFilter): Promise<string[]> => (await listJobs(f.pool, filter, NOW)).map((r) => r.id);

  it.each([
    ["text", { textQuery: "refund" }],
    ["containment", { payloadContains: { customer: 0 } }],
  ] as const)("answers every page as one statement would, across the day boundary (%s)", async (_, filter) => {
    const expected = ids.filter((_, i) => i % 2 === 0).reverse();
    for (const limit of [1, 2, 3, 5, 10]) {
      let afterId: string | undefined;
      const walked: string[] = [];
      for (;;) {
        const page = { ...NO_JOB_FILTER, ...filter, limit, afterId };
        const rows = await staged(page);
        expect(rows).toEqual(await single(page));
        walked.push(...rows);
        if (rows.length < limit) break;
        afterId = rows[rows.length - 1];
      }
      expect(walked).toEqual(expected);
    }
  });

  it("keeps a created range the caller gave, on both sides of the boundary", async () => {
    const from = new Date(NOW.getTime() - 45 * HOUR);
    const before = new Date(NOW.getTime() - 3 * HOUR);
    const page = { ...NO_JOB_FILTER, textQuery: "refund", created: { from, before }, limit: 10 };
    expect(await staged(page)).toEqual(await single(page));
    expect(await staged(page)).toHaveLength(3);
  });

  it("looks at one day", () => {
    expect(RECENT_STAGE_MS).toBe(24 * HOUR);
  });
});
