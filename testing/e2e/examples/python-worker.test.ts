import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createTaskFlowClient, jobResult, type Job, type TaskFlowClient } from "@taskflow/client";
import { prepareStackIdentities, type StackIdentities } from "@taskflow/devstack";
import { JobEventType, JobStatus, WorkerStatus } from "@taskflow/proto";
import { eventually, spawnTestStack, uniqueQueue, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The example worker, run as its README says: `python3 examples/python-worker/worker.py`. */
const SCRIPT = fileURLToPath(new URL("../../../examples/python-worker/worker.py", import.meta.url));
/** Short leases, so that a job outliving several of them proves the heartbeats. */
const LEASE_MS = 3_000;
const OPERATOR_TOKEN = randomBytes(18).toString("base64url");
const WORKER_TOKEN = randomBytes(18).toString("base64url");
/** The name the tokens file gives the worker's token: its audit actor is `worker:<name>`. */
const WORKER_NAME = "python-fleet";

/** One run of worker.py, its output kept for assertions and for a failing test's message. */
class PythonWorker {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: Record<string, string>) {
    this.child = spawn("python3", [SCRIPT], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [this.child.stdout, this.child.stderr]) stream?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the worker has logged a line matching `pattern`. */
  logged(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    return eventually(() => Promise.resolve(pattern.test(this.output) ? this.output : undefined), timeoutMs).catch((err: unknown) => {
      throw new Error(`worker never logged ${String(pattern)}; its output:\n${this.output}`, { cause: err });
    });
  }
}

let dir: string;
let ids: StackIdentities;
let stack: TestStack;
let client: TaskFlowClient;
const workers: PythonWorker[] = [];

/** Starts worker.py against the stack with the worker token, waiting until it has registered. */
async function startWorker(queue: string, env: Record<string, string> = {}): Promise<PythonWorker> {
  const worker = new PythonWorker({
    TASKFLOW_SCHEDULER_URL: stack.schedulerUrl,
    TASKFLOW_TOKEN: WORKER_TOKEN,
    TASKFLOW_QUEUES: queue,
    TASKFLOW_CONCURRENCY: "4",
    TASKFLOW_WORKER_ID: `py-${queue}`,
    ...env,
  });
  workers.push(worker);
  await worker.logged(/worker \S+ started/);
  return worker;
}

/** Waits until history shows the job running. */
const untilProcessing = (id: string): Promise<Job> =>
  eventually(async () => {
    const job = await client.get(id);
    return job.status === JobStatus.PROCESSING ? job : undefined;
  });

const eventTypes = async (id: string): Promise<JobEventType[]> => (await client.events(id)).map((e) => e.type);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-python-worker-"));
  await writeFile(join(dir, "tokens"), `${OPERATOR_TOKEN} submitter,reader operator\n${WORKER_TOKEN} worker ${WORKER_NAME}\n`);
  ids = prepareStackIdentities({ AUTH_TOKENS_FILE: join(dir, "tokens") })!;
  stack = await spawnTestStack({
    worker: false,
    history: ids.env,
    scheduler: { ...ids.env, LEASE_MS: String(LEASE_MS), RETRY_BASE_MS: "200" },
  });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: OPERATOR_TOKEN });
});

afterAll(async () => {
  for (const w of workers) if (w.running) w.child.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited.catch(() => undefined)));
  await client?.close();
  await stack?.stop();
  ids?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("examples/python-worker: a standard-library Python worker speaking Connect JSON over HTTP/1.1", () => {
  let queue: string;
  let worker: PythonWorker;

  beforeAll(async () => {
    queue = uniqueQueue();
    worker = await startWorker(queue);
  });

  it("runs echo and sum jobs to their results, as its own identity, and leases only types it has handlers for", async () => {
    const other = await client.submit({ type: "resize", queue, payload: {} });
    const echo = await client.submit({ type: "echo", queue, payload: { hello: "world", nested: { list: [1, "two", null] } } });
    const sum = await client.submit({ type: "sum", queue, payload: { numbers: [1, 2, 3.5] } });
    const [echoed, summed] = await Promise.all([client.waitFor(echo.id, { timeoutMs: 20_000 }), client.waitFor(sum.id, { timeoutMs: 20_000 })]);
    expect(echoed).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1, workerId: `py-${queue}` });
    expect(jobResult(echoed)).toEqual({ hello: "world", nested: { list: [1, "two", null] } });
    expect(summed.status).toBe(JobStatus.COMPLETED);
    expect(jobResult(summed)).toEqual({ sum: 6.5 });
    const events = await client.events(echo.id);
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      [JobEventType.SUBMITTED, "api:operator"],
      [JobEventType.STARTED, `worker:${WORKER_NAME}`],
      [JobEventType.COMPLETED, `worker:${WORKER_NAME}`],
    ]);
    // Submitted first, yet never leased: the worker asks only for the types it handles.
    expect(await client.get(other.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 0 });
  });

  it("fails a job whose handler raises after its attempts, at once when the error is permanent, and at its deadline", async () => {
    const retried = await client.submit({ type: "fail", queue, payload: { message: "boom" }, maxAttempts: 2 });
    const permanent = await client.submit({ type: "fail", queue, payload: { message: "bad input", permanent: true }, maxAttempts: 3 });
    const slow = await client.submit({ type: "sleep", queue, payload: { ms: 10_000 }, maxAttempts: 1, timeoutMs: 1_000 });
    const done = await Promise.all([retried, permanent, slow].map((j) => client.waitFor(j.id, { timeoutMs: 20_000 })));
    expect(done[0]).toMatchObject({ status: JobStatus.FAILED, error: "boom", attempts: 2 });
    expect(await eventTypes(retried.id)).toEqual([
      JobEventType.SUBMITTED,
      JobEventType.STARTED,
      JobEventType.RETRY_SCHEDULED,
      JobEventType.STARTED,
      JobEventType.FAILED,
    ]);
    expect(done[1]).toMatchObject({ status: JobStatus.FAILED, error: "bad input", attempts: 1 });
    expect((await client.events(permanent.id)).at(-1)?.reason).toBe("handler_failed_permanently");
    // The worker's own timer at the attempt's deadline, not the lease running out: its report says so.
    expect(done[2]).toMatchObject({ status: JobStatus.FAILED, error: "timed out after 1000 ms", attempts: 1 });
  });

  it("keeps a job that runs for more than two lease durations with heartbeats, and completes it once", async () => {
    const job = await client.submit({ type: "sleep", queue, payload: { ms: 2.5 * LEASE_MS } });
    const done = await client.waitFor(job.id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
    expect(jobResult(done)).toEqual({ slept_ms: 2.5 * LEASE_MS });
    expect(timestampMs(done.completedAt!) - timestampMs(done.startedAt!)).toBeGreaterThanOrEqual(2.5 * LEASE_MS);
    expect(await eventTypes(job.id)).toEqual([JobEventType.SUBMITTED, JobEventType.STARTED, JobEventType.COMPLETED]);
  });

  it("stops a cancelled job's handler when a heartbeat says so, and reports it", async () => {
    const job = await client.submit({ type: "sleep", queue, payload: { ms: 60_000 } });
    await untilProcessing(job.id);
    const cancelledAt = Date.now();
    expect((await client.cancel(job.id, "not needed")).status).toBe(JobStatus.PROCESSING);
    const done = await client.waitFor(job.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: JobStatus.CANCELLED, error: "cancelled" });
    // A heartbeat interval (a third of the lease) and a report, far from the handler's minute.
    expect(timestampMs(done.completedAt!) - cancelledAt).toBeLessThan(LEASE_MS);
    await worker.logged(new RegExp(`job ${job.id} cancelled`));
  });
});

