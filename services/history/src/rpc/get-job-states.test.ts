import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, JobEventType, JobStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

describe("GetJobStates over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  it("answers status and last_event_seq of known jobs, leaving unknown ids out", async () => {
    const [a, b] = [uuidv7(), uuidv7()];
    await ingest.insertJobs({ jobs: [a, b].map((id) => ({ id, type: "t.x", queue: "q", maxAttempts: 1 })) });
    const cancelled = { jobId: b, seq: 2, type: JobEventType.CANCELLED, status: JobStatus.CANCELLED, actor: "api" };
    await ingest.appendEvents({ events: [{ ...cancelled, occurredAt: timestampFromMs(Date.now()) }] });
    const { states } = await ingest.getJobStates({ ids: [a, uuidv7(), b.toUpperCase()] });
    expect(states.map((s) => [s.id, s.status, s.lastEventSeq]).sort()).toEqual(
      [
        [a, JobStatus.PENDING, 1],
        [b, JobStatus.CANCELLED, 2],
      ].sort(),
    );
    expect((await ingest.getJobStates({ ids: [] })).states).toEqual([]);
  });

  it("answers invalid_argument naming an id that is not a UUID", async () => {
    const err = await rejection(ingest.getJobStates({ ids: [uuidv7(), "x'; DROP TABLE jobs; --"] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("ids[1]");
  });

  it("answers invalid_argument for more than 1000 ids", async () => {
    const err = await rejection(ingest.getJobStates({ ids: Array.from({ length: 1001 }, () => uuidv7()) }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("1000");
  });
});
