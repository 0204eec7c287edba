import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase } from "../../../test/fixtures.js";
import { insertJobSet, JOB_SET, jobId, labelsOf } from "../../../test/job-set.js";
import { insertJobs } from "./insert-jobs.js";
import { type ListJobsFilter, listJobs, listJobsQuery, NO_JOB_FILTER, uuidFloor } from "./list-jobs.js";

const at = (iso: string) => new Date(iso);
const ALL = "l k j i h g f e d c b a";

let f: DbFixture;
beforeAll(async () => {
  f = await setupDatabase();
  await insertJobSet(f.pool);
});
afterAll(async () => {
  await f?.close();
});

describe("listJobs over the hand-checked set", () => {

  const list = async (filter: Partial<ListJobsFilter>) =>
    labelsOf((await listJobs(f.pool, { ...NO_JOB_FILTER, limit: 100, ...filter })).map((r) => r.id));

  it("holds the set as specified after the ingest path applied it", async () => {
    const { rows } = await f.pool.query(
      "SELECT id, status, attempts, worker_id, error, completed_at, created_at FROM jobs ORDER BY id",
    );
    expect(rows).toEqual(
      JOB_SET.map((j) => ({
        id: jobId(j.label),
        status: j.status,
        attempts: j.attempts,
        worker_id: j.worker,
        error: j.errors.at(-1) ?? null,
        completed_at: j.finished === null ? null : at(j.finished),
        created_at: at(j.created),
      })),
    );
  });

  it("lists every job newest first, or oldest first", async () => {
    expect(await list({})).toBe(ALL);
    expect(await list({ order: "oldest_first" })).toBe("a b c d e f g h i j k l");
  });

  it.each<[string, Partial<ListJobsFilter>, string]>([
    ["one status", { statuses: ["failed"] }, "i e b"],
    ["two statuses", { statuses: ["pending", "processing"] }, "l j d c"],
    ["one type", { types: ["sms.send"] }, "l h d"],
    ["two types", { types: ["email.send", "sms.send"] }, "l k i h g e d c a"],
    ["a queue", { queues: ["reports"] }, "j f b"],
    ["a type no job has", { types: ["nope"] }, ""],
    ["a worker", { workerId: "w-1" }, "i d a"],
    ["a created day, start inclusive, end exclusive", { created: { from: at("2026-03-02T00:00:00Z"), before: at("2026-03-03T00:00:00Z") } }, "f e d"],
    ["a created start only", { created: { from: at("2026-03-03T00:00:00Z"), before: undefined } }, "l k j i h g"],
    ["a created end only", { created: { from: undefined, before: at("2026-03-02T00:00:00Z") } }, "c b a"],
    ["a created range of one millisecond", { created: { from: at("2026-03-01T23:59:59.999Z"), before: at("2026-03-02T00:00:00Z") } }, "c"],
    ["a finished range", { finished: { from: at("2026-03-02T00:00:00Z"), before: at("2026-03-04T00:00:00Z") } }, "i h g f e"],
    ["a finished range starting at a job's finish", { finished: { from: at("2026-03-01T10:00:00Z"), before: at("2026-03-01T10:00:00.001Z") } }, "b"],
    ["a finished range ending at a job's finish", { finished: { from: at("2026-03-01T09:00:00Z"), before: at("2026-03-01T10:00:00Z") } }, ""],
    ["a finished start only", { finished: { from: at("2026-03-03T07:00:00Z"), before: undefined } }, "k i h"],
    ["payload containing a nested value", { payloadContains: { customer: { id: 1 } } }, "k h c a"],
    ["payload containing a string", { payloadContains: { customer: { tier: "gold" } } }, "h e a"],
    ["payload containing an array element", { payloadContains: { tags: ["promo"] } }, "g"],
    ["payload containing two keys", { payloadContains: { to: "ann@example.com", customer: { id: 1 } } }, "k a"],
    ["words of the error", { textQuery: "smtp timeout" }, "k i e"],
    ["a word of an earlier attempt's error", { textQuery: "refused" }, "f"],
    ["an address in the payload", { textQuery: "ann@example.com" }, "k a"],
    ["a number in the payload", { textQuery: "3" }, "f d"],
    ["an excluded word", { textQuery: "smtp -after" }, "k e"],
    ["either word", { textQuery: "daily or weekly" }, "j f"],
    ["a quoted phrase", { textQuery: '"timeout after"' }, "i"],
    ["a query without words", { textQuery: "!!!" }, ""],
    ["attempts above 0", { attemptsAbove: 0 }, "l k i h f e d b a"],
    ["attempts above 1", { attemptsAbove: 1 }, "l k f e b"],
    ["attempts above 2", { attemptsAbove: 2 }, "k b"],
    [
      "statuses, a type and a created start",
      { statuses: ["failed", "completed"], types: ["email.send"], created: { from: at("2026-03-02T00:00:00Z"), before: undefined } },
      "k i e",
    ],
    ["a worker and words", { workerId: "w-3", textQuery: "smtp" }, "k e"],
    [
      "payload and a finished range",
      { payloadContains: { customer: { id: 1 } }, finished: { from: at("2026-03-01T00:00:00Z"), before: at("2026-03-04T00:00:00Z") } },
      "h a",
    ],
    ["a queue and attempts, oldest first", { queues: ["default"], attemptsAbove: 0, order: "oldest_first" }, "a d e h i k"],
    ["a status and a type, oldest first", { statuses: ["completed"], types: ["report.build"], order: "oldest_first" }, "f"],
  ])("filters by %s", async (_, filter, expected) => {
    expect(await list(filter)).toBe(expected);
  });

  it.each([
    [1, "newest_first"],
    [3, "newest_first"],
    [5, "newest_first"],
    [12, "newest_first"],
    [1, "oldest_first"],
    [5, "oldest_first"],
    [13, "oldest_first"],
  ] as const)("walks every job once in pages of %i, %s", async (limit, order) => {
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = (await listJobs(f.pool, { ...NO_JOB_FILTER, order, limit, afterId })).map((r) => r.id);
      seen.push(...page);
      if (page.length < limit) break;
      afterId = page.at(-1);
    }
    expect(labelsOf(seen)).toBe(order === "newest_first" ? ALL : ALL.split(" ").reverse().join(" "));
  });

  it("continues a filtered page past its cursor in either order", async () => {
    const afterId = jobId("f");
    expect(await list({ types: ["report.build", "email.send"], afterId })).toBe("e c b a");
    expect(await list({ types: ["report.build", "email.send"], afterId, order: "oldest_first" })).toBe("g i j k");
  });

  it("does not let jobs created meanwhile into a newest-first walk, and puts them last oldest first", async () => {
    const later = makeJob({ type: "sms.send" });
    const pageOne = await listJobs(f.pool, { ...NO_JOB_FILTER, types: ["sms.send"], limit: 2 });
    await insertJobs(f.pool, [later]);
    const rest = await listJobs(f.pool, { ...NO_JOB_FILTER, types: ["sms.send"], limit: 2, afterId: pageOne.at(-1)?.id });
    expect(labelsOf([...pageOne, ...rest].map((r) => r.id))).toBe("l h d");
    const oldest = await listJobs(f.pool, { ...NO_JOB_FILTER, types: ["sms.send"], order: "oldest_first", limit: 10, afterId: jobId("h") });
    expect(oldest.map((r) => r.id)).toEqual([jobId("l"), later.id]);
    await f.pool.query("DELETE FROM jobs WHERE id = $1", [later.id]);
  });
});

