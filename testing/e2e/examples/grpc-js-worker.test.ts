import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { JsonObject } from "@bufbuild/protobuf";
import {
  createTaskFlowClient,
  JobEventType,
  JobStatus,
  jobResult,
  WorkerStatus,
  type Job,
  type TaskFlowClient,
} from "@taskflow/client";
import { eventually, spawnTestStack, startTcpProxy, uniqueQueue, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The example worker, run as a reader would run it: `node worker.mjs`. */
const workerScript = fileURLToPath(new URL("../../../examples/grpc-js-worker/worker.mjs", import.meta.url));
/** Short leases (a heartbeat every 667 ms), so a job a few seconds long outlives several. */
const LEASE_MS = 2_000;
const WORKER_TOKEN = randomBytes(18).toString("base64url");
const CLIENT_TOKEN = randomBytes(18).toString("base64url");

/** One run of the example worker: its JSON log lines as they come, and how it exited. */
class ExampleWorker {
  readonly lines: Record<string, any>[] = [];
  private stderr = "";
  private closed = false;
  private readonly child: ChildProcess;
  /** Settles once the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [workerScript], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => this.lines.push(JSON.parse(line) as Record<string, any>));
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        this.closed = true;
        resolve({ code, signal });
      }),
    );
  }

  /** The first log line with this message whose fields match, once logged. */
  async logged(msg: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
      if (line !== undefined) return line;
      if (this.closed) throw new Error(`the worker exited without logging "${msg}"; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`the worker did not log "${msg}" within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  count(msg: string, fields: Record<string, unknown>): number {
    return this.lines.filter((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v)).length;
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Kills the process unless it has exited. */
  async kill(): Promise<void> {
    if (!this.closed) this.child.kill("SIGKILL");
    await this.exited;
  }
}

let dir: string;
let stack: TestStack;
let client: TaskFlowClient;
const workers: ExampleWorker[] = [];

beforeAll(async () => {
  // The scheduler asks for tokens, so every test also shows that the worker sends its own.
  dir = await mkdtemp(join(tmpdir(), "taskflow-grpc-js-worker-"));
  const tokensFile = join(dir, "tokens");
  await writeFile(tokensFile, `${WORKER_TOKEN} worker grpc-js-example\n${CLIENT_TOKEN} submitter,reader e2e\n`);
  stack = await spawnTestStack({ worker: false, scheduler: { LEASE_MS: String(LEASE_MS), AUTH_TOKENS_FILE: tokensFile } });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: CLIENT_TOKEN });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await client?.close();
  await stack?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Starts the example against the stack, serving `queue`, and waits until it has registered. */
async function startWorker(queue: string, env: Record<string, string> = {}): Promise<{ worker: ExampleWorker; id: string }> {
  const worker = new ExampleWorker({
    // host:port as a grpc-js target; the worker takes http://host:port as well.
    TASKFLOW_SCHEDULER_URL: new URL(stack.schedulerUrl).host,
    TASKFLOW_TOKEN: WORKER_TOKEN,
    TASKFLOW_QUEUES: queue,
    TASKFLOW_CONCURRENCY: "4",
    TASKFLOW_WORKER_ID: "",
    ...env,
  });
  workers.push(worker);
  const started = await worker.logged("worker started");
  return { worker, id: started.worker_id as string };
}

const eventTypes = async (job: Job): Promise<JobEventType[]> => (await client.events(job.id)).map((e) => e.type);

describe("the @grpc/grpc-js example worker", () => {
  let worker: ExampleWorker;
  let workerId: string;
  const queue = uniqueQueue();

  beforeAll(async () => {
    ({ worker, id: workerId } = await startWorker(queue));
  });

  it("registers with the scheduler's lease and heartbeat interval", async () => {
    const started = await worker.logged("worker started");
    expect(started).toMatchObject({ lease_ms: LEASE_MS, heartbeat_ms: Math.floor(LEASE_MS / 3), queues: [queue], job_types: ["echo", "sleep"] });
    expect(workerId).toMatch(/^worker-/);
    expect(await client.worker(workerId)).toMatchObject({ status: WorkerStatus.HEALTHY, queues: [queue], jobTypes: ["echo", "sleep"] });
  });

  it("completes echo jobs with their payloads as results", async () => {
    const payloads: JsonObject[] = [
      { text: "hello", n: 3.5, ok: true, none: null },
      { nested: { list: [1, "two", { three: [false] }], empty: {} } },
      {},
    ];
    const jobs = await client.submitMany(payloads.map((payload) => ({ type: "echo", queue, payload })));
    for (const [i, submitted] of jobs.entries()) {
      const done = await client.waitFor(submitted.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId });
      expect(jobResult(done)).toEqual(payloads[i]);
      expect(await eventTypes(done)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.COMPLETED]);
    }
  });

  it("fails a job its handler refuses for good, with the handler's error, leaving its other attempts unused", async () => {
    const job = await client.submit({ type: "sleep", queue, payload: { ms: -1 }, maxAttempts: 3 });
    const done = await client.waitFor(job.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({
      status: JobStatus.FAILED,
      error: "sleep needs payload.ms, a whole number of milliseconds",
      attempts: 1,
      maxAttempts: 3,
    });
    const events = await client.events(job.id);
    expect(events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.FAILED]);
    expect(events[2]!.reason).toBe("handler_failed_permanently");
  });

  it("keeps a job running two and a half leases long alive with heartbeats, and completes it once", async () => {
    const ms = 2.5 * LEASE_MS;
    const job = await client.submit({ type: "sleep", queue, payload: { ms } });
    const done = await client.waitFor(job.id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId });
    expect(jobResult(done)).toEqual({ slept_ms: ms });
    // No lease expiry in between, and the handler started once.
    expect(await eventTypes(done)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.COMPLETED]);
    expect(worker.count("job started", { job_id: job.id })).toBe(1);
  }, 30_000);

  it("aborts a running job that is cancelled, which ends CANCELLED", async () => {
    const job = await client.submit({ type: "sleep", queue, payload: { ms: 60_000 } });
    await worker.logged("job started", { job_id: job.id });
    await client.cancel(job.id, "no longer needed");
    // The next heartbeat answers CANCEL_REQUESTED; the worker stops the handler and reports.
    const done = await client.waitFor(job.id, { timeoutMs: 10_000 });
    expect(done.status).toBe(JobStatus.CANCELLED);
    expect(await worker.logged("job reported", { job_id: job.id })).toMatchObject({ error: "cancelled", permanent: true });
  });
});

