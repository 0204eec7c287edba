import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobEventType, JobStatus, WorkerStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { endPool } from "../db/pool.js";
import { type RunningHistory, startHistory } from "../start-history.js";

const STARTED = new Date("2026-03-01T00:00:00.000Z");

const worker = (id: string, status = WorkerStatus.HEALTHY) => ({
  id,
  status,
  queues: ["default", "bulk"],
  jobTypes: ["email.send"],
  concurrency: 4,
  hostname: "host-g",
  metadata: { zone: "eu-1" },
  currentJobIds: ["019c0000-0000-7000-8000-000000000001"],
  startedAt: timestampFromDate(STARTED),
});

describe("GetWorker over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;
  let ingest: Client<typeof HistoryIngestService>;
  let sql: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, pageTokenSecret: "test-secret-0123456789" },
      { logger: quietLogger },
    );
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    client = createClient(HistoryService, transport);
    ingest = createClient(HistoryIngestService, transport);
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    if (sql) await endPool(sql);
    await history?.close();
    await db?.drop();
  });

  it("returns every field of a registered worker", async () => {
    const before = Date.now();
    await ingest.upsertWorkers({ workers: [worker("gw-a")] });
    const { worker: w } = await client.getWorker({ id: "gw-a" });
    expect(w).toMatchObject({
      id: "gw-a",
      status: WorkerStatus.HEALTHY,
      queues: ["default", "bulk"],
      jobTypes: ["email.send"],
      concurrency: 4,
      hostname: "host-g",
      metadata: { zone: "eu-1" },
      currentJobIds: ["019c0000-0000-7000-8000-000000000001"],
      startedAt: timestampFromDate(STARTED),
      jobsCompleted: 0n,
      jobsFailed: 0n,
    });
    expect(Number(w?.lastSeenAt?.seconds) * 1000).toBeGreaterThanOrEqual(before - 1_000);
  });

  it("derives STALE and GONE as ListWorkers does", async () => {
    await ingest.upsertWorkers({ workers: [worker("gw-late"), worker("gw-silent"), worker("gw-left", WorkerStatus.GONE)] });
    await sql.query("UPDATE workers SET last_seen = now() - interval '1 minute' WHERE id = 'gw-late'");
    await sql.query("UPDATE workers SET last_seen = now() - interval '10 minutes' WHERE id = 'gw-silent'");
    const status = async (id: string) => (await client.getWorker({ id })).worker?.status;
    expect([await status("gw-late"), await status("gw-silent"), await status("gw-left")]).toEqual([
      WorkerStatus.STALE,
      WorkerStatus.GONE,
      WorkerStatus.GONE,
    ]);
    const listed = (await client.listWorkers({})).workers.filter((w) => w.id.startsWith("gw-"));
    for (const w of listed) expect((await client.getWorker({ id: w.id })).worker).toEqual(w);
  });

  it("counts the attempts a worker completed and failed, once however often a batch is applied", async () => {
    await ingest.upsertWorkers({ workers: [worker("gw-c")] });
    const ids = [uuidv7(), uuidv7()];
    await ingest.insertJobs({ jobs: ids.map((id) => ({ id, type: "email.send", queue: "default", payload: {}, maxAttempts: 3 })) });
    const event = (jobId: string, seq: number, type: JobEventType, status: JobStatus, attempt: number) => ({
      jobId, seq, type, status, attempt, workerId: "gw-c", actor: "worker:gw-c", occurredAt: timestampFromMs(Date.now()),
    });
    const [a = "", b = ""] = ids;
    const batch = [
      event(a, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
      event(a, 3, JobEventType.RETRY_SCHEDULED, JobStatus.PENDING, 1),
      event(a, 4, JobEventType.STARTED, JobStatus.PROCESSING, 2),
      event(a, 5, JobEventType.COMPLETED, JobStatus.COMPLETED, 2),
      event(b, 2, JobEventType.STARTED, JobStatus.PROCESSING, 1),
      event(b, 3, JobEventType.FAILED, JobStatus.FAILED, 1),
    ];
    expect((await ingest.appendEvents({ events: batch })).appended).toBe(6);
    const counts = async () => {
      const w = (await client.getWorker({ id: "gw-c" })).worker;
      return [w?.jobsCompleted, w?.jobsFailed];
    };
    expect(await counts()).toEqual([1n, 2n]);
    expect((await ingest.appendEvents({ events: batch })).appended).toBe(0);
    expect(await counts()).toEqual([1n, 2n]);
  });

  it("answers invalid_argument for an empty id and not_found, naming it, for an unknown one", async () => {
    const empty = await rejection(client.getWorker({ id: "" }));
    expect(empty.code).toBe(Code.InvalidArgument);
    expect(empty.rawMessage).toContain("id");
    const unknown = await rejection(client.getWorker({ id: "gw-nobody" }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toContain("gw-nobody");
  });
});
