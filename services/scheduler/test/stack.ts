import { Writable } from "node:stream";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { loadConfig as loadHistoryConfig, startHistory, type RunningHistory } from "@taskflow/history";
import { AdminService, HistoryIngestService, HistoryService, SchedulerService, WorkerService } from "@taskflow/proto";
import { createTestDatabase, deleteKeysWithPrefix, freePort, randomKeyPrefix, testRedisUrl, type TestDatabase } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import { loadConfig, type SchedulerConfig } from "../src/config.js";
import { startScheduler, type RunningScheduler } from "../src/start-scheduler.js";

/** History (on a database of its own) plus a scheduler (on a key prefix of its own), driven over HTTP/2. */
export interface Stack {
  /** The scheduler's url. */
  url: string;
  scheduler: Client<typeof SchedulerService>;
  worker: Client<typeof WorkerService>;
  history: Client<typeof HistoryService>;
  ingest: Client<typeof HistoryIngestService>;
  admin: Client<typeof AdminService>;
  redis: Redis;
  config: SchedulerConfig;
  historyUrl: string;
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

/** History alone, on a database of its own; `close()` stops it and drops the database. */
export async function startTestHistory(): Promise<RunningHistory & { databaseUrl: string }> {
  const db: TestDatabase = await createTestDatabase();
  try {
    const hist = await startHistory(loadHistoryConfig({ DATABASE_URL: db.url, HISTORY_PORT: "0", LOG_LEVEL: "silent" }), {
      logger: silent,
    });
    return {
      url: hist.url,
      databaseUrl: db.url,
      close: async () => {
        await hist.close();
        await db.drop();
      },
    };
  } catch (err) {
    await db.drop();
    throw err;
  }
}

/** A URL where nothing listens: a port bound once and released. */
export async function deadUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  let hist: (RunningHistory & { databaseUrl: string }) | undefined;
  let sched: RunningScheduler | undefined;
  const redis = new Redis(testRedisUrl());
  const prefix = randomKeyPrefix();
  const close = async (): Promise<void> => {
    await sched?.close();
    await hist?.close();
    await deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`);
    await redis.quit();
  };
  try {
    hist = await startTestHistory();
    const config = loadConfig({
      SCHEDULER_PORT: "0",
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      HISTORY_URL: opts.historyUrl ?? hist.url,
      SWEEP_INTERVAL_MS: "50",
      ...opts.env,
    });
    const tap = new LogTap();
    sched = await startScheduler(config, { logger: tap.logger });
    const transport = createGrpcTransport({ baseUrl: sched.url });
    const historyTransport = createGrpcTransport({ baseUrl: hist.url });
    return {
      url: sched.url,
      scheduler: createClient(SchedulerService, transport),
      worker: createClient(WorkerService, transport),
      admin: createClient(AdminService, transport),
      history: createClient(HistoryService, historyTransport),
      ingest: createClient(HistoryIngestService, historyTransport),
      redis,
      config,
      historyUrl: hist.url,
      databaseUrl: hist.databaseUrl,
      logged: (msg) => tap.next(msg),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
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
