import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase } from "../../../test/fixtures.js";
import type { JobStatusText } from "../rows.js";
import { JOB_COLUMNS } from "../queryable.js";
import { insertJobs, type NewJob } from "./insert-jobs.js";
import { type ListJobsFilter, listJobs, listJobsQuery } from "./list-jobs.js";

const TYPES = ["email.send", "report.build"];
const QUEUES = ["default", "bulk"];
const STATUSES: JobStatusText[] = ["pending", "processing", "completed", "failed", "cancelled"];

interface Fixture {
  id: string;
  type: string;
  queue: string;
  status: JobStatusText;
}

const noFilter: ListJobsFilter = { statuses: [], types: [], queues: [], afterId: undefined, limit: 1_000 };

describe("listJobs", () => {
  let f: DbFixture;
  /** Every job of the file, newest first. */
  let all: Fixture[];

  beforeAll(async () => {
    f = await setupDatabase();
    const jobs: NewJob[] = [];
    for (let i = 0; i < 40; i += 1) {
      jobs.push(makeJob({ type: TYPES[i % 2] as string, queue: QUEUES[Math.floor(i / 2) % 2] as string }));
    }
    await insertJobs(f.pool, jobs);
    all = jobs
      .map((j, i) => ({ id: j.id, type: j.type, queue: j.queue, status: STATUSES[i % 5] as JobStatusText }))
      .reverse();
    await f.pool.query(
      "UPDATE jobs SET status = s.status FROM unnest($1::uuid[], $2::text[]) AS s(id, status) WHERE jobs.id = s.id",
      [all.map((j) => j.id), all.map((j) => j.status)],
    );
  });
  afterAll(async () => {
    await f?.close();
  });

  const ids = async (filter: Partial<ListJobsFilter>) =>
    (await listJobs(f.pool, { ...noFilter, ...filter })).map((r) => r.id);

  it("lists every job newest first without filters", async () => {
    expect(await ids({})).toEqual(all.map((j) => j.id));
  });

  it.each([
    ["one status", { statuses: ["completed"] }, (j: Fixture) => j.status === "completed"],
    ["two statuses", { statuses: ["pending", "failed"] }, (j: Fixture) => ["pending", "failed"].includes(j.status)],
    ["a type", { types: ["report.build"] }, (j: Fixture) => j.type === "report.build"],
    ["a queue", { queues: ["bulk"] }, (j: Fixture) => j.queue === "bulk"],
    ["both queues", { queues: ["bulk", "default"] }, () => true],
    [
      "status, type and queue",
      { statuses: ["pending", "completed", "cancelled"], types: ["email.send"], queues: ["default"] },
      (j: Fixture) => ["pending", "completed", "cancelled"].includes(j.status) && j.type === "email.send" && j.queue === "default",
    ],
    ["a type no job has", { types: ["nope"] }, () => false],
  ] as const)("filters by %s", async (_, filter, keep) => {
    const expected = all.filter(keep).map((j) => j.id);
    expect(await ids(filter as Partial<ListJobsFilter>)).toEqual(expected);
  });

  it("compares one value with = and several with ANY, all as parameters", () => {
    const q = listJobsQuery({ ...noFilter, statuses: ["failed"], queues: ["a", "b"], afterId: all[0]?.id, limit: 5 });
    expect(q.text).toBe(`SELECT ${JOB_COLUMNS.join(", ")} FROM jobs WHERE status = $1 AND queue = ANY ($2::text[]) AND id < $3::uuid ORDER BY id DESC LIMIT $4`);
    expect(q.values).toEqual(["failed", ["a", "b"], all[0]?.id, 5]);
  });

  it.each([1, 3, 7, 40, 100])("walks every job exactly once in pages of %i", async (limit) => {
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await ids({ limit, afterId });
      seen.push(...page);
      if (page.length < limit) break;
      afterId = page.at(-1);
    }
    expect(seen).toEqual(all.map((j) => j.id));
  });

  it("walks a filtered list while new jobs arrive between pages", async () => {
    const filter = { types: ["email.send"], limit: 4 };
    const expected = all.filter((j) => j.type === "email.send").map((j) => j.id);
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await ids({ ...filter, afterId });
      seen.push(...page);
      await insertJobs(f.pool, [makeJob({ type: "email.send" }), makeJob({ type: "email.send" })]);
      if (page.length < filter.limit) break;
      afterId = page.at(-1);
    }
    expect(seen).toEqual(expected);
  });
});
