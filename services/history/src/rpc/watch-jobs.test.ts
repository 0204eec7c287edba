import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, ConnectError } from "@connectrpc/connect";
import { type HistoryService, JobEventType, JobStatus, type Job, type WatchJobsRequest } from "@taskflow/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { WatchJobsRequestSchema } from "@taskflow/proto";
import { rejection } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoReplicas, type TwoReplicas, uuidv7 } from "../../test/fixtures.js";
import type { JobRow } from "../db/rows.js";
import { MAX_UNSENT_JOBS, parseFilter, WatchBuffer } from "./watch-jobs.js";

type Filter = MessageInitShape<typeof WatchJobsRequestSchema>;

/** A WatchJobs stream read in the background: its messages' jobs as they come, and how it ended. */
class Watcher {
  readonly seen: Job[] = [];
  readonly ended: Promise<ConnectError | undefined>;
  private readonly abort = new AbortController();
  private live!: () => void;
  readonly isLive = new Promise<void>((r) => (this.live = r));
  private waiters: (() => void)[] = [];

  constructor(reads: Client<typeof HistoryService>, filter: Filter) {
    this.ended = (async () => {
      try {
        for await (const m of reads.watchJobs(filter, { signal: this.abort.signal })) {
          if (m.jobs.length === 0) this.live();
          this.seen.push(...m.jobs);
          for (const w of this.waiters.splice(0)) w();
        }
        return undefined;
      } catch (err) {
        return ConnectError.from(err);
      }
    })();
  }

