import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { endPool } from "../db/pool.js";
import { type RunningHistory, startHistory } from "../server.js";

/** An event of `jobId` happening now. */
const event = (jobId: string, seq: number, type: JobEventType, status: JobStatus, attempt = 0) => ({
  jobId, seq, type, status, attempt, actor: type === JobEventType.CANCELLED ? "api" : "worker:w", occurredAt: timestampFromMs(Date.now()),
});

describe("ListUnfinishedJobs and last_event_seq over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let reader: Client<typeof HistoryService>;
  let ingest: Client<typeof HistoryIngestService>;
  let sql: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, databaseUrl: db.url }, { logger: quietLogger });
    const transport = createGrpcTransport({ baseUrl: history.url });
    reader = createClient(HistoryService, transport);
    ingest = createClient(HistoryIngestService, transport);
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    if (sql) await endPool(sql);
    await history?.close();
    await db?.drop();
  });

  const submit = async (n: number): Promise<string[]> => {
    const ids = Array.from({ length: n }, () => uuidv7());
    await ingest.insertJobs({
      jobs: ids.map((id) => ({ id, type: "t.x", queue: "q", payload: {}, maxAttempts: 3 })),
    });
    return ids;
  };

  it("pages through unfinished jobs changed before the moment, oldest first, with last_event_seq", async () => {
    const [old1, old2, old3, done, fresh] = await submit(5);
    await ingest.appendEvents({
      events: [
        event(old2!, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
        event(done!, 2, JobEventType.CANCELLED, JobStatus.CANCELLED),
      ],
    });
    // Their rows changed a minute ago, in this order (`done` finished); `fresh` just now.
    await sql.query(
      `UPDATE jobs SET updated_at = now() - interval '60 seconds' + s.n * interval '1 millisecond'
       FROM unnest($1::uuid[]) WITH ORDINALITY AS s(id, n) WHERE jobs.id = s.id`,
      [[old1, old2, old3, done]],
    );
    const updatedBefore = timestampFromDate(new Date(Date.now() - 30_000));
    const first = await ingest.listUnfinishedJobs({ updatedBefore, pageSize: 2 });
    expect(first.jobs.map((j) => [j.id, j.status, j.lastEventSeq])).toEqual([
      [old1, JobStatus.PENDING, 1],
      [old2, JobStatus.PROCESSING, 2],
    ]);
    expect(first.nextPageToken).not.toBe("");
    const second = await ingest.listUnfinishedJobs({ updatedBefore, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.jobs.map((j) => j.id)).toEqual([old3]);
    expect(second.nextPageToken).toBe("");
    const all = await ingest.listUnfinishedJobs({ updatedBefore: timestampFromDate(new Date(Date.now() + 60_000)) });
    expect(all.jobs.map((j) => j.id)).toContain(fresh);
    expect(all.jobs.map((j) => j.id)).not.toContain(done);
  });

  it("fills last_event_seq in every job it returns", async () => {
    const [id] = await submit(1);
    await ingest.appendEvents({ events: [event(id!, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1)] });
    expect((await reader.getJob({ id })).job?.lastEventSeq).toBe(2);
    const listed = await reader.listJobs({ statuses: [JobStatus.PROCESSING] });
    expect(listed.jobs.find((j) => j.id === id)?.lastEventSeq).toBe(2);
    const [inserted] = (await ingest.insertJobs({ jobs: [{ id: uuidv7(), type: "t.x", queue: "q", maxAttempts: 1 }] })).jobs;
    expect(inserted?.lastEventSeq).toBe(1);
  });

  it.each([
    ["no updated_before", {}, "updated_before"],
    ["a page size of 1001", { pageSize: 1001 }, "page_size"],
    ["a negative page size", { pageSize: -1 }, "page_size"],
    ["a token it did not issue", { pageToken: "garbage!" }, "page_token"],
    ["another list's token", { pageToken: Buffer.from('{"after":7}').toString("base64url") }, "page_token"],
  ])("answers invalid_argument for %s", async (_, req, field) => {
    const full = { updatedBefore: timestampFromDate(new Date()), ...req };
    if (field === "updated_before") delete (full as { updatedBefore?: unknown }).updatedBefore;
    const err = await rejection(ingest.listUnfinishedJobs(full));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(field);
  });
});
