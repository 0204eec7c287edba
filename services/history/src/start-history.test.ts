import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, timestampMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  HistoryIngestService,
  HistoryService,
  JobEventType,
  type JobSchema,
  JobStatus,
  WorkerStatus,
} from "@taskflow/proto";
import { Health, HealthCheckResponse_ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../test/fixtures.js";
import { HISTORY_DEFAULTS } from "./config.js";
import { endPool } from "./db/pool.js";
import { type RunningHistory, startHistory } from "./start-history.js";

type JobInit = MessageInitShape<typeof JobSchema>;

const jobInit = (over: JobInit = {}): JobInit => ({
  id: uuidv7(),
  type: "email.send",
  queue: "default",
  payload: { to: "a@example.com" },
  maxAttempts: 3,
  priority: 0,
  scheduledAt: timestampFromDate(new Date("2030-01-01T00:00:00.000Z")),
  ...over,
});

describe("history over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;
  let ingest: Client<typeof HistoryIngestService>;
  let health: Client<typeof Health>;
  let sql: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    const transport = createGrpcTransport({ baseUrl: history.url });
    client = createClient(HistoryService, transport);
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
    health = createClient(Health, transport);
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    if (sql) await endPool(sql);
    await history?.close();
    await db?.drop();
  });

  it("reports SERVING while PostgreSQL answers", async () => {
    const res = await health.check({ service: "" });
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("answers not_found with the id for an unknown job", async () => {
    const id = uuidv7();
    const err = await rejection(client.getJob({ id }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain(id);
  });

  it("answers invalid_argument for an id that is not a UUID", async () => {
    expect((await rejection(client.getJob({ id: "nope" }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(client.listJobEvents({ jobId: "nope" }))).code).toBe(Code.InvalidArgument);
  });

  it("inserts jobs and reads every field back", async () => {
    const init = jobInit({
      type: "report.build",
      queue: "reports",
      payload: { user: { id: 7 }, tags: ["a"], ok: true, none: null },
      maxAttempts: 5,
      priority: 10,
      timeout: durationFromMs(45_000),
      idempotencyKey: "rpc-key",
    });
    const { jobs } = await ingest.insertJobs({ jobs: [init, jobInit()] });
    expect(jobs).toHaveLength(2);
    const { job } = await client.getJob({ id: init.id as string });
    // The answer leaves out the payload the caller sent; the rest is what GetJob reads.
    expect(jobs[0]?.payload).toBeUndefined();
    expect({ ...job, payload: undefined }).toEqual(jobs[0]);
    expect(job).toMatchObject({
      id: init.id,
      type: "report.build",
      queue: "reports",
      payload: { user: { id: 7 }, tags: ["a"], ok: true, none: null },
      status: JobStatus.PENDING,
      attempts: 0,
      maxAttempts: 5,
      priority: 10,
      idempotencyKey: "rpc-key",
      error: "",
      workerId: "",
    });
    expect(job?.timeout && Number(job.timeout.seconds)).toBe(45);
    expect(job?.scheduledAt && timestampMs(job.scheduledAt)).toBe(Date.parse("2030-01-01T00:00:00.000Z"));
    expect(job?.createdAt).toBeDefined();
    expect(job?.result).toBeUndefined();

    // A key's holder (another request's job) comes back whole, payload included.
    const again = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "rpc-key" })] });
    expect(again.jobs[0]).toMatchObject({ id: init.id, payload: { user: { id: 7 }, tags: ["a"], ok: true, none: null } });
  });

  it("rejects a malformed batch whole, storing nothing", async () => {
    const good = jobInit();
    const err = await rejection(ingest.insertJobs({ jobs: [good, jobInit({ id: "x" })] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("jobs[1].id");
    expect((await rejection(client.getJob({ id: good.id as string }))).code).toBe(Code.NotFound);
    for (const bad of [{ type: "" }, { queue: "" }, { maxAttempts: 0 }, { priority: 1_001 }, { timeout: durationFromMs(-1) }]) {
      expect((await rejection(ingest.insertJobs({ jobs: [jobInit(bad)] }))).code).toBe(Code.InvalidArgument);
    }
  });

  it("refuses text PostgreSQL cannot store, and timestamps outside years 1 to 9999, naming the field", async () => {
    // Each refusal is caught as it is made: the calls run at once, and one answered before the
    // loop reaches it must not count as an unhandled rejection.
    const cases: [ReturnType<typeof rejection>, string][] = [
      [rejection(ingest.insertJobs({ jobs: [jobInit({ payload: { a: ["x\u0000"] } })] })), "jobs[0].payload.a[0]"],
      [rejection(ingest.upsertWorkers({ workers: [{ id: "w-nul", hostname: "h\u0000" }] })), "workers[0].hostname"],
      [rejection(client.listJobs({ types: ["ok", "\u0000"] })), "types[1]"],
      [rejection(ingest.insertJobs({ jobs: [jobInit({ scheduledAt: { seconds: -70_000_000_000n, nanos: 0 } })] })), "jobs[0].scheduled_at"],
    ];
    for (const [refused, field] of cases) {
      const err = await refused;
      expect({ field, code: err.code, message: err.rawMessage }).toEqual({
        field,
        code: Code.InvalidArgument,
        message: expect.stringContaining(field) as string,
      });
    }
    expect((await sql.query("SELECT count(*)::int AS n FROM workers WHERE id = 'w-nul'")).rows[0]).toEqual({ n: 0 });
  });

  it("answers already_exists for a key still reserved for a job that was deleted", async () => {
    const { jobs } = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "rpc-deleted" })] });
    await sql.query("DELETE FROM jobs WHERE id = $1", [jobs[0]?.id]);
    const err = await rejection(ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "rpc-deleted" })] }));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toContain("idempotency_key");
  });

  it("applies events and serves the job and its trail", async () => {
    const { jobs } = await ingest.insertJobs({ jobs: [jobInit()] });
    const id = jobs[0]?.id as string;
    const ghost = uuidv7();
    const at = (s: number) => timestampFromDate(new Date(Date.UTC(2030, 0, 1, 0, 0, s)));
    const events = [
      { jobId: id, seq: 2, type: JobEventType.STARTED, status: JobStatus.PROCESSING, attempt: 1, workerId: "w1", actor: "worker:w1", occurredAt: at(2) },
      {
        jobId: id, seq: 3, type: JobEventType.COMPLETED, status: JobStatus.COMPLETED, attempt: 1, workerId: "w1",
        actor: "worker:w1", occurredAt: at(3), result: create(ValueSchema, { kind: { case: "numberValue", value: 42 } }),
      },
      { jobId: ghost, seq: 2, type: JobEventType.STARTED, status: JobStatus.PROCESSING, attempt: 1, actor: "worker:w1", occurredAt: at(2) },
    ];
    expect(await ingest.appendEvents({ events })).toMatchObject({ appended: 2, unknownJobIds: [ghost] });
    expect(await ingest.appendEvents({ events })).toMatchObject({ appended: 0, unknownJobIds: [ghost] });

    const { job } = await client.getJob({ id });
    expect(job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId: "w1" });
    expect(job?.result?.kind).toEqual({ case: "numberValue", value: 42 });
    expect(job?.completedAt && timestampMs(job.completedAt)).toBe(Date.UTC(2030, 0, 1, 0, 0, 3));

    const first = await client.listJobEvents({ jobId: id, pageSize: 2 });
    expect(first.events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED]);
    expect(first.nextPageToken).not.toBe("");
    const second = await client.listJobEvents({ jobId: id, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.events.map((e) => e.seq)).toEqual([3]);
    expect(second.events[0]).toMatchObject({ actor: "worker:w1", status: JobStatus.COMPLETED, workerId: "w1" });
    expect(second.nextPageToken).toBe("");

    expect((await rejection(client.listJobEvents({ jobId: ghost }))).code).toBe(Code.NotFound);
  });

  it("rejects a batch with a malformed event, applying none of it", async () => {
    const { jobs } = await ingest.insertJobs({ jobs: [jobInit()] });
    const id = jobs[0]?.id as string;
    const occurredAt = timestampFromDate(new Date());
    const ok = { jobId: id, seq: 2, type: JobEventType.CANCELLED, status: JobStatus.CANCELLED, actor: "api", occurredAt };
    for (const bad of [{ type: JobEventType.UNSPECIFIED }, { status: JobStatus.UNSPECIFIED }, { seq: 0 }, { actor: "" }, { occurredAt: undefined }]) {
      const err = await rejection(ingest.appendEvents({ events: [ok, { ...ok, ...bad, seq: bad.seq ?? 3 }] }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("events[1]");
    }
    expect((await client.getJob({ id })).job?.status).toBe(JobStatus.PENDING);
  });

  it("lists jobs by filter with page tokens", async () => {
    const queue = `q-${uuidv7()}`;
    const inits = Array.from({ length: 5 }, () => jobInit({ queue }));
    await ingest.insertJobs({ jobs: inits });
    const expected = inits.map((j) => j.id).reverse();
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listJobs({ queues: [queue], statuses: [JobStatus.PENDING], pageSize: 2, pageToken });
      seen.push(...page.jobs.map((j) => j.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual(expected);
    expect((await client.listJobs({ queues: [queue], statuses: [JobStatus.COMPLETED] })).jobs).toEqual([]);
  });

  it.each([
    ["a garbage token", { pageToken: "%%%" }],
    ["a token without a uuid", { pageToken: Buffer.from('{"after":"x"}').toString("base64url") }],
    ["a token of another list", { pageToken: Buffer.from('{"after":3}').toString("base64url") }],
    ["a page size over 500", { pageSize: 501 }],
    ["a negative page size", { pageSize: -1 }],
    ["an unspecified status", { statuses: [JobStatus.UNSPECIFIED] }],
    ["an unknown status", { statuses: [99 as JobStatus] }],
  ])("answers ListJobs with %s as invalid_argument", async (_, req) => {
    expect((await rejection(client.listJobs(req))).code).toBe(Code.InvalidArgument);
  });

  it("records workers and lists them with derived health", async () => {
    const worker = (id: string, status = WorkerStatus.HEALTHY) => ({
      id,
      status,
      queues: ["default"],
      jobTypes: ["echo"],
      concurrency: 2,
      hostname: "host-a",
      metadata: { version: "1" },
      currentJobIds: ["j1"],
      startedAt: timestampFromDate(new Date("2030-01-01T00:00:00.000Z")),
    });
    await ingest.upsertWorkers({ workers: [worker("rpc-a"), worker("rpc-b"), worker("rpc-c", WorkerStatus.GONE)] });
    await sql.query("UPDATE workers SET last_seen = now() - interval '1 minute' WHERE id = 'rpc-b'");

    // Other tests of this file record workers too (through their events); walk every page.
    const workers = [];
    let pageToken = "";
    do {
      const page = await client.listWorkers({ pageSize: 2, pageToken });
      expect(page.workers.length).toBeLessThanOrEqual(2);
      workers.push(...page.workers.filter((w) => w.id.startsWith("rpc-")));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(workers.map((w) => [w.id, w.status])).toEqual([
      ["rpc-a", WorkerStatus.HEALTHY],
      ["rpc-b", WorkerStatus.STALE],
      ["rpc-c", WorkerStatus.GONE],
    ]);
    expect(workers[0]).toMatchObject({
      queues: ["default"],
      jobTypes: ["echo"],
      concurrency: 2,
      hostname: "host-a",
      metadata: { version: "1" },
      currentJobIds: ["j1"],
    });
    expect(workers[0]?.lastSeenAt).toBeDefined();
    expect((await rejection(ingest.upsertWorkers({ workers: [worker("")] }))).code).toBe(Code.InvalidArgument);
  });

  it("fails to start, leaving nothing open, when PostgreSQL is unreachable", async () => {
    const config = { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: "postgres://postgres@127.0.0.1:1/none" };
    await expect(startHistory(config, { logger: quietLogger })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