  /** Resolves once a job passing `match` was seen. */
  async until(match: (j: Job) => boolean): Promise<Job> {
    for (;;) {
      const found = this.seen.find(match);
      if (found !== undefined) return found;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  cancel(): void {
    this.abort.abort();
  }
}

describe("WatchJobs over gRPC, two history replicas on one database", () => {
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

  const insert = async (queue: string, type: string): Promise<string> => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type, queue, maxAttempts: 3 }] });
    return id;
  };
  const start = (jobId: string) =>
    ingest.appendEvents({
      events: [{ jobId, seq: 2, type: JobEventType.STARTED, status: JobStatus.PROCESSING, attempt: 1, actor: "worker:w", workerId: "w", occurredAt: timestampFromMs(Date.now()) }],
    });
  const progress = (jobId: string, percent: number) =>
    ingest.recordProgress({ updates: [{ jobId, progress: { percent, updatedAt: timestampFromMs(Date.now()), attempt: 1 } }] });

  it("sends each watcher the changes its filter matches: queues, types, statuses", async () => {
    const byQueue = new Watcher(reads, { queues: ["wq-a"] });
    const byType = new Watcher(reads, { types: ["t.b"] });
    const running = new Watcher(reads, { statuses: [JobStatus.PROCESSING] });
    const all = new Watcher(reads, {});
    await Promise.all([byQueue, byType, running, all].map((w) => w.isLive));

    const a = await insert("wq-a", "t.a");
    const b = await insert("wq-b", "t.b");
    await start(a);
    await progress(b, 35);
    await progress(a, 50);

    await byQueue.until((j) => j.id === a && j.progress?.percent === 50);
    await byType.until((j) => j.id === b && j.progress?.percent === 35);
    await running.until((j) => j.id === a && j.progress?.percent === 50);
    await all.until((j) => j.id === b && j.progress?.percent === 35);
    await all.until((j) => j.id === a && j.progress?.percent === 50);

    expect(byQueue.seen.every((j) => j.queue === "wq-a")).toBe(true);
    expect(byType.seen.every((j) => j.type === "t.b")).toBe(true);
    expect(running.seen.every((j) => j.status === JobStatus.PROCESSING)).toBe(true);
    expect(running.seen.some((j) => j.id === b)).toBe(false);
    // Dashboards get no payload or result: GetJob has them.
    expect(all.seen.every((j) => j.payload === undefined && j.result === undefined)).toBe(true);

    for (const w of [byQueue, byType, running, all]) w.cancel();
    for (const w of [byQueue, byType, running, all]) expect((await w.ended)?.code).toBe(Code.Canceled);
  });

  it("follows the jobs named by ids whatever they change into, and no others", async () => {
    const [a, b, other] = [await insert("wq-e", "t.e"), await insert("wq-e", "t.e"), await insert("wq-e", "t.e")];
    // Upper case is the same job.
    const named = new Watcher(reads, { ids: [a, b.toUpperCase()] });
    const pending = new Watcher(reads, { statuses: [JobStatus.PENDING], queues: ["wq-e"] });
    await Promise.all([named.isLive, pending.isLive]);
    await start(a);
    await start(other);
    await progress(b, 70);
    // The job that left PENDING reaches the ids watcher; the status watcher never hears of it.
    expect((await named.until((j) => j.id === a)).status).toBe(JobStatus.PROCESSING);
    expect((await named.until((j) => j.id === b && j.progress !== undefined)).progress?.percent).toBe(70);
    await pending.until((j) => j.id === b && j.progress !== undefined);
    expect(named.seen.some((j) => j.id === other)).toBe(false);
    expect(pending.seen.some((j) => j.id === a || j.id === other)).toBe(false);
    for (const w of [named, pending]) w.cancel();
    for (const w of [named, pending]) await w.ended;
  });

  it("keeps serving after watchers cancel: a new watcher sees the changes that follow", async () => {
    const early = new Watcher(reads, { queues: ["wq-c"] });
    await early.isLive;
    early.cancel();
    expect((await early.ended)?.code).toBe(Code.Canceled);
    const id = await insert("wq-c", "t.c");
    const late = new Watcher(reads, { queues: ["wq-c"] });
    await late.isLive;
    await progress(id, 5);
    // The submit's announcement may come first (it is not awaited); the progress follows.
    expect((await late.until((j) => j.id === id && j.progress !== undefined)).progress?.percent).toBe(5);
    expect(late.seen.every((j) => j.id === id)).toBe(true);
    late.cancel();
    await late.ended;
  });

  it("ends every watcher with unavailable when the notification connection breaks, and watches again", async () => {
    const w = new Watcher(reads, {});
    await w.isLive;
    const admin = new pg.Client({ connectionString: replicas.db.url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'taskflow-history-watch' AND datname = current_database()");
    } finally {
      await admin.end();
    }
    expect((await w.ended)?.code).toBe(Code.Unavailable);
    const again = new Watcher(reads, {});
    await again.isLive;
    const id = await insert("wq-d", "t.d");
    // A submitted job is announced too.
    expect((await again.until((j) => j.id === id)).status).toBe(JobStatus.PENDING);
    again.cancel();
    await again.ended;
  });

  it("refuses a bad filter with invalid_argument", async () => {
    const drain = async (filter: Filter) => {
      for await (const _ of reads.watchJobs(filter)) void _;
    };
    expect((await rejection(drain({ statuses: [99 as JobStatus] }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(drain({ queues: [""] }))).code).toBe(Code.InvalidArgument);
    expect((await rejection(drain({ types: Array.from({ length: 101 }, (_, i) => `t${i}`) }))).code).toBe(Code.InvalidArgument);
    const ids = async (filter: Filter) => (await rejection(drain(filter))).rawMessage;
    expect(await ids({ ids: ["not-a-job"] })).toBe('ids[0]: must be a UUID, got "not-a-job"');
    expect(await ids({ ids: Array.from({ length: 201 }, () => uuidv7()) })).toBe("ids: must name at most 200 jobs");
    expect(await ids({ ids: [uuidv7()], queues: ["q"] })).toMatch(/^ids: .* queues, types and statuses must be empty with it$/);
  });
});

describe("WatchBuffer", () => {
  const row = (id: string, queue = "q"): JobRow => ({ id, queue, type: "t", status: "processing" }) as JobRow;
  const filter = (f: Partial<WatchJobsRequest>) => parseFilter({ queues: [], types: [], statuses: [], ids: [], ...f });

  it("keeps one entry per job, the newest, and hands them out in messages", async () => {
    const buf = new WatchBuffer(filter({ queues: ["q"] }));
    const id = uuidv7();
    buf.deliver([row(id), row(uuidv7(), "other")]);
    buf.deliver([{ ...row(id), status: "completed" }]);
    const rows = await buf.next(new AbortController().signal);
    expect(rows).toEqual([{ ...row(id), status: "completed" }]);
  });

  it("ends a reader that falls behind with resource_exhausted", async () => {
    const buf = new WatchBuffer(filter({}));
    buf.deliver(Array.from({ length: MAX_UNSENT_JOBS + 1 }, () => row(uuidv7())));
    const err = await rejection(buf.next(new AbortController().signal));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/fell behind/);
  });

  it("answers undefined once the stream is cancelled", async () => {
    const buf = new WatchBuffer(filter({}));
    const ac = new AbortController();
    const waiting = buf.next(ac.signal);
    ac.abort();
    expect(await waiting).toBeUndefined();
  });
});
