import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, toSubmitRequest, type Job, type SubmitInput, type TaskFlowClient } from "@taskflow/client";
import { AdminService, SchedulerService } from "@taskflow/proto";
import {
  eventually,
  faultWorkerEntry,
  readExecLog,
  spawnTestStack,
  type ExecRecord,
  type StackService,
  type TestStack,
} from "@taskflow/testkit";
import { Redis } from "ioredis";
import pg from "pg";

/** Longest wait of one submit, in ms: a call to a process that died must not hang the test. */
const SUBMIT_TIMEOUT_MS = 10_000;

/**
 * Scheduler settings of every case: short leases and sweeps so a lost lease is noticed within
 * about a second, fast retries.
 */
export const FAST_SCHEDULER: NodeJS.ProcessEnv = {
  LEASE_MS: "1000",
  SWEEP_INTERVAL_MS: "100",
  RETRY_BASE_MS: "20",
  RETRY_MAX_MS: "200",
};

/** Scheduler settings of the cases that need the reconciler to act within seconds. */
export const FAST_RECONCILE: NodeJS.ProcessEnv = { RECONCILE_INTERVAL_MS: "500", RECONCILE_GRACE_MS: "1000" };

export interface FaultStackOptions {
  /** Fixture workers started with the stack (default 2). */
  workers?: number;
  /** Scheduler and history replicas (spawnTestStack's default: two of each). */
  schedulers?: number;
  histories?: number;
  /** Extra environment of the scheduler (laid over {@link FAST_SCHEDULER}). */
  scheduler?: NodeJS.ProcessEnv;
  history?: NodeJS.ProcessEnv;
  /** Extra environment of every worker. */
  worker?: NodeJS.ProcessEnv;
  /** Redis the scheduler uses (default the shared test server). */
  redisUrl?: string;
  /** PostgreSQL server the stack database is made on (default the shared one). */
  databaseAdminUrl?: string;
}

/** A test stack running the fixture worker, with the clients a fault case reads it through. */
export interface FaultStack {
  stack: TestStack;
  /** Reads jobs, trails and cancels through the public client. */
  client: TaskFlowClient;
  /** AdminService on the scheduler balancer (Reconcile). */
  admin: Client<typeof AdminService>;
  /** Submits one job with a bounded wait. @throws ConnectError as the scheduler answered. */
  submit: (input: SubmitInput) => Promise<Job>;
  /** Submits one job to one replica's own url, past the balancer, over a connection of its own. */
  submitTo: (baseUrl: string, input: SubmitInput) => Promise<Job>;
  /** Starts one more fixture worker. */
  addWorker: (env?: NodeJS.ProcessEnv) => Promise<StackService>;
  /** The execution log of every fixture worker so far. */
  executions: () => Promise<ExecRecord[]>;
  /**
   * Waits until the execution log holds `event` ("start" by default) for every one of `jobs`.
   * @throws Error after `timeoutMs` (default 10 000).
   */
  untilLogged: (jobs: readonly Job[], event?: ExecRecord["event"], timeoutMs?: number) => Promise<void>;
  /** Runs a query on the stack's own database (bulk reads the RPCs would need many calls for). */
  sql: <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => Promise<R[]>;
  /** A connection to the scheduler's Redis (reconnects after a restart). */
  redis: Redis;
  /** Stops everything and deletes the stack's data. */
  close: () => Promise<void>;
}

/**
 * Spawns history and scheduler replicas (two of each unless told), each group behind its
 * balancer, and `workers` fixture workers on a database and key prefix of their own, every
 * worker appending to one execution log.
 */
export async function startFaultStack(opts: FaultStackOptions = {}): Promise<FaultStack> {
  const logDir = await mkdtemp(join(tmpdir(), "tf-faults-"));
  const execLog = join(logDir, "executions.jsonl");
  const workerEnv = { FAULT_EXEC_LOG: execLog, WORKER_CONCURRENCY: "10", ...opts.worker };
  const stack = await spawnTestStack({
    schedulers: opts.schedulers,
    histories: opts.histories,
    scheduler: { ...FAST_SCHEDULER, ...opts.scheduler },
    history: opts.history,
    worker: false,
    workerEntry: faultWorkerEntry,
    redisUrl: opts.redisUrl,
    databaseAdminUrl: opts.databaseAdminUrl,
    echo: process.env.FAULT_ECHO === "1",
  });
  const addWorker = (env: NodeJS.ProcessEnv = {}): Promise<StackService> => stack.addWorker({ ...workerEnv, ...env });
  try {
    for (let i = 0; i < (opts.workers ?? 2); i++) await addWorker();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const readers = connectReaders(stack);
  return {
    ...readers,
    stack,
    addWorker,
    executions: () => readExecLog(execLog),
    untilLogged: async (jobs, event = "start", timeoutMs = 10_000) => {
      await eventually(async () => {
        const seen = new Set((await readExecLog(execLog)).filter((r) => r.event === event).map((r) => r.job_id));
        return jobs.every((j) => seen.has(j.id)) ? true : undefined;
      }, timeoutMs);
    },
    close: async () => {
      await readers.close();
      try {
        await stack.stop();
      } finally {
        await rm(logDir, { recursive: true, force: true });
      }
    },
  };
}

type Readers = Pick<FaultStack, "client" | "admin" | "submit" | "submitTo" | "sql" | "redis" | "close">;

/** Submits over `scheduler` with a bounded wait. @throws ConnectError as the scheduler answered. */
async function submitOver(scheduler: Client<typeof SchedulerService>, input: SubmitInput): Promise<Job> {
  const res = await scheduler.submitJob(toSubmitRequest(input), { timeoutMs: SUBMIT_TIMEOUT_MS });
  if (res.job === undefined) throw new Error("SubmitJob answered without a job");
  return res.job;
}

/** The clients a case drives and reads the stack through; `close` closes only them. */
function connectReaders(stack: TestStack): Readers {
  const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  const sessions = new Http2SessionManager(stack.schedulerUrl);
  const transport = createGrpcTransport({ baseUrl: stack.schedulerUrl, sessionManager: sessions });
  const scheduler = createClient(SchedulerService, transport);
  const pool = new pg.Pool({ connectionString: stack.db.url, max: 2 });
  // The private server of a case may be stopped under an idle connection.
  pool.on("error", () => undefined);
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3, retryStrategy: () => 100 });
  redis.on("error", () => undefined);
  return {
    client,
    admin: createClient(AdminService, transport),
    submit: (input) => submitOver(scheduler, input),
    submitTo: async (baseUrl, input) => {
      const own = new Http2SessionManager(baseUrl);
      try {
        return await submitOver(createClient(SchedulerService, createGrpcTransport({ baseUrl, sessionManager: own })), input);
      } finally {
        own.abort();
      }
    },
    sql: async (text, params) => (await pool.query(text, params)).rows,
    redis,
    close: async () => {
      redis.disconnect();
      sessions.abort();
      await client.close();
      await pool.end();
    },
  };
}

/**
 * Waits until `condition` holds, for state this process changes itself (a load's outcomes, a
 * child's exit). @throws Error after `timeoutMs` (default 10 000).
 */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  await eventually(() => Promise.resolve(condition() ? true : undefined), timeoutMs);
}
