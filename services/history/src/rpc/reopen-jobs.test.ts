import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

describe("ReopenJobs over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;
  let reads: Client<typeof HistoryService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
    reads = createClient(HistoryService, createGrpcTransport({ baseUrl: history.url }));
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  const action = { action: "job.retry", target: "t" };

  /** A job whose trail is SUBMITTED, STARTED and then `end` (FAILED with an error, or CANCELLED). */
  async function endedJob(end: "failed" | "cancelled" | "completed"): Promise<string> {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.x", queue: "q", maxAttempts: 1 }] });
    const at = timestampFromMs(Date.now());
    const base = { jobId: id, actor: "worker:w", occurredAt: at, attempt: 1, workerId: "w" };
    const last = {
      failed: { type: JobEventType.FAILED, status: JobStatus.FAILED, error: "boom disk" },
      cancelled: { type: JobEventType.CANCELLED, status: JobStatus.CANCELLED },
      completed: { type: JobEventType.COMPLETED, status: JobStatus.COMPLETED },
    }[end];
    await ingest.appendEvents({
      events: [{ ...base, seq: 2, type: JobEventType.STARTED, status: JobStatus.PROCESSING }, { ...base, seq: 3, ...last }],
    });
    return id;
  }

  it("puts failed and cancelled jobs back to pending with a RETRIED event and records the action with its count", async () => {
    const failed = await endedJob("failed");
    const cancelled = await endedJob("cancelled");
    const res = await ingest.reopenJobs({ ids: [failed, cancelled], actor: "api:ops", action: { ...action, details: { why: "disk fixed" } } });
    expect(res.jobs.map((j) => j.id)).toEqual([failed, cancelled]);
    expect(res.refused).toEqual([]);
    for (const j of res.jobs) {
      expect(j).toMatchObject({ status: JobStatus.PENDING, attempts: 0, error: "", lastEventSeq: 4, type: "t.x" });
      expect(j.completedAt).toBeUndefined();
      expect(j.payload).toEqual({});
    }
    const { job } = await reads.getJob({ id: failed });
    expect(job).toMatchObject({ status: JobStatus.PENDING, attempts: 0, error: "", lastEventSeq: 4 });
    // The error's words leave the search with the error.
    expect((await reads.listJobs({ textQuery: "boom" })).jobs).toEqual([]);
    const { events } = await reads.listJobEvents({ jobId: failed });
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, JobEventType.SUBMITTED], [2, JobEventType.STARTED], [3, JobEventType.FAILED], [4, JobEventType.RETRIED],
    ]);
    expect(events[3]).toMatchObject({ status: JobStatus.PENDING, attempt: 0, actor: "api:ops", reason: "retry_requested" });
    expect(events[3]!.details).toEqual({ previous_status: "failed", previous_attempts: 1 });
    const { actions } = await reads.listOperatorActions({ action: "job.retry" });
    expect(actions[0]).toMatchObject({ actor: "api:ops", target: "t" });
    expect(actions[0]!.details).toEqual({ why: "disk fixed", count: 2, job_ids: [failed, cancelled].sort() });
  });

  it("refuses jobs that are not failed or cancelled, changing nothing, and skips unknown ids", async () => {
    const completed = await endedJob("completed");
    const pending = uuidv7();
    await ingest.insertJobs({ jobs: [{ id: pending, type: "t.x", queue: "q", maxAttempts: 1 }] });
    const res = await ingest.reopenJobs({ ids: [completed, pending, uuidv7()], actor: "api:ops", action });
    expect(res.jobs).toEqual([]);
    expect(res.refused.map((r) => [r.id, r.status, r.lastEventSeq]).sort()).toEqual(
      [[completed, JobStatus.COMPLETED, 3], [pending, JobStatus.PENDING, 1]].sort(),
    );
    expect((await reads.getJob({ id: completed })).job).toMatchObject({ status: JobStatus.COMPLETED, lastEventSeq: 3 });
    expect((await reads.listJobEvents({ jobId: completed })).events).toHaveLength(3);
  });

  it("reopens a job once when two retries race", async () => {
    const id = await endedJob("failed");
    const both = await Promise.all([1, 2].map(() => ingest.reopenJobs({ ids: [id], actor: "api:ops", action })));
    expect(both.map((r) => r.jobs.length).sort()).toEqual([0, 1]);
    expect(both.flatMap((r) => r.refused)).toMatchObject([{ id, status: JobStatus.PENDING, lastEventSeq: 4 }]);
    const { events } = await reads.listJobEvents({ jobId: id });
    expect(events.filter((e) => e.type === JobEventType.RETRIED)).toHaveLength(1);
  });

  it("continues the trail after events recorded past the end, and lets the next attempt move the job on", async () => {
    const id = await endedJob("failed");
    // A late event after the end is kept in the trail without moving the job.
    const late = { jobId: id, actor: "worker:w", occurredAt: timestampFromMs(Date.now()), attempt: 1 };
    await ingest.appendEvents({ events: [{ ...late, seq: 4, type: JobEventType.RELEASED, status: JobStatus.PENDING }] });
    const res = await ingest.reopenJobs({ ids: [id], actor: "api:ops", action });
    expect(res.jobs[0]!.lastEventSeq).toBe(5);
    await ingest.appendEvents({
      events: [
        { ...late, seq: 6, type: JobEventType.STARTED, status: JobStatus.PROCESSING },
        { ...late, seq: 7, type: JobEventType.COMPLETED, status: JobStatus.COMPLETED },
      ],
    });
    expect((await reads.getJob({ id })).job).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, lastEventSeq: 7 });
  });

  it("refuses RETRIED through AppendEvents and bad requests with invalid_argument", async () => {
    const id = await endedJob("failed");
    const retried = { jobId: id, seq: 4, type: JobEventType.RETRIED, status: JobStatus.PENDING, actor: "api", occurredAt: timestampFromMs(Date.now()) };
    expect((await rejection(ingest.appendEvents({ events: [retried] }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(ingest.reopenJobs({ ids: [], actor: "api", action }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(ingest.reopenJobs({ ids: ["nope"], actor: "api", action }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(ingest.reopenJobs({ ids: [id], actor: "", action }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(ingest.reopenJobs({ ids: [id], actor: "api" }))).code).toBe(Code.InvalidArgument);
    expect((await reads.getJob({ id })).job!.status).toBe(JobStatus.FAILED);
  });
});
