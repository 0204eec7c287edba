import { createServer, type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { loadConfig as loadHistoryConfig, startHistory, type HistoryConfig, type RunningHistory } from "@taskflow/history";
import { AdminService, HistoryIngestService, HistoryService, QueueService, ScheduleService, SchedulerService, WorkerService } from "@taskflow/proto";
import { startHistoryInProcess, startServicesInProcess, testRedisUrl } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import { loadConfig, type SchedulerConfig } from "../src/config.js";
import { startScheduler } from "../src/start-scheduler.js";

/** History (on a database of its own) plus a scheduler (on a key prefix of its own), driven over HTTP/2. */
export interface Stack {
  /** The scheduler's url. */
  url: string;
  scheduler: Client<typeof SchedulerService>;
  worker: Client<typeof WorkerService>;
  history: Client<typeof HistoryService>;
  ingest: Client<typeof HistoryIngestService>;
  admin: Client<typeof AdminService>;
  queues: Client<typeof QueueService>;
  schedules: Client<typeof ScheduleService>;
  redis: Redis;
  config: SchedulerConfig;
  historyUrl: string;
  /** History's internal listener, which the scheduler calls. */
  historyInternalUrl: string;
  /** History's own database, for tests that must set what no RPC sets (e.g. a row's age). */
  databaseUrl: string;
  /** Resolves when the scheduler logs a line with this `msg`, from now on. */
  logged(msg: string): Promise<void>;
  close(): Promise<void>;
}

/** Log lines the scheduler writes, so tests can await what it reports instead of sleeping. */
class LogTap {
  private readonly wanted: { msg: string; resolve: () => void }[] = [];
  readonly logger: Logger;

  constructor() {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString().split("\n").filter(Boolean)) this.see(JSON.parse(line) as { msg?: string });
        done();
      },
    });
    this.logger = pino({ level: "debug" }, stream);
  }

  next(msg: string): Promise<void> {
    return new Promise((resolve) => this.wanted.push({ msg, resolve }));
  }

  private see(line: { msg?: string; level?: number }): void {
    // TEST_LOG=1 shows the scheduler's warnings and errors while debugging a test.
    if (process.env.TEST_LOG && (line.level ?? 0) >= 40) process.stderr.write(`${JSON.stringify(line)}\n`);
    for (let i = this.wanted.length - 1; i >= 0; i -= 1) {
      if (this.wanted[i]!.msg === line.msg) this.wanted.splice(i, 1)[0]!.resolve();
    }
  }
}

const silent = pino({ level: "silent" });

export interface StackOptions {
  env?: Record<string, string>;
  /** Point the scheduler at this history URL instead of the real one (e.g. a closed port). */
  historyUrl?: string;
}

/** The built history, logging nothing. */
const historyModule = {
  loadConfig: loadHistoryConfig,
  start: (config: HistoryConfig) => startHistory(config, { logger: silent }),
};

/** History alone, on a database of its own; `close()` stops it and drops the database. */
export function startTestHistory(): Promise<RunningHistory & { databaseUrl: string }> {
  return startHistoryInProcess(historyModule, { LOG_LEVEL: "silent" });
}

/**
 * A URL where nothing answers: a port held for the rest of the test run (so that no service a
 * parallel test starts can take it) whose every connection is reset at once, as a refused
 * connection would be.
 */
export async function deadUrl(): Promise<string> {
  const server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * testkit's in-process stack with this package's scheduler (the code under test, not the
 * build), whose log lines the stack's `logged` waits for, and the clients tests call it with.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const tap = new LogTap();
  const services = await startServicesInProcess({
    history: historyModule,
    scheduler: { loadConfig, start: (config: SchedulerConfig) => startScheduler(config, { logger: tap.logger }) },
    historyEnv: { LOG_LEVEL: "silent" },
    // Every script call proves it touches only the keys it declares, as Redis Cluster needs.
    schedulerEnv: { SWEEP_INTERVAL_MS: "50", REDIS_CHECK_SCRIPT_KEYS: "true", ...opts.env },
    historyUrl: opts.historyUrl,
  });
  const redis = new Redis(testRedisUrl());
  const transport = createGrpcTransport({ baseUrl: services.schedulerUrl });
  const historyTransport = createGrpcTransport({ baseUrl: services.historyUrl });
  const internalTransport = createGrpcTransport({ baseUrl: services.historyInternalUrl });
  return {
    url: services.schedulerUrl,
    scheduler: createClient(SchedulerService, transport),
    worker: createClient(WorkerService, transport),
    admin: createClient(AdminService, transport),
    queues: createClient(QueueService, transport),
    schedules: createClient(ScheduleService, transport),
    history: createClient(HistoryService, historyTransport),
    ingest: createClient(HistoryIngestService, internalTransport),
    redis,
    config: services.schedulerConfig,
    historyUrl: services.historyUrl,
    historyInternalUrl: services.historyInternalUrl,
    databaseUrl: services.databaseUrl,
    logged: (msg) => tap.next(msg),
    close: async () => {
      await services.close();
      await redis.quit();
    },
  };
}

/** Every job hash under the scheduler's prefix (to prove a refused request enqueued nothing). */
export async function jobKeys(s: Stack): Promise<string[]> {
  return (await s.redis.keys(`${s.config.redisKeyPrefix}:{*}:job:*`)).sort();
}

/** Another scheduler replica beside the stack's: same Redis prefix, same history. */
export interface Replica {
  url: string;
  scheduler: Client<typeof SchedulerService>;
  worker: Client<typeof WorkerService>;
  admin: Client<typeof AdminService>;
  close(): Promise<void>;
}

export async function startReplica(s: Stack, env: Record<string, string> = {}): Promise<Replica> {
  const config = loadConfig({
    SCHEDULER_PORT: "0",
    REDIS_URL: s.config.redisUrl,
    REDIS_KEY_PREFIX: s.config.redisKeyPrefix,
    HISTORY_URL: s.config.historyUrl,
    SWEEP_INTERVAL_MS: String(s.config.sweepIntervalMs),
    RECONCILE_INTERVAL_MS: String(s.config.reconcileIntervalMs),
    RECONCILE_GRACE_MS: String(s.config.reconcileGraceMs),
    ...env,
  });
  const sched = await startScheduler(config, { logger: silent });
  const transport = createGrpcTransport({ baseUrl: sched.url });
  return {
    url: sched.url,
    scheduler: createClient(SchedulerService, transport),
    worker: createClient(WorkerService, transport),
    admin: createClient(AdminService, transport),
    close: () => sched.close(),
  };
}
