import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type GetStatsRequestSchema,
  HistoryIngestService,
  HistoryService,
  JobEventType,
  JobStatus,
  StatsBucket,
} from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

const S = 1_000;
const MINUTE = 60 * S;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 2030-07-01T08:00:00Z: the first job's creation and the window start. */
const T0 = Date.UTC(2030, 6, 1, 8);
/** A day with eleven distinct errors, for the top-errors limit. */
const ERRORS_DAY = Date.UTC(2030, 6, 5);

type StatsRequest = MessageInitShape<typeof GetStatsRequestSchema>;
const window = (startMs: number, endMs: number) => ({ startTime: timestampFromMs(startMs), endTime: timestampFromMs(endMs) });

describe("GetStats over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, pageTokenSecret: "test-secret-0123456789" },
      { logger: quietLogger },
    );
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    client = createClient(HistoryService, transport);
    const ingest = createClient(HistoryIngestService, transport);
    // P ran once (wait 2 s, run 10 s); Q failed, was retried and failed for good (its latest
    // attempt: wait 20 s from its scheduled time, run 20 s); R was cancelled before it ran.
    const [p, q, r] = [uuidv7(T0), uuidv7(T0 + MINUTE), uuidv7(T0 + 2 * MINUTE)] as [string, string, string];
    const noise = uuidv7(ERRORS_DAY);
    const job = (id: string, type: string, queue: string, scheduledMs: number) => ({
      id,
      type,
      queue,
      maxAttempts: 3,
      scheduledAt: timestampFromMs(scheduledMs),
    });
    await ingest.insertJobs({
      jobs: [
        job(p, "email.send", "default", T0),
        job(q, "email.send", "bulk", T0 + MINUTE),
        job(r, "report.build", "default", T0 + 2 * MINUTE),
        job(noise, "noise", "default", ERRORS_DAY),
      ],
    });
    const ev = (jobId: string, seq: number, type: JobEventType, status: JobStatus, ms: number, more = {}) => ({
      jobId,
      seq,
      type,
      status,
      actor: "worker:w-1",
      occurredAt: timestampFromMs(ms),
      ...more,
    });
    await ingest.appendEvents({
      events: [
        ev(p, 2, JobEventType.STARTED, JobStatus.PROCESSING, T0 + 2 * S, { attempt: 1, workerId: "w-1" }),
        ev(p, 3, JobEventType.COMPLETED, JobStatus.COMPLETED, T0 + 12 * S, { attempt: 1, workerId: "w-1" }),
        ev(q, 2, JobEventType.STARTED, JobStatus.PROCESSING, T0 + 64 * S, { attempt: 1, workerId: "w-1" }),
        ev(q, 3, JobEventType.RETRY_SCHEDULED, JobStatus.PENDING, T0 + 70 * S, { attempt: 1, error: "boom" }),
        ev(q, 4, JobEventType.STARTED, JobStatus.PROCESSING, T0 + 80 * S, { attempt: 2, workerId: "w-1" }),
        ev(q, 5, JobEventType.FAILED, JobStatus.FAILED, T0 + 100 * S, { attempt: 2, error: "boom" }),
        ev(r, 2, JobEventType.CANCELLED, JobStatus.CANCELLED, T0 + 130 * S, { actor: "api" }),
        // Eleven distinct errors, "e01" seen 11 times down to "e11" seen once.
        ...Array.from({ length: 66 }, (_, i) => {
          const n = 11 - Math.floor((Math.sqrt(8 * i + 1) - 1) / 2);
          return ev(noise, i + 2, JobEventType.RETRY_SCHEDULED, JobStatus.PENDING, ERRORS_DAY + i * S, {
            error: `e${String(n).padStart(2, "0")}`,
          });
        }),
      ],
    });
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  it("answers every figure of the window, in minute buckets for an hour", async () => {
    const res = await client.getStats({ window: window(T0, T0 + HOUR) });
    expect(res.window).toEqual(expect.objectContaining(window(T0, T0 + HOUR)));
    expect(res.bucket).toBe(StatsBucket.MINUTE);
    expect(res.created).toEqual(
      expect.objectContaining({ pending: 0n, processing: 0n, completed: 1n, failed: 1n, cancelled: 1n, total: 3n }),
    );
    const filled: Record<number, [bigint, bigint, bigint, bigint]> = {
      0: [1n, 1n, 0n, 0n], // P created, P completed at +12 s
      1: [1n, 0n, 1n, 0n], // Q created, Q failed at +100 s
      2: [1n, 0n, 0n, 1n], // R created, R cancelled at +130 s
    };
    expect(res.throughput.map((b) => [Number(b.startTime?.seconds) * S, b.submitted, b.completed, b.failed, b.cancelled])).toEqual(
      Array.from({ length: 60 }, (_, i) => [T0 + i * MINUTE, ...(filled[i] ?? [0n, 0n, 0n, 0n])]),
    );
    // Waits [2, 20] s: p50 11 s, p95 2 + 0.95 * 18 = 19.1 s, p99 2 + 0.99 * 18 = 19.82 s.
    const d = (seconds: number, nanos: number) => expect.objectContaining({ seconds: BigInt(seconds), nanos });
    expect(res.queueWait).toEqual(
      expect.objectContaining({ count: 2n, p50: d(11, 0), p95: d(19, 100_000_000), p99: d(19, 820_000_000) }),
    );
    // Runs [10, 20] s: p50 15 s, p95 19.5 s, p99 19.9 s.
    expect(res.runTime).toEqual(expect.objectContaining({ count: 2n, p50: d(15, 0), p95: d(19, 500_000_000), p99: d(19, 900_000_000) }));
    expect(res.failureRate).toBe(0.5);
    expect(res.topErrors.map((e) => [e.error, e.count, e.jobs, e.lastSeenAt?.seconds])).toEqual([
      ["boom", 2n, 1n, BigInt((T0 + 100 * S) / S)],
    ]);
  });

  it("filters by type and queue", async () => {
    const reports = await client.getStats({ window: window(T0, T0 + HOUR), types: ["report.build"] });
    expect([reports.created?.cancelled, reports.created?.total, reports.failureRate]).toEqual([1n, 1n, 0]);
    expect(reports.queueWait?.count).toBe(0n);
    expect(reports.queueWait?.p50).toBeUndefined();
    const bulk = await client.getStats({ window: window(T0, T0 + HOUR), queues: ["bulk"] });
    expect([bulk.created?.failed, bulk.created?.total, bulk.failureRate, bulk.topErrors.length]).toEqual([1n, 1n, 1, 1]);
  });

  it("answers each queue's finished jobs and failure rate with by_queue, and none without", async () => {
    expect((await client.getStats({ window: window(T0, T0 + HOUR) })).byQueue).toEqual([]);
    const res = await client.getStats({ window: window(T0, T0 + HOUR), byQueue: true });
    expect(res.byQueue.map((q) => [q.queue, q.completed, q.failed, q.cancelled, q.failureRate])).toEqual([
      ["bulk", 0n, 1n, 0n, 1],
      ["default", 1n, 0n, 1n, 0],
    ]);
    // The whole window's figures are the same with it.
    expect(res.failureRate).toBe(0.5);
  });

  it("chooses minutes up to 6 hours, hours up to 7 days, days beyond", async () => {
    const cases: [number, StatsBucket, number][] = [
      [6 * HOUR, StatsBucket.MINUTE, 360],
      [6 * HOUR + 1, StatsBucket.HOUR, 7],
      [7 * DAY, StatsBucket.HOUR, 168],
      [7 * DAY + 1, StatsBucket.DAY, 8],
      [366 * DAY, StatsBucket.DAY, 366],
    ];
    const start = Date.UTC(2030, 0, 1);
    for (const [span, bucket, n] of cases) {
      const res = await client.getStats({ window: window(start, start + span) });
      expect([res.bucket, res.throughput.length]).toEqual([bucket, n]);
    }
  });

  it("aligns buckets to the window start truncated in UTC", async () => {
    const res = await client.getStats({ window: window(T0 + 90 * MINUTE, T0 + 150 * MINUTE), bucket: StatsBucket.DAY });
    expect(res.throughput.map((b) => Number(b.startTime?.seconds) * S)).toEqual([Date.UTC(2030, 6, 1)]);
    const hours = await client.getStats({ window: window(T0 + 30 * MINUTE, T0 + 150 * MINUTE), bucket: StatsBucket.HOUR });
    expect(hours.throughput.map((b) => Number(b.startTime?.seconds) * S)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
    expect(hours.throughput.map((b) => b.submitted)).toEqual([0n, 0n, 0n]);
    expect(hours.throughput.map((b) => b.failed)).toEqual([0n, 0n, 0n]);
  });

  it("returns the 10 most frequent errors when top_errors_limit is 0 (unset)", async () => {
    const top = async (limit: number) =>
      (await client.getStats({ window: window(ERRORS_DAY, ERRORS_DAY + DAY), topErrorsLimit: limit })).topErrors.map(
        (e) => `${e.error}:${e.count}`,
      );
    const all = Array.from({ length: 11 }, (_, i) => `e${String(i + 1).padStart(2, "0")}:${11 - i}`);
    expect(await top(0)).toEqual(all.slice(0, 10));
    expect(await top(11)).toEqual(all);
    expect(await top(1)).toEqual(all.slice(0, 1));
    expect(await top(100)).toEqual(all);
  });

  it.each<[string, StatsRequest, string]>([
    ["no window", {}, "window: required"],
    ["no start", { window: { endTime: timestampFromMs(T0) } }, "window.start_time: required"],
    ["no end", { window: { startTime: timestampFromMs(T0) } }, "window.end_time: required"],
    ["an empty window", { window: window(T0, T0) }, "window: start_time must be before end_time"],
    ["a reversed window", { window: window(T0, T0 - 1) }, "window: start_time must be before end_time"],
    ["a window over 366 days", { window: window(T0, T0 + 366 * DAY + 1) }, "window: must span at most 366 days"],
    ["an invalid timestamp", { window: { startTime: { seconds: 253_402_300_800n }, endTime: timestampFromMs(T0) } }, "window.start_time"],
    ["an unknown bucket", { window: window(T0, T0 + HOUR), bucket: 9 as StatsBucket }, "bucket: must be a known StatsBucket"],
    ["1,501 minute buckets", { window: window(T0, T0 + 1_501 * MINUTE), bucket: StatsBucket.MINUTE }, "holds 1501 buckets"],
    ["1,501 buckets once aligned", { window: window(T0 + 30 * S, T0 + 1_500 * MINUTE + 30 * S), bucket: StatsBucket.MINUTE }, "holds 1501 buckets"],
    ["1,501 hour buckets", { window: window(T0, T0 + 1_501 * HOUR), bucket: StatsBucket.HOUR }, "holds 1501 buckets"],
    ["a negative top_errors_limit", { window: window(T0, T0 + HOUR), topErrorsLimit: -1 }, "top_errors_limit: must be from 0 to 100"],
    ["top_errors_limit 101", { window: window(T0, T0 + HOUR), topErrorsLimit: 101 }, "top_errors_limit: must be from 0 to 100"],
  ])("answers invalid_argument for %s", async (_, req, message) => {
    const err = await rejection(client.getStats(req));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(message);
  });

  it("accepts exactly 1,500 minute buckets", async () => {
    const res = await client.getStats({ window: window(T0, T0 + 1_500 * MINUTE), bucket: StatsBucket.MINUTE });
    expect(res.throughput).toHaveLength(1_500);
  });
});
