import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

describe("AppendEvents clashing events over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;
  let client: Client<typeof HistoryService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    ingest = createClient(HistoryIngestService, transport);
    client = createClient(HistoryService, transport);
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  const event = (jobId: string, seq: number, type: JobEventType, status: JobStatus, attempt: number) => ({
    jobId,
    seq,
    type,
    status,
    attempt,
    workerId: "w1",
    actor: "worker:w1",
    occurredAt: timestampFromMs(Date.UTC(2030, 0, 1, 0, 0, seq)),
  });

  it("answers the events whose (job_id, seq) history holds for another transition, recording none of them", async () => {
    const [a, b] = [uuidv7(), uuidv7()];
    await ingest.insertJobs({ jobs: [a, b].map((id) => ({ id, type: "t.x", queue: "q", maxAttempts: 3 })) });
    await ingest.appendEvents({
      events: [
        event(a, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
        event(b, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
      ],
    });

    const res = await ingest.appendEvents({
      events: [
        event(b, 2, JobEventType.COMPLETED, JobStatus.COMPLETED, 1),
        event(a, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
        event(a, 2, JobEventType.STARTED, JobStatus.PROCESSING, 2),
        event(a, 3, JobEventType.COMPLETED, JobStatus.COMPLETED, 1),
      ],
    });

    expect(res.appended).toBe(1);
    expect(res.unknownJobIds).toEqual([]);
    expect(res.clashingEvents.map((e) => ({ jobId: e.jobId, seq: e.seq }))).toEqual(
      [
        { jobId: a, seq: 2 },
        { jobId: b, seq: 2 },
      ].sort((x, y) => x.jobId.localeCompare(y.jobId)),
    );
    expect((await client.getJob({ id: a })).job?.status).toBe(JobStatus.COMPLETED);
    expect((await client.getJob({ id: b })).job?.status).toBe(JobStatus.PROCESSING);
    const trail = await client.listJobEvents({ jobId: b });
    expect(trail.events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED]);
  });

  it("answers no clashes for a plain replay", async () => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.x", queue: "q", maxAttempts: 3 }] });
    const events = [event(id, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1)];
    await ingest.appendEvents({ events });
    const again = await ingest.appendEvents({ events });
    expect(again.appended).toBe(0);
    expect(again.clashingEvents).toEqual([]);
  });
});
