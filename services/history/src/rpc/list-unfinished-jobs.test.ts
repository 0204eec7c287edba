import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

/** An event of `jobId` happening now. */
const event = (jobId: string, seq: number, type: JobEventType, status: JobStatus, attempt = 0) => ({
  jobId, seq, type, status, attempt, actor: type === JobEventType.CANCELLED ? "api" : "worker:w", occurredAt: timestampFromMs(Date.now()),
});

describe("ListUnfinishedJobs and last_event_seq over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let reader: Client<typeof HistoryService>;
  let ingest: Client<typeof HistoryIngestService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    reader = createClient(HistoryService, transport);
    ingest = createClient(HistoryIngestService, transport);
  });
  afterAll(async () => {
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

  it("pages through unfinished jobs created before the moment in id order, with last_event_seq", async () => {
    const [a, b, c, done] = await submit(4);
    await ingest.appendEvents({
      events: [
        event(b!, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
        event(done!, 2, JobEventType.CANCELLED, JobStatus.CANCELLED),
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const createdBefore = timestampFromDate(new Date());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const first = await ingest.listUnfinishedJobs({ createdBefore, afterId: "", pageSize: 2 });
    const mine = <J extends { id: string }>(jobs: J[]) => jobs.filter((j) => [a, b, c, done].includes(j.id));
    expect(mine(first.jobs).map((j) => [j.id, j.status, j.lastEventSeq])).toEqual([
      [a, JobStatus.PENDING, 1],
      [b, JobStatus.PROCESSING, 2],
    ]);
    const second = await ingest.listUnfinishedJobs({ createdBefore, afterId: b!, pageSize: 2 });
    expect(second.jobs.map((j) => j.id)).toEqual([c]);
    const fresh = await submit(1);
    const before = await ingest.listUnfinishedJobs({ createdBefore, afterId: c! });
    expect(before.jobs.map((j) => j.id)).not.toContain(fresh[0]);
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
    ["no created_before", {}, "created_before"],
    ["a page size of 1001", { pageSize: 1001 }, "page_size"],
    ["a negative page size", { pageSize: -1 }, "page_size"],
    ["an after_id that is not a UUID", { afterId: "garbage!" }, "after_id"],
  ])("answers invalid_argument for %s", async (_, req, field) => {
    const full = { createdBefore: timestampFromDate(new Date()), ...req };
    if (field === "created_before") delete (full as { createdBefore?: unknown }).createdBefore;
    const err = await rejection(ingest.listUnfinishedJobs(full));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(field);
  });
});
