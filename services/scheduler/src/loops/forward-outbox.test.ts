import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { leaseIdOf } from "@taskflow/history";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import type { RunningHistory } from "@taskflow/history";
import { eventually } from "@taskflow/testkit";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ask, createRedisFixture, makeJob, type RedisFixture } from "../../test/redis-fixture.js";
import { deadUrl, startTestHistory } from "../../test/stack.js";
import { createHistoryClient, type HistoryClient } from "../history-client.js";
import { OUTBOX_GROUP, OutboxReader } from "../redis/outbox.js";
import type { EnqueueJob } from "../redis/queue-store.js";
import { createSchedulerMetrics, type SchedulerMetrics } from "../metrics.js";
import { ForwardOutbox } from "./forward-outbox.js";

const logger = pino({ level: process.env.TEST_LOG ? "warn" : "silent" });
let f: RedisFixture;
let hist: RunningHistory;
let history: HistoryClient;
let down: HistoryClient;

beforeAll(async () => {
  hist = await startTestHistory();
  history = createHistoryClient(hist.internalUrl);
  down = createHistoryClient(await deadUrl(), {}, 2_000);
});
afterAll(async () => {
  await hist.close();
});
// A key prefix per case: a forwarder sweeps every queue it knows, so each case sees its own
// queues and outbox entries only, whatever ran before it (history's jobs have ids of their own).
beforeEach(async () => {
  f = await createRedisFixture();
});
afterEach(async () => {
  await f.close();
});

function forwarder(
  client: HistoryClient,
  consumer: string,
  claimIdleMs = 60_000,
  batchSize = 100,
  parked?: SchedulerMetrics["outboxParked"],
  batchMaxBytes = 4 * MiB,
  intervalMs = 1_000,
): ForwardOutbox {
  const reader = new OutboxReader(f.redis, f.prefix, consumer);
  return new ForwardOutbox({ store: f.store, reader, history: client, batchSize, batchMaxBytes, intervalMs, logger, claimIdleMs, parked });
}

const MiB = 1_048_576;

/** Submits jobs to history (as SubmitJobs does), enqueues them and leases them, writing STARTED events. */
async function startJobs(queue: string, count: number): Promise<EnqueueJob[]> {
  const jobs = Array.from({ length: count }, () => makeJob());
  await history.insertJobs(
    jobs.map((j) => ({
      id: j.id, type: j.type, queue, payload: JSON.parse(j.payloadJson), priority: 0, maxAttempts: j.maxAttempts,
      timeout: durationFromMs(j.timeoutMs), scheduledAt: timestampFromMs(Date.now()),
    })),
    "api",
  );
  await f.store.addQueues([queue]);
  await f.store.enqueue(queue, jobs);
  await f.store.lease(queue, "w1", ask(count));
  return jobs;
}

const pendingCount = async (queue: string): Promise<number> => {
  const summary = (await f.redis.xpending(f.keys(queue).outbox, OUTBOX_GROUP)) as [number, ...unknown[]];
  return Number(summary[0]);
};

