import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, JobEventType, JobStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../test/fixtures.js";
import { HISTORY_DEFAULTS } from "./config.js";
import { type RunningHistory, startHistory } from "./start-history.js";

/** The value of one sample line of `text`, or undefined when the line is absent. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("history's metrics", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, databasePoolMax: 7 }, { logger: quietLogger });
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  it("count jobs and events per ingest call, time the writes, and report the pool", async () => {
    const ids = [uuidv7(), uuidv7(), uuidv7()];
    await ingest.insertJobs({ jobs: ids.map((id) => ({ id, type: "t.x", queue: "q", maxAttempts: 3 })) });
    await ingest.insertJobs({ jobs: [{ id: uuidv7(), type: "t.x", queue: "q", maxAttempts: 3 }] });
    const started = (id: string) => ({
      jobId: id, seq: 2, type: JobEventType.STARTED, status: JobStatus.PROCESSING, attempt: 1, workerId: "w1", actor: "worker:w1",
      occurredAt: timestampFromMs(Date.now()),
    });
    await ingest.appendEvents({ events: ids.map(started) });
    // Refused before any write: neither a batch nor a write time.
    expect((await rejection(ingest.insertJobs({ jobs: [{ id: "not-a-uuid", type: "t.x" }] }))).code).toBe(Code.InvalidArgument);

    const text = await (await fetch(`${history.url}/metrics`)).text();
    expect(sample(text, 'taskflow_history_ingest_batch_size_count{method="InsertJobs"}')).toBe(2);
    expect(sample(text, 'taskflow_history_ingest_batch_size_sum{method="InsertJobs"}')).toBe(4);
    expect(sample(text, 'taskflow_history_ingest_batch_size_bucket{le="2",method="InsertJobs"}')).toBe(1);
    expect(sample(text, 'taskflow_history_ingest_batch_size_sum{method="AppendEvents"}')).toBe(3);
    expect(sample(text, 'taskflow_history_ingest_seconds_count{method="InsertJobs"}')).toBe(2);
    expect(sample(text, 'taskflow_history_ingest_seconds_count{method="AppendEvents"}')).toBe(1);
    const total = sample(text, 'taskflow_pg_pool_connections{pool="primary",state="total"}');
    expect(total).toBeGreaterThanOrEqual(1);
    expect(total).toBeLessThanOrEqual(7);
    expect(sample(text, 'taskflow_pg_pool_connections{pool="primary",state="waiting"}')).toBe(0);
    expect(text).not.toContain('pool="replica"');
    const ingestCalls = 'grpc_type="unary",grpc_service="taskflow.v1.HistoryIngestService",grpc_method="InsertJobs"';
    expect(sample(text, `grpc_server_handled_total{${ingestCalls},grpc_code="OK"}`)).toBe(2);
    expect(sample(text, `grpc_server_handled_total{${ingestCalls},grpc_code="InvalidArgument"}`)).toBe(1);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
  });
});
