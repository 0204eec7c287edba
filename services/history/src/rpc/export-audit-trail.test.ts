import type { MessageInitShape } from "@bufbuild/protobuf";
import { leaseIdOf } from "../mapping/to-proto.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ExportAuditTrailRequestSchema,
  type ExportAuditTrailResponse,
  HistoryIngestService,
  HistoryService,
  JobEventType,
  JobStatus,
} from "@taskflow/proto";
import { type RunningServer, startServer } from "@taskflow/service-kit";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { endPool } from "../db/pool.js";
import { createHistoryDeps } from "../create-history-deps.js";
import { type RunningHistory, startHistory } from "../start-history.js";
import type { HistoryDeps } from "./deps.js";
import { exportAuditTrail } from "./export-audit-trail.js";

type ExportRequest = MessageInitShape<typeof ExportAuditTrailRequestSchema>;

const S = 1_000;
/** 2030-09-0d at h:m:s UTC, in ms. */
const at = (d: number, h: number, m = 0, s = 0) => Date.UTC(2030, 8, d, h, m, s);
const range = (startMs: number, endMs: number) => ({ startTime: timestampFromMs(startMs), endTime: timestampFromMs(endMs) });
/** The main trail's range: from J1's first lease up to J2's cancel (exclusive). */
const TRAIL = range(at(1, 10, 0, 5), at(3, 8));
/** 2030-10-01: one job with 2,501 events, 1 ms apart. */
const BULK_START = Date.UTC(2030, 9, 1);
const BULK_EVENTS = 2_501;
const BULK = range(BULK_START, BULK_START + BULK_EVENTS * S);