describe("listJobsQuery", () => {
  it("puts every value in a parameter and compares one value with =, several with ANY", () => {
    const q = listJobsQuery({
      ...NO_JOB_FILTER,
      statuses: ["failed"],
      queues: ["a", "b"],
      workerId: "w'; DROP TABLE jobs; --",
      created: { from: at("2026-03-01T00:00:00Z"), before: undefined },
      payloadContains: { k: "v" },
      textQuery: "x",
      attemptsAbove: 2,
      order: "oldest_first",
      afterId: jobId("a"),
      limit: 5,
    });
    expect(q.text).toMatch(
      /^SELECT id, .* FROM jobs WHERE status = \$1 AND status IN \('failed', 'cancelled'\) AND queue = ANY \(\$2::text\[\]\) AND worker_id = \$3 AND id >= \$4::uuid AND payload @> \$5::jsonb AND search @@ websearch_to_tsquery\('simple', \$6::text\) AND attempts > \$7::int AND id > \$8::uuid ORDER BY id ASC LIMIT \$9$/,
    );
    expect(q.text).not.toContain("DROP");
    expect(q.values).toEqual(["failed", ["a", "b"], "w'; DROP TABLE jobs; --", uuidFloor(at("2026-03-01T00:00:00Z")), '{"k":"v"}', "x", 2, jobId("a"), 5]);
  });

  it("names each statement text once and stably", () => {
    const a = listJobsQuery({ ...NO_JOB_FILTER, types: ["x"] });
    const b = listJobsQuery({ ...NO_JOB_FILTER, types: ["y"], limit: 7 });
    const c = listJobsQuery({ ...NO_JOB_FILTER, types: ["x", "y"] });
    const d = listJobsQuery({ ...NO_JOB_FILTER, types: ["x"], order: "oldest_first" });
    expect(a.name).toMatch(/^history_list_jobs_[0-9a-f]{12}$/);
    expect(b.name).toBe(a.name);
    expect(new Set([a.name, c.name, d.name]).size).toBe(3);
  });

  it("plans full-text and containment statements with their values on every call: a label, no name", () => {
    for (const f of [{ textQuery: "refund" }, { payloadContains: { k: "v" } }]) {
      const q = listJobsQuery({ ...NO_JOB_FILTER, ...f });
      expect(q.name).toBeUndefined();
      expect(q.label).toMatch(/^history_list_jobs_[0-9a-f]{12}$/);
    }
    expect(listJobsQuery({ ...NO_JOB_FILTER, types: ["x"] }).label).toBeUndefined();
  });
});

describe("uuidFloor", () => {
  it("agrees with taskflow_uuid_floor", async () => {
    const instants = ["1970-01-01T00:00:00.001Z", "2026-03-01T00:00:00Z", "2026-03-01T23:59:59.999Z", "9999-12-31T23:59:59.999Z"].map(at);
    const { rows } = await f.pool.query<{ floor: string }>(
      "SELECT taskflow_uuid_floor(t)::text AS floor FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, n) ORDER BY n",
      [instants.map((d) => d.toISOString())],
    );
    expect(instants.map(uuidFloor)).toEqual(rows.map((r) => r.floor));
  });

  it("gives the nil UUID before 1970, below every UUIDv7", () => {
    expect(uuidFloor(at("1969-12-31T23:59:59.999Z"))).toBe("00000000-0000-0000-0000-000000000000");
  });
});