describe("examples/python-worker: leases, credentials and stopping", () => {
  it("abandons an attempt whose lease was lost, reporting nothing, and runs the job again", async () => {
    const queue = uniqueQueue();
    const worker = await startWorker(queue, { TASKFLOW_CONCURRENCY: "1" });
    const job = await client.submit({ type: "sleep", queue, payload: { ms: 10_000 } });
    await untilProcessing(job.id);
    // Frozen past its lease: the scheduler takes the job back while the handler still sleeps.
    worker.child.kill("SIGSTOP");
    try {
      await eventually(async () => ((await eventTypes(job.id)).includes(JobEventType.LEASE_EXPIRED) ? true : undefined), 15_000);
    } finally {
      worker.child.kill("SIGCONT");
    }
    // The first heartbeat after waking hears LOST and stops the handler, whose slot (the only
    // one) then leases the job again, long before the first attempt's ten seconds are over.
    await worker.logged(new RegExp(`lease of job ${job.id} lost`));
    await eventually(async () => ((await client.get(job.id)).attempts === 2 ? true : undefined), 5_000);
    expect(await eventTypes(job.id)).toEqual([
      JobEventType.SUBMITTED,
      JobEventType.STARTED,
      JobEventType.LEASE_EXPIRED,
      JobEventType.STARTED,
    ]);
    // The abandoned attempt sent no report (it would have been answered LEASE_LOST and logged).
    expect(worker.output).not.toMatch(/LEASE_LOST/);
    await client.cancel(job.id);
    expect((await client.waitFor(job.id, { timeoutMs: 10_000 })).status).toBe(JobStatus.CANCELLED);
  });

  it("exits 1 when the scheduler refuses it for want of a token", async () => {
    const worker = new PythonWorker({ TASKFLOW_SCHEDULER_URL: stack.schedulerUrl, TASKFLOW_TOKEN: "", TASKFLOW_QUEUES: uniqueQueue() });
    workers.push(worker);
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    expect(worker.output).toMatch(/registration refused: unauthenticated: credentials required/);
  });

  it("on SIGTERM stops leasing, finishes its running job, hands back a job leased meanwhile, deregisters and exits 0", async () => {
    const queue = uniqueQueue();
    // A minute-long poll: the one in flight when the signal comes is still waiting when the next job arrives.
    const worker = await startWorker(queue, { TASKFLOW_CONCURRENCY: "2", TASKFLOW_LEASE_WAIT_SECONDS: "60" });
    const running = await client.submit({ type: "sleep", queue, payload: { ms: 2_000 } });
    await untilProcessing(running.id);
    const termAt = Date.now();
    worker.child.kill("SIGTERM");
    await worker.logged(/SIGTERM: stopping/);
    const late = await client.submit({ type: "echo", queue, payload: { late: true } });

    const { code, signal } = await worker.exited;
    expect({ code, signal }, worker.output).toEqual({ code: 0, signal: null });
    const finished = await client.waitFor(running.id, { timeoutMs: 10_000 });
    expect(finished).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
    expect(timestampMs(finished.completedAt!)).toBeGreaterThan(termAt);
    // The poll in flight leased the late job; the stopping worker handed it back unrun.
    const events = await eventually(async () => {
      const list = await client.events(late.id);
      return list.length >= 3 ? list : undefined;
    });
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      [JobEventType.SUBMITTED, "submitted"],
      [JobEventType.STARTED, "leased"],
      [JobEventType.RELEASED, "worker_released"],
    ]);
    expect((await client.get(late.id)).status).toBe(JobStatus.PENDING);
    expect((await client.worker(`py-${queue}`)).status).toBe(WorkerStatus.GONE);
    expect(worker.output).toMatch(/released 1 unstarted jobs/);
  });
});
