import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { JobEventType, JobStatus, type WatchJobResponse } from "@taskflow/proto";
import { rejection } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoReplicas, type TwoReplicas, uuidv7 } from "../../test/fixtures.js";
import { WATCH_RECHECK_MS } from "./watch-job.js";

describe("WatchJob over gRPC, two history replicas on one database", () => {
  let ingest: TwoReplicas["ingest"];
  let reads: TwoReplicas["reads"];
  let replicas: TwoReplicas;

  beforeAll(async () => {
    replicas = await startTwoReplicas();
    ({ ingest, reads } = replicas);
  });
  afterAll(async () => {
    await replicas?.close();
  });

  const event = (jobId: string, seq: number, type: JobEventType, status: JobStatus) => ({
    jobId, seq, type, status, attempt: 1, actor: "worker:w", workerId: "w", occurredAt: timestampFromMs(Date.now()),
  });

  it("sends the job and its trail, then each new event as another replica records it, and ends once the job is terminal", async () => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.watch", queue: "q", maxAttempts: 3 }] });
    const stream = reads.watchJob({ jobId: id })[Symbol.asyncIterator]();
    const next = async (): Promise<{ msg: WatchJobResponse; ms: number } | "ended"> => {
      const t0 = Date.now();
      const r = await stream.next();
      return r.done === true ? "ended" : { msg: r.value, ms: Date.now() - t0 };
    };
    const first = await next();
    if (first === "ended") throw new Error("the stream ended at once");
    expect(first.msg.job).toMatchObject({ id, status: JobStatus.PENDING });
    expect(first.msg.events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED]);

    // Recorded through the other replica: the watch hears of it by notification, well inside its recheck period.
    const started = next();
    await new Promise((r) => setTimeout(r, 100));
    await ingest.appendEvents({ events: [event(id, 2, JobEventType.STARTED, JobStatus.PROCESSING)] });
    const second = await started;
    if (second === "ended") throw new Error("the stream ended before the job did");
    expect(second.msg.job!.status).toBe(JobStatus.PROCESSING);
    expect(second.msg.events.map((e) => e.seq)).toEqual([2]);
    expect(second.ms).toBeLessThan(WATCH_RECHECK_MS);

    await ingest.appendEvents({ events: [event(id, 3, JobEventType.COMPLETED, JobStatus.COMPLETED)] });
    const last = await next();
    if (last === "ended") throw new Error("the stream ended without the terminal state");
    expect(last.msg.job!.status).toBe(JobStatus.COMPLETED);
    expect(last.msg.events.map((e) => e.type)).toEqual([JobEventType.COMPLETED]);
    expect(await next()).toBe("ended");
  });

  it("sends the job again, without events, each time its progress changes", async () => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.watch", queue: "q", maxAttempts: 3 }] });
    await ingest.appendEvents({ events: [event(id, 2, JobEventType.STARTED, JobStatus.PROCESSING)] });
    const stream = reads.watchJob({ jobId: id })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.job?.progress).toBeUndefined();
    const progress = (percent: number, atMs: number) => ({
      updates: [{ jobId: id, progress: { percent, details: { step: percent }, updatedAt: timestampFromMs(atMs), attempt: 1 } }],
    });
    const now = Date.now();
    const t0 = Date.now();
    await ingest.recordProgress(progress(25, now));
    const second = await stream.next();
    expect(Date.now() - t0).toBeLessThan(WATCH_RECHECK_MS);
    expect(second.value?.events).toEqual([]);
    expect(second.value?.job?.progress).toMatchObject({ percent: 25, details: { step: 25 }, attempt: 1 });
    // An older value changes nothing and wakes nobody; the next newer one is sent.
    expect(await ingest.recordProgress(progress(10, now - 1_000))).toMatchObject({ recorded: 0 });
    await ingest.recordProgress(progress(60, now + 1_000));
    expect((await stream.next()).value?.job?.progress?.percent).toBe(60);
    // GetJob shows the same, and the trail holds no event for progress.
    expect((await reads.getJob({ id })).job?.progress?.percent).toBe(60);
    await ingest.appendEvents({ events: [event(id, 3, JobEventType.COMPLETED, JobStatus.COMPLETED)] });
    const last = await stream.next();
    expect(last.value?.events.map((e: { seq: number }) => e.seq)).toEqual([3]);
    expect(last.value?.job?.progress?.percent).toBe(60);
    expect((await stream.next()).done).toBe(true);
  });

  it("follows a job that ended before its STARTED was recorded until the trail is whole", async () => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.watch", queue: "q", maxAttempts: 3 }] });
    // Two replicas forward one queue's outbox: the completion lands first.
    await ingest.appendEvents({ events: [event(id, 3, JobEventType.COMPLETED, JobStatus.COMPLETED)] });
    const messages: WatchJobResponse[] = [];
    const watching = (async () => {
      for await (const m of reads.watchJob({ jobId: id })) messages.push(m);
    })();
    await new Promise((r) => setTimeout(r, 300));
    expect(messages.flatMap((m) => m.events.map((e) => e.seq))).toEqual([1, 3]);
    await ingest.appendEvents({ events: [event(id, 2, JobEventType.STARTED, JobStatus.PROCESSING)] });
    await watching;
    expect(messages.flatMap((m) => m.events.map((e) => e.seq))).toEqual([1, 3, 2]);
    const last = messages.at(-1)!.job!;
    expect(last.status).toBe(JobStatus.COMPLETED);
    expect(last.startedAt).toBeDefined();
  });

  it("ends at once for a terminal job, after one message with its whole trail", async () => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.watch", queue: "q", maxAttempts: 1 }] });
    await ingest.appendEvents({ events: [event(id, 2, JobEventType.CANCELLED, JobStatus.CANCELLED)] });
    const messages: WatchJobResponse[] = [];
    for await (const m of reads.watchJob({ jobId: id })) messages.push(m);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.events.map((e) => e.seq)).toEqual([1, 2]);
  });

  it("refuses an unknown job with not_found and a malformed id with invalid_argument", async () => {
    const drain = async (jobId: string) => {
      for await (const _ of reads.watchJob({ jobId })) void _;
    };
    expect((await rejection(drain(uuidv7()))).code).toBe(Code.NotFound);
    expect((await rejection(drain("nope"))).code).toBe(Code.InvalidArgument);
  });
});
