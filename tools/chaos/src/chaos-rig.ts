import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService, SchedulerService } from "@taskflow/proto";
import {
  faultWorkerEntry,
  spawnTestStack,
  startPrivateRedis,
  superviseWorkers,
  type PrivateRedis,
  type TestStack,
  type WorkerPool,
} from "@taskflow/testkit";
import { Redis } from "ioredis";
import pg from "pg";

/**
 * Scheduler settings of a chaos run: leases and sweeps short enough that a killed worker's jobs
 * run again within seconds, and a reconciler that brings back what a Redis restart lost.
 */
export const CHAOS_SCHEDULER: NodeJS.ProcessEnv = {
  LEASE_MS: "2000",
  SWEEP_INTERVAL_MS: "200",
  RECONCILE_INTERVAL_MS: "1000",
  RECONCILE_GRACE_MS: "3000",
  RETRY_BASE_MS: "50",
  RETRY_MAX_MS: "1000",
};

/** Everything a chaos run drives and reads. */
export interface ChaosRig {
  redis: PrivateRedis;
  stack: TestStack;
  pool: WorkerPool;
  /** The fixture workers' execution log. */
  execLog: string;
  /** The stack's own database. */
  db: pg.Pool;
  /** A connection to the private Redis (reconnects after a restart). */
  redisClient: Redis;
  scheduler: Client<typeof SchedulerService>;
  admin: Client<typeof AdminService>;
}

/** How many processes of each kind a chaos run starts. */
export interface ChaosRigSize {
  /** Fixture workers in the supervised pool. */
  workers: number;
  /** Scheduler replicas, behind one balancer. */
  schedulers: number;
  /** History replicas, behind one balancer. */
  histories: number;
}

/**
 * Starts a private Redis, `histories` history and `schedulers` scheduler replicas on a fresh
 * database (each group behind its balancer), and a supervised pool of `workers` fixture workers
 * logging every execution. Pushes onto `cleanups`, as each piece starts, what stops it, so that
 * a failure part way leaves nothing behind once they are run last to first.
 * @throws Error when a piece does not start.
 */
export async function startChaosRig(size: ChaosRigSize, cleanups: (() => Promise<unknown>)[]): Promise<ChaosRig> {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  const dir = await mkdtemp(join(tmpdir(), "tf-chaos-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const execLog = join(dir, "executions.jsonl");
  const stack = await spawnTestStack({
    schedulers: size.schedulers,
    histories: size.histories,
    redisUrl: redis.url,
    worker: false,
    workerEntry: faultWorkerEntry,
    scheduler: CHAOS_SCHEDULER,
  });
  cleanups.push(() => stack.stop());
  const pool = await superviseWorkers(size.workers, () => stack.addWorker({ FAULT_EXEC_LOG: execLog }));
  cleanups.push(() => pool.stop());
  const db = new pg.Pool({ connectionString: stack.db.url, max: 2 });
  // Idle connections die with nothing (history owns the server's lifetime, not chaos).
  db.on("error", () => undefined);
  cleanups.push(() => db.end());
  const redisClient = new Redis(redis.url, { maxRetriesPerRequest: 3, retryStrategy: () => 200 });
  // Chaos restarts this server: the client reconnects by itself.
  redisClient.on("error", () => undefined);
  cleanups.push(() => Promise.resolve(redisClient.disconnect()));
  const sessions = new Http2SessionManager(stack.schedulerUrl);
  cleanups.push(() => Promise.resolve(sessions.abort()));
  const transport = createGrpcTransport({ baseUrl: stack.schedulerUrl, sessionManager: sessions });
  return {
    redis,
    stack,
    pool,
    execLog,
    db,
    redisClient,
    scheduler: createClient(SchedulerService, transport),
    admin: createClient(AdminService, transport),
  };
}