describe("ForwardOutbox", () => {
  it("forwards events in batches, then acknowledges and deletes them", async () => {
    const jobs = await startJobs("fw1", 5);
    expect(await forwarder(history, "c1", 60_000, 2).runOnce()).toBe(5);
    expect(await f.redis.xlen(f.keys("fw1").outbox)).toBe(0);
    expect(await pendingCount("fw1")).toBe(0);
    const job = await history.getJob(jobs[0]!.id);
    expect(job).toMatchObject({ status: JobStatus.PROCESSING, attempts: 1, workerId: "w1" });
  });

  it("keeps the entries when history fails, and retries them in order", async () => {
    const [job] = await startJobs("fw2", 1);
    await forwarder(down, "c2").runOnce();
    expect(await pendingCount("fw2")).toBe(1);
    expect(await f.redis.xlen(f.keys("fw2").outbox)).toBe(1);

    expect(await forwarder(history, "c2").runOnce()).toBe(1);
    expect(await pendingCount("fw2")).toBe(0);
    const { status } = await history.getJob(job!.id);
    expect(status).toBe(JobStatus.PROCESSING);
  });

  it("claims entries a dead consumer left pending", async () => {
    await startJobs("fw3", 2);
    await forwarder(down, "dead").runOnce();
    expect(await pendingCount("fw3")).toBe(2);
    expect(await forwarder(history, "alive", 0).runOnce()).toBe(2);
    expect(await pendingCount("fw3")).toBe(0);
  });

  it("acknowledges events of jobs history does not know instead of retrying them forever", async () => {
    const stranger = makeJob();
    await f.store.addQueues(["fw4"]);
    await f.store.enqueue("fw4", [stranger]);
    await f.store.lease("fw4", "w1", ask(1));
    expect(await forwarder(history, "c4").runOnce()).toBe(1);
    expect(await f.redis.xlen(f.keys("fw4").outbox)).toBe(0);
  });

  it("records a job's transitions as one ordered trail", async () => {
    const [job] = await startJobs("fw5", 1);
    const token = (await f.redis.hget(f.keys("fw5").jobPrefix + job!.id, "token"))!;
    await f.store.report("fw5", "w1", [{ id: job!.id, token, outcome: "failed", body: "nope", permanent: true }]);
    await forwarder(history, "c5").runOnce();
    const reader = createClient(HistoryService, createGrpcTransport({ baseUrl: hist.url }));
    const { events } = await reader.listJobEvents({ jobId: job!.id });
    expect(events.map((e) => [e.seq, e.type, e.leaseId, e.reason])).toEqual([
      [1, JobEventType.SUBMITTED, "", "submitted"],
      [2, JobEventType.STARTED, leaseIdOf(token), "leased"],
      [3, JobEventType.FAILED, leaseIdOf(token), "handler_failed_permanently"],
    ]);
    expect((await history.getJob(job!.id)).status).toBe(JobStatus.FAILED);
  });

  it("parks an entry history refuses among good ones: the good ones land, the loop goes on", async () => {
    const metrics = createSchedulerMetrics();
    const [a, b] = await startJobs("fw6", 2);
    // A transition history refuses as invalid (no such event type), between good ones.
    const badId = await f.redis.xadd(
      f.keys("fw6").outbox, "*", "job", a!.id, "seq", "9", "type", "EXPLODED", "status", "pending", "attempt", "1",
      "actor", "scheduler:test", "at", String(Date.now()),
    );
    const [c] = await startJobs("fw6", 1);
    const fw = forwarder(history, "c6", 60_000, 100, metrics.outboxParked);
    expect(await fw.runOnce()).toBe(4);

    for (const job of [a, b, c]) expect((await history.getJob(job!.id)).status).toBe(JobStatus.PROCESSING);
    const dead = await f.redis.xrange(f.keys("fw6").outboxDead, "-", "+");
    expect(dead).toHaveLength(1);
    const fields = Object.fromEntries(chunk(dead[0]![1]));
    expect(fields).toMatchObject({ job: a!.id, type: "EXPLODED", entry_id: badId });
    expect(fields.park_error).toContain("type");
    expect(await metrics.outboxParked.get()).toMatchObject({ values: [{ value: 1, labels: { queue: "fw6" } }] });
    expect(await f.redis.xlen(f.keys("fw6").outbox)).toBe(0);
    expect(await pendingCount("fw6")).toBe(0);

    const token = (await f.redis.hget(f.keys("fw6").jobPrefix + b!.id, "token"))!;
    await f.store.report("fw6", "w1", [{ id: b!.id, token, outcome: "completed", body: "1", permanent: false }]);
    expect(await fw.runOnce()).toBe(1);
    expect((await history.getJob(b!.id)).status).toBe(JobStatus.COMPLETED);
  });

  it("parks an entry that does not parse without asking history", async () => {
    const metrics = createSchedulerMetrics();
    await f.store.addQueues(["fw7"]);
    await f.redis.xadd(f.keys("fw7").outbox, "*", "garbage", "yes");
    expect(await forwarder(down, "c7", 60_000, 100, metrics.outboxParked).runOnce()).toBe(1);
    const dead = await f.redis.xrange(f.keys("fw7").outboxDead, "-", "+");
    expect(Object.fromEntries(chunk(dead[0]![1]))).toMatchObject({ garbage: "yes", park_error: "malformed outbox entry" });
    expect(await metrics.outboxParked.get()).toMatchObject({ values: [{ value: 1 }] });
    expect(await f.redis.xlen(f.keys("fw7").outbox)).toBe(0);
  });
});

