import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryService, JobStatus, type ListJobsRequestSchema, SortOrder } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJob, quietLogger } from "../../test/fixtures.js";
import { insertJobSet, jobId, labelsOf } from "../../test/job-set.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { endPool } from "../db/pool.js";
import { insertJobs } from "../db/queries/insert-jobs.js";
import { type RunningHistory, startHistory } from "../start-history.js";

type Req = MessageInitShape<typeof ListJobsRequestSchema>;

const ts = (iso: string) => timestampFromDate(new Date(iso));
const ALL = "l k j i h g f e d c b a";
const reversed = (labels: string) => labels.split(" ").reverse().join(" ");

describe("ListJobs over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;
  let sql: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Retention off: the set is from March 2026 and must stay.
    history = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, pageTokenSecret: "test-secret-0123456789", retentionDays: 0 },
      { logger: quietLogger },
    );
    client = createClient(HistoryService, createGrpcTransport({ baseUrl: history.url }));
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    await insertJobSet(sql);
  });
  afterAll(async () => {
    if (sql) await endPool(sql);
    await history?.close();
    await db?.drop();
  });

  const list = async (req: Req) => labelsOf((await client.listJobs(req)).jobs.map((j) => j.id));

  /** Every page of `req`, as labels, with the size of each page. */
  const walk = async (req: Req): Promise<{ labels: string; sizes: number[] }> => {
    const ids: string[] = [];
    const sizes: number[] = [];
    let pageToken = "";
    do {
      const page = await client.listJobs({ ...req, pageToken });
      ids.push(...page.jobs.map((j) => j.id));
      sizes.push(page.jobs.length);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return { labels: labelsOf(ids), sizes };
  };

  it.each<[string, Req, string]>([
    ["no filter", {}, ALL],
    ["statuses", { statuses: [JobStatus.FAILED, JobStatus.CANCELLED] }, "i g e b"],
    ["types and queues", { types: ["email.send", "sms.send"], queues: ["bulk"] }, "l g c"],
    ["worker_id", { workerId: "w-1" }, "i d a"],
    ["created with both ends", { created: { startTime: ts("2026-03-02T00:00:00Z"), endTime: ts("2026-03-03T00:00:00Z") } }, "f e d"],
    ["created with a start only", { created: { startTime: ts("2026-03-04T00:00:00Z") } }, "l k j"],
    ["created with an end only", { created: { endTime: ts("2026-03-01T09:00:00Z") } }, "a"],
    // Nanoseconds round up to the next millisecond: c (…59.999) is after the start, d (00.000)
    // before the end.
    [
      "created with nanoseconds",
      { created: { startTime: { seconds: ts("2026-03-01T23:59:59Z").seconds, nanos: 998_000_001 }, endTime: { seconds: ts("2026-03-02T00:00:00Z").seconds, nanos: 1 } } },
      "d c",
    ],
    ["finished", { finished: { startTime: ts("2026-03-02T00:00:00Z"), endTime: ts("2026-03-04T00:00:00Z") } }, "i h g f e"],
    ["payload_contains", { payloadContains: { customer: { id: 1 } } }, "k h c a"],
    ["payload_contains nested in a list", { payloadContains: { tags: ["promo"] } }, "g"],
    ["an empty payload_contains", { payloadContains: {} }, ALL],
    ["text_query", { textQuery: "  smtp timeout " }, "k i e"],
    ["a blank text_query", { textQuery: "   " }, ALL],
    ["attempts_above 0 (set, unlike unset)", { attemptsAbove: 0 }, "l k i h f e d b a"],
    ["attempts_above 2", { attemptsAbove: 2 }, "k b"],
    ["order NEWEST_FIRST", { order: SortOrder.NEWEST_FIRST }, ALL],
    ["order OLDEST_FIRST", { order: SortOrder.OLDEST_FIRST }, reversed(ALL)],
    [
      "everything at once",
      {
        statuses: [JobStatus.COMPLETED, JobStatus.FAILED],
        types: ["email.send"],
        queues: ["default"],
        workerId: "w-3",
        created: { startTime: ts("2026-03-02T00:00:00Z") },
        finished: { endTime: ts("2026-03-05T00:00:00Z") },
        payloadContains: { to: "ann@example.com" },
        textQuery: "smtp",
        attemptsAbove: 1,
        order: SortOrder.OLDEST_FIRST,
      },
      "k",
    ],
  ])("maps %s", async (_, req, expected) => {
    expect(await list(req)).toBe(expected);
  });

  it("returns whole jobs", async () => {
    const [job] = (await client.listJobs({ types: ["report.build"], statuses: [JobStatus.FAILED] })).jobs;
    expect(job).toMatchObject({
      id: jobId("b"),
      type: "report.build",
      queue: "reports",
      status: JobStatus.FAILED,
      attempts: 3,
      workerId: "w-2",
      error: "disk full",
      payload: { customer: { id: 2 }, report: "monthly" },
      createdAt: ts("2026-03-01T09:00:00Z"),
      completedAt: ts("2026-03-01T10:00:00Z"),
    });
  });

  it.each<[string, Req, string, number[]]>([
    ["one a page", { pageSize: 1 }, ALL, Array(12).fill(1)],
    ["3 a page: the last page is full and has no token", { pageSize: 3 }, ALL, [3, 3, 3, 3]],
    ["5 a page, oldest first", { pageSize: 5, order: SortOrder.OLDEST_FIRST }, reversed(ALL), [5, 5, 2]],
    ["2 a page, filtered", { pageSize: 2, types: ["email.send"] }, "k i g e c a", [2, 2, 2]],
    ["2 a page, filtered, oldest first", { pageSize: 2, queues: ["reports"], order: SortOrder.OLDEST_FIRST }, "b f j", [2, 1]],
    ["the default page size", {}, ALL, [12]],
  ])("walks every page: %s", async (_, req, labels, sizes) => {
    expect(await walk(req)).toEqual({ labels, sizes });
  });

  it("accepts a token with the same filters listed in another order", async () => {
    const first = await client.listJobs({ types: ["sms.send", "email.send"], statuses: [JobStatus.FAILED, JobStatus.COMPLETED], pageSize: 2 });
    const next = await client.listJobs({
      types: ["email.send", "sms.send", "email.send"],
      statuses: [JobStatus.COMPLETED, JobStatus.FAILED],
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(labelsOf([...first.jobs, ...next.jobs].map((j) => j.id))).toBe("k i h e");
  });

  it.each<[string, Req]>([
    ["another type", { types: ["sms.send"] }],
    ["another order", { types: ["email.send"], order: SortOrder.OLDEST_FIRST }],
    ["another created range", { types: ["email.send"], created: { startTime: ts("2026-03-01T00:00:00Z") } }],
    ["another finished range", { types: ["email.send"], finished: { endTime: ts("2027-01-01T00:00:00Z") } }],
    ["a payload filter", { types: ["email.send"], payloadContains: { customer: { id: 1 } } }],
    ["a text query", { types: ["email.send"], textQuery: "smtp" }],
    ["attempts_above", { types: ["email.send"], attemptsAbove: 0 }],
    ["a worker", { types: ["email.send"], workerId: "w-1" }],
  ])("refuses a token reused with %s", async (_, req) => {
    const { nextPageToken } = await client.listJobs({ types: ["email.send"], pageSize: 2 });
    expect(nextPageToken).not.toBe("");
    const err = await rejection(client.listJobs({ ...req, pageToken: nextPageToken }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("page_token");
  });

  it("refuses a tampered token and a ListWorkers token", async () => {
    const { nextPageToken } = await client.listJobs({ pageSize: 2 });
    const [payload = "", mac = ""] = nextPageToken.split(".");
    const forged = Buffer.from(JSON.stringify({ after: jobId("a") })).toString("base64url");
    for (const pageToken of [`${forged}.${mac}`, `${payload}.${mac.slice(1)}A`, `${payload}x.${mac}`]) {
      const err = await rejection(client.listJobs({ pageSize: 2, pageToken }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("page_token");
    }
    await sql.query("INSERT INTO workers (id, status, last_seen, job_types) VALUES ('w-x', 'healthy', now(), '[]'), ('w-y', 'healthy', now(), '[]')");
    const workersToken = (await client.listWorkers({ pageSize: 1 })).nextPageToken;
    expect((await rejection(client.listJobs({ pageSize: 1, pageToken: workersToken }))).code).toBe(Code.InvalidArgument);
  });

  it.each<[string, Req, string]>([
    ["an unspecified status", { statuses: [JobStatus.UNSPECIFIED] }, "statuses"],
    ["an unknown status", { statuses: [99 as JobStatus] }, "statuses"],
    ["a page size over 500", { pageSize: 501 }, "page_size"],
    ["a negative page size", { pageSize: -1 }, "page_size"],
    ["a created start equal to its end", { created: { startTime: ts("2026-03-02T00:00:00Z"), endTime: ts("2026-03-02T00:00:00Z") } }, "created"],
    ["a finished start after its end", { finished: { startTime: ts("2026-03-03T00:00:00Z"), endTime: ts("2026-03-02T00:00:00Z") } }, "finished"],
    ["a created start past year 9999", { created: { startTime: { seconds: 253_402_300_800n } } }, "created.start_time"],
    ["finished end nanos out of range", { finished: { endTime: { seconds: 0n, nanos: 1_000_000_000 } } }, "finished.end_time"],
    ["a text query of 501 characters", { textQuery: "a".repeat(501) }, "text_query"],
    ["a negative attempts_above", { attemptsAbove: -1 }, "attempts_above"],
    ["an unknown order", { order: 7 as SortOrder }, "order"],
    ["a garbage token", { pageToken: "%%%" }, "page_token"],
  ])("answers invalid_argument for %s, naming the field", async (_, req, field) => {
    const err = await rejection(client.listJobs(req));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(field);
  });

  it("accepts a text query of 500 characters, counted as characters", async () => {
    expect(await list({ textQuery: "a".repeat(500) })).toBe("");
    expect(await list({ textQuery: "😀".repeat(500) })).toBe("");
  });

  describe("while jobs are created between pages", () => {
    const created: string[] = [];
    const createTwo = async () => {
      const jobs = [makeJob({ queue: "default" }), makeJob({ queue: "default" })];
      await insertJobs(sql, jobs);
      created.push(...jobs.map((j) => j.id));
    };
    afterAll(async () => {
      await sql?.query("DELETE FROM jobs WHERE id = ANY ($1::uuid[])", [created]);
    });

    it("walks newest first without meeting them", async () => {
      const ids: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listJobs({ queues: ["default"], pageSize: 2, pageToken });
        ids.push(...page.jobs.map((j) => j.id));
        pageToken = page.nextPageToken;
        await createTwo();
      } while (pageToken !== "");
      expect(labelsOf(ids)).toBe("k i h e d a");
    });

    it("walks oldest first meeting them at the end, in creation order", async () => {
      const ids: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await client.listJobs({ queues: ["default"], pageSize: 4, order: SortOrder.OLDEST_FIRST, pageToken });
        ids.push(...page.jobs.map((j) => j.id));
        pageToken = page.nextPageToken;
        if (pages === 0) await createTwo();
        pages += 1;
      } while (pageToken !== "");
      expect(ids.slice(0, 6)).toEqual(["a", "d", "e", "h", "i", "k"].map(jobId));
      expect(ids.slice(6)).toEqual(created);
    });
  });
});