describe("the example worker cut off from the scheduler for a moment", () => {
  it("retries the failed report and the failed long poll once the link is back", async () => {
    const queue = uniqueQueue();
    const proxy = await startTcpProxy(stack.schedulerUrl);
    try {
      const { worker, id } = await startWorker(queue, { TASKFLOW_SCHEDULER_URL: proxy.url });
      const job = await client.submit({ type: "sleep", queue, payload: { ms: 600 } });
      await worker.logged("job started", { job_id: job.id });
      // The job ends while the link is down: its report fails, and so does the long poll waiting
      // for the next job. The lease, taken at most a moment ago, lasts 2 s.
      proxy.partition();
      await worker.logged("report failed, retrying", { job_id: job.id });
      await worker.logged("lease failed, retrying");
      proxy.heal();

      const done = await client.waitFor(job.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId: id });
      expect(await eventTypes(done)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.COMPLETED]);
      const next = await client.submit({ type: "echo", queue, payload: { after: "the cut" } });
      expect(jobResult(await client.waitFor(next.id, { timeoutMs: 10_000 }))).toEqual({ after: "the cut" });
    } finally {
      await proxy.close();
    }
  });
});

describe("the example worker's credentials", () => {
  it("exits 1 when the scheduler refuses its token", async () => {
    const worker = new ExampleWorker({
      TASKFLOW_SCHEDULER_URL: stack.schedulerUrl,
      TASKFLOW_TOKEN: "not-a-token",
      TASKFLOW_QUEUES: uniqueQueue(),
    });
    workers.push(worker);
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    expect(await worker.logged("worker failed")).toMatchObject({ code: "UNAUTHENTICATED" });
  });
});

describe("the example worker on SIGTERM", () => {
  it("finishes its running job within the grace period, hands back the one that overruns it, deregisters and exits 0", async () => {
    const queue = uniqueQueue();
    const graceMs = 2_000;
    // http://host:port this time; three slots, so a long poll is also waiting when the signal comes.
    const { worker, id } = await startWorker(queue, {
      TASKFLOW_SCHEDULER_URL: stack.schedulerUrl,
      TASKFLOW_CONCURRENCY: "3",
      TASKFLOW_SHUTDOWN_GRACE_MS: String(graceMs),
    });
    const short = await client.submit({ type: "sleep", queue, payload: { ms: 1_000 } });
    const long = await client.submit({ type: "sleep", queue, payload: { ms: 60_000 } });
    await worker.logged("job started", { job_id: short.id });
    await worker.logged("job started", { job_id: long.id });

    const termAt = Date.now();
    worker.signal("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    // The grace period, and not a long poll's wait (10 s), bounds the stop.
    expect(Date.now() - termAt).toBeLessThan(graceMs + 3_000);
    expect(worker.lines.at(-1)).toMatchObject({ msg: "worker stopped", worker_id: id });

    const finished = await client.get(short.id);
    expect(finished).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
    expect(jobResult(finished)).toEqual({ slept_ms: 1_000 });
    // Handed back at once, the attempt counted (it ran), ready for another worker.
    expect(await client.get(long.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 1 });
    const events = await client.events(long.id);
    expect(events.map((e) => e.type)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.RELEASED]);
    expect(events[2]!.reason).toBe("handler_stopped");
    await eventually(async () => ((await client.worker(id)).status === WorkerStatus.GONE ? true : undefined));
  }, 30_000);
});
