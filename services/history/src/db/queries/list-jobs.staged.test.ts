import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, uuidAt } from "../../../test/fixtures.js";
import type { Queryable } from "../queryable.js";
import type { JobRow } from "../rows.js";
import { insertJobs } from "./insert-jobs.js";
import { type ListJobsFilter, listJobs, listJobsQuery, NO_JOB_FILTER, STAGE_AGES_MS } from "./list-jobs.js";

const HOUR = 3_600_000;
const NOW = new Date();

describe("listJobs: full-text and containment pages read the last hour first, then older stages", () => {
  let f: DbFixture;
  const ids: string[] = [];

  beforeAll(async () => {
    f = await setupDatabase();
    const today = new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate()));
    await f.pool.query("SELECT taskflow_ensure_partitions($1::date - 6, $1::date)", [today.toISOString().slice(0, 10)]);
    // Oldest first, 4 jobs older than three days, 5 in the two days before the last, 5 in the rest
    // of the last day and 2 in the last hour; the even ones mention "refund" (and customer 0).
    const ages = [130, 110, 90, 80, 60, 50, 40, 30, 25, 20, 6, 4, 2, 1.5, 0.5, 0.25].map((h) => h * HOUR);
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
  /** The pool, keeping the text of every statement run on it in `texts`. */
  const recording = (texts: string[]): Queryable => ({
    query: (q) => {
      texts.push(q.text);
      return f.pool.query(q);
    },
  });

  it.each([
    ["text", { textQuery: "refund" }],
    ["containment", { payloadContains: { customer: 0 } }],
  ] as const)("answers every page as one statement would, across the stages' boundaries (%s)", async (_, filter) => {
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

  it("keeps a created range the caller gave, across the boundaries", async () => {
    const from = new Date(NOW.getTime() - 100 * HOUR);
    const before = new Date(NOW.getTime() - 3 * HOUR);
    const page = { ...NO_JOB_FILTER, textQuery: "refund", created: { from, before }, limit: 10 };
    expect(await staged(page)).toEqual(await single(page));
    expect(await staged(page)).toHaveLength(5);
  });

  it("stops at the first stage that fills the page", async () => {
    const statements: string[] = [];
    const db = recording(statements);
    // "refund" jobs: 1 in the last hour, 2 in the rest of the day, 3 in the two days before, 2 older.
    const counts: number[] = [];
    for (const limit of [1, 3, 6, 8]) {
      statements.length = 0;
      expect(await listJobs(db, { ...NO_JOB_FILTER, textQuery: "refund", limit }, NOW)).toHaveLength(limit);
      counts.push(statements.length);
    }
    expect(counts).toEqual([1, 2, 3, 4]);
  });

  it("reads each containment stage's matches whole, and leaves words to the planner", async () => {
    const texts: string[] = [];
    const db = recording(texts);
    await listJobs(db, { ...NO_JOB_FILTER, payloadContains: { customer: 0 }, limit: 8 }, NOW);
    expect(texts).toHaveLength(4);
    for (const text of texts) expect(text).toMatch(/^SELECT .* FROM \(SELECT .* FROM jobs WHERE .* OFFSET 0\) j ORDER BY id DESC LIMIT \$\d+$/);
    texts.length = 0;
    await listJobs(db, { ...NO_JOB_FILTER, textQuery: "refund", limit: 8 }, NOW);
    for (const text of texts) expect(text).not.toContain("OFFSET 0");
  });

  it("looks at the last hour, the rest of the day, the two days before, then the rest", () => {
    expect(STAGE_AGES_MS).toEqual([HOUR, 24 * HOUR, 72 * HOUR]);
  });
});