describe("ForwardOutbox with large events and stuck queues", () => {
  /** Completes leased jobs with results of about `bytes` bytes each. */
  async function complete(queue: string, jobs: readonly EnqueueJob[], bytes: number): Promise<void> {
    const body = JSON.stringify({ blob: "x".repeat(bytes) });
    for (const job of jobs) {
      const token = (await f.redis.hget(f.keys(queue).jobPrefix + job.id, "token"))!;
      await f.store.report(queue, "w1", [{ id: job.id, token, outcome: "completed", body, permanent: false }]);
    }
  }

  it("caps a batch by bytes, so 20 completions with 1 MiB results all reach history", async () => {
    const jobs = await startJobs("big1", 20);
    await complete("big1", jobs, MiB - 100);
    // A count cap alone would send all 40 events (over 20 MiB) in one call, over history's read limit.
    expect(await forwarder(history, "b1", 60_000, 500).runOnce()).toBe(40);
    for (const job of jobs) expect((await history.getJob(job.id)).status).toBe(JobStatus.COMPLETED);
    expect(await f.redis.xlen(f.keys("big1").outbox)).toBe(0);
    expect(await f.redis.xlen(f.keys("big1").outboxDead)).toBe(0);
  });

  it("splits a batch history refuses as too large, and parks an event history refuses even alone", async () => {
    const jobs = await startJobs("big2", 20);
    await complete("big2", jobs, MiB - 100);
    // An event larger than history's read limit (16 MiB), written as a misconfigured scheduler could.
    await f.redis.xadd(
      f.keys("big2").outbox, "*", "job", jobs[0]!.id, "seq", "9", "type", "COMPLETED", "status", "completed", "attempt", "1",
      "actor", "worker:w1", "at", String(Date.now()), "result", JSON.stringify("y".repeat(17 * MiB)),
    );
    // No byte cap: history's own refusal must be cured by splitting.
    expect(await forwarder(history, "b2", 60_000, 500, undefined, 64 * MiB).runOnce()).toBe(41);
    for (const job of jobs) expect((await history.getJob(job.id)).status).toBe(JobStatus.COMPLETED);
    const dead = await f.redis.xrange(f.keys("big2").outboxDead, "-", "+");
    expect(dead.map(([, fields]) => Object.fromEntries(chunk(fields)).seq)).toEqual(["9"]);
    expect(await f.redis.xlen(f.keys("big2").outbox)).toBe(0);
  });

  it("keeps a finished job's hash without expiry until history has recorded its end", async () => {
    const [job] = await startJobs("ttl1", 1);
    await complete("ttl1", [job!], 10);
    const key = f.keys("ttl1").jobPrefix + job!.id;
    // History has not heard of the completion: the hash must outlive any wait, or the
    // reconciler would take the job for one Redis lost and run it again.
    expect(await f.redis.pttl(key)).toBe(-1);
    await forwarder(down, "t1").runOnce();
    expect(await f.redis.pttl(key)).toBe(-1);
    await forwarder(history, "t1").runOnce();
    expect((await history.getJob(job!.id)).status).toBe(JobStatus.COMPLETED);
    expect(await f.redis.pttl(key)).toBeGreaterThan(3_500_000);
  });

  it("goes on forwarding other queues at its pace while one queue keeps failing", async () => {
    // Every read of this queue fails: its outbox key holds a string.
    await f.store.addQueues(["stuck"]);
    await f.redis.set(f.keys("stuck").outbox, "not a stream");
    const fw = forwarder(history, "s1", 60_000, 100, undefined, 4 * MiB, 50);
    fw.start();
    try {
      // Let the stuck queue fail several times in a row, as a whole-loop backoff would grow.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      for (let round = 0; round < 3; round += 1) {
        const [job] = await startJobs("flowing", 1);
        const started = performance.now();
        await eventually(async () => ((await history.getJob(job!.id)).status === JobStatus.PROCESSING ? true : undefined), 5_000);
        expect(performance.now() - started).toBeLessThan(500);
      }
    } finally {
      await fw.stop();
      await f.redis.del(f.keys("stuck").outbox);
    }
  });
});

/** [k1, v1, k2, v2] as [[k1, v1], [k2, v2]]. */
function chunk(flat: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}