/** Every line of the chunks, parsed, after checking each chunk holds `events` whole lines. */
function linesOf(chunks: readonly ExportAuditTrailResponse[]): Record<string, unknown>[] {
  return chunks.flatMap((c) => {
    const text = Buffer.from(c.ndjson).toString("utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(lines).toHaveLength(c.events);
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  });
}

async function collect(stream: AsyncIterable<ExportAuditTrailResponse>): Promise<ExportAuditTrailResponse[]> {
  const chunks: ExportAuditTrailResponse[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

describe("ExportAuditTrail over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;
  const testStart = Date.now();
  const [j1, j2, j3, bulk] = [uuidv7(at(1, 10)), uuidv7(at(2, 9)), uuidv7(at(3, 8)), uuidv7(BULK_START)] as [string, string, string, string];

  const exportAll = (req: ExportRequest) => collect(client.exportAuditTrail(req));

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, pageTokenSecret: "test-secret-0123456789" },
      { logger: quietLogger },
    );
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    client = createClient(HistoryService, transport);
    const ingest = createClient(HistoryIngestService, transport);
    const job = (id: string, type: string, queue: string) => ({ id, type, queue, maxAttempts: 3 });
    await ingest.insertJobs({
      jobs: [job(j1, "email.send", "default"), job(j2, "report.build", "bulk"), job(j3, "email.send", "bulk"), job(bulk, "bulk.x", "chunky")],
    });
    const lease1 = { attempt: 1, workerId: "w-1", actor: "worker:w-1", leaseId: "lease-1" };
    const lease2 = { attempt: 2, workerId: "w-2", actor: "worker:w-2", leaseId: "lease-2" };
    const ev = (jobId: string, seq: number, type: JobEventType, status: JobStatus, ms: number, more: object) => ({
      jobId,
      seq,
      type,
      status,
      occurredAt: timestampFromMs(ms),
      ...more,
    });
    const retryAt = { retry_at: "2030-09-02T09:30:00Z" };
    const yes = { kind: { case: "boolValue" as const, value: true } };
    await ingest.appendEvents({
      events: [
        ev(j1, 2, JobEventType.STARTED, JobStatus.PROCESSING, at(1, 10, 0, 5), { ...lease1, reason: "leased", details: { host: "h1" } }),
        ev(j1, 3, JobEventType.RETRY_SCHEDULED, JobStatus.PENDING, at(1, 10, 0, 9), {
          ...lease1,
          error: "boom",
          reason: "handler_failed",
          details: retryAt,
        }),
        ev(j1, 4, JobEventType.STARTED, JobStatus.PROCESSING, at(2, 9, 30), { ...lease2, reason: "leased" }),
        ev(j1, 5, JobEventType.COMPLETED, JobStatus.COMPLETED, at(2, 9, 30, 10), { ...lease2, reason: "handler_succeeded", result: yes }),
        ev(j2, 2, JobEventType.CANCELLED, JobStatus.CANCELLED, at(3, 8), { actor: "api", reason: "cancel_requested" }),
      ],
    });
    const sql = new pg.Pool({ connectionString: db.url, max: 1 });
    await sql.query(
      `INSERT INTO job_events (job_id, seq, type, status, actor, occurred_at)
       SELECT $1, g, 'released', 'pending', 'scheduler:test', $2::timestamptz + (g - 1) * interval '1 millisecond'
       FROM generate_series(2, $3::int) g`,
      [bulk, new Date(BULK_START).toISOString(), BULK_EVENTS],
    );
    await endPool(sql);
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  it("streams the range as NDJSON JobEvents with the job's type and queue", async () => {
    const lines = linesOf(await exportAll({ range: TRAIL }));
    const recordedAt = expect.any(String) as unknown;
    const j1Line = { jobId: j1, jobType: "email.send", jobQueue: "default", recordedAt };
    const started = "JOB_EVENT_TYPE_STARTED";
    const processing = "JOB_STATUS_PROCESSING";
    const lease1 = { attempt: 1, workerId: "w-1", actor: "worker:w-1", leaseId: leaseIdOf("lease-1") };
    const lease2 = { attempt: 2, workerId: "w-2", actor: "worker:w-2", leaseId: leaseIdOf("lease-2") };
    expect(lines).toEqual([
      { ...j1Line, ...lease1, seq: 2, type: started, status: processing, reason: "leased", details: { host: "h1" }, occurredAt: "2030-09-01T10:00:05Z" },
      {
        ...j1Line,
        ...lease1,
        seq: 3,
        type: "JOB_EVENT_TYPE_RETRY_SCHEDULED",
        status: "JOB_STATUS_PENDING",
        error: "boom",
        reason: "handler_failed",
        details: { retry_at: "2030-09-02T09:30:00Z" },
        occurredAt: "2030-09-01T10:00:09Z",
      },
      {
        jobId: j2,
        jobType: "report.build",
        jobQueue: "bulk",
        recordedAt,
        seq: 1,
        type: "JOB_EVENT_TYPE_SUBMITTED",
        status: "JOB_STATUS_PENDING",
        actor: "api",
        reason: "submitted",
        occurredAt: "2030-09-02T09:00:00Z",
      },
      { ...j1Line, ...lease2, seq: 4, type: started, status: processing, reason: "leased", occurredAt: "2030-09-02T09:30:00Z" },
      {
        ...j1Line,
        ...lease2,
        seq: 5,
        type: "JOB_EVENT_TYPE_COMPLETED",
        status: "JOB_STATUS_COMPLETED",
        reason: "handler_succeeded",
        result: true,
        occurredAt: "2030-09-02T09:30:10Z",
      },
    ]);
    for (const l of lines) expect(Date.parse(l.recordedAt as string)).toBeGreaterThanOrEqual(testStart - 1_000);
  });

  it("includes the start and excludes the end", async () => {
    const name = new Map([
      [j1, "J1"],
      [j2, "J2"],
      [j3, "J3"],
    ]);
    const keys = async (startMs: number, endMs: number) =>
      linesOf(await exportAll({ range: range(startMs, endMs) })).map((l) => `${name.get(l.jobId as string)}.${l.seq as number}`);
    expect(await keys(at(1, 10), at(1, 10, 0, 5))).toEqual(["J1.1"]);
    expect(await keys(at(1, 10, 0, 5), at(1, 10, 0, 9))).toEqual(["J1.2"]);
    expect(await keys(at(2, 9, 30, 10), at(3, 8) + 1)).toEqual(["J1.5", "J2.2", "J3.1"]);
  });

  it("filters by the job's type and queue", async () => {
    const seqs = async (req: ExportRequest) => linesOf(await exportAll(req)).map((l) => `${l.jobType as string}.${l.seq as number}`);
    expect(await seqs({ range: TRAIL, types: ["report.build"] })).toEqual(["report.build.1"]);
    const days = range(at(1, 0), at(4, 0));
    expect(await seqs({ range: days, queues: ["bulk"] })).toEqual(["report.build.1", "report.build.2", "email.send.1"]);
    const j1Only = await seqs({ range: TRAIL, types: ["email.send"], queues: ["default"] });
    expect(j1Only).toEqual(["email.send.2", "email.send.3", "email.send.4", "email.send.5"]);
    expect(await exportAll({ range: TRAIL, types: ["nothing"] })).toEqual([]);
  });

  it("sends more than one page in chunks of at most 1,000 whole lines", async () => {
    const chunks = await exportAll({ range: BULK });
    expect(chunks.map((c) => c.events)).toEqual([1_000, 1_000, 501]);
    const lines = linesOf(chunks);
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: BULK_EVENTS }, (_, i) => i + 1));
    expect(new Set(lines.map((l) => l.jobQueue))).toEqual(new Set(["chunky"]));
  });

  it.each<[string, ExportRequest, string]>([
    ["no range", {}, "range: required"],
    ["no start", { range: { endTime: timestampFromMs(at(1, 0)) } }, "range.start_time: required"],
    ["no end", { range: { startTime: timestampFromMs(at(1, 0)) } }, "range.end_time: required"],
    ["an empty range", { range: range(at(1, 0), at(1, 0)) }, "range: start_time must be before end_time"],
    ["a reversed range", { range: range(at(2, 0), at(1, 0)) }, "range: start_time must be before end_time"],
    ["a NUL in a filter", { range: TRAIL, queues: ["ok", "b\u0000d"] }, "queues[1]: must not contain U+0000"],
  ])("answers invalid_argument for %s", async (_, req, message) => {
    const err = await rejection(exportAll(req));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(message);
  });

  describe("when the client cancels mid-stream", () => {
    let d: HistoryDeps;
    let server: RunningServer;
    let small: Client<typeof HistoryService>;
    let finished: Promise<void>;
    const PAGES = Math.ceil(BULK_EVENTS / 10);

    beforeAll(async () => {
      d = createHistoryDeps({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, quietLogger);
      const inner = exportAuditTrail(d, { batchSize: 10, chunkMaxEvents: 10 });
      let done = () => {};
      // Resolves when a call's handler has ended, however it ended.
      const handler: ServiceImpl<typeof HistoryService>["exportAuditTrail"] = async function* (req, ctx) {
        finished = new Promise((resolve) => (done = resolve));
        try {
          yield* inner(req, ctx);
        } finally {
          done();
        }
      };
      server = await startServer({
        host: "127.0.0.1",
        port: 0,
        logger: quietLogger,
        services: [{ service: HistoryService, impl: { exportAuditTrail: handler } }],
      });
      small = createClient(HistoryService, createGrpcTransport({ baseUrl: server.url }));
    });
    afterAll(async () => {
      await server?.close();
      if (d) await endPool(d.pool);
    });

    const pagesRead = () => d.timings.snapshot().find((t) => t.name === "history_export_audit_trail")?.calls ?? 0;

    it("stops reading pages, and the next call streams everything", async () => {
      const abort = new AbortController();
      const got: number[] = [];
      const err = await rejection(
        (async () => {
          for await (const c of small.exportAuditTrail({ range: BULK }, { signal: abort.signal })) {
            got.push(c.events);
            abort.abort();
          }
        })(),
      );
      expect(err.code).toBe(Code.Canceled);
      expect(got).toEqual([10]);
      await finished;
      const read = pagesRead();
      expect(read).toBeLessThan(PAGES / 4);
      const chunks = await collect(small.exportAuditTrail({ range: BULK }));
      expect(chunks.reduce((n, c) => n + c.events, 0)).toBe(BULK_EVENTS);
      expect(pagesRead() - read).toBe(PAGES);
      expect(await collect(client.exportAuditTrail({ range: BULK }))).toHaveLength(3);
    });
  });
});
