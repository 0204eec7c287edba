import { fileURLToPath } from "node:url";
import { spawnStackService, type StackService } from "./stack-service.js";
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  randomKeyPrefix,
  testRedisUrl,
  type TestDatabase,
} from "./stores.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const entry = (name: string): string => `${repoRoot}services/${name}/dist/main.js`;

export interface TestStackOptions {
  /** Extra environment of the history process. */
  history?: NodeJS.ProcessEnv;
  /** Extra environment of the scheduler process. */
  scheduler?: NodeJS.ProcessEnv;
  /** Extra environment of the worker process, or false for no worker. */
  worker?: NodeJS.ProcessEnv | false;
  /** Print the services' output (for debugging a test). */
  echo?: boolean;
  /** Redis the scheduler uses (default the shared test server); a fault test passes a private one. */
  redisUrl?: string;
  /** Admin url of the PostgreSQL server the stack's database is made on (default the shared one). */
  databaseAdminUrl?: string;
  /** Script every worker process runs (default the worker service), e.g. a test's fixture worker. */
  workerEntry?: string;
}

/** The three services running as separate processes on a database and key prefix of their own. */
export interface TestStack {
  historyUrl: string;
  schedulerUrl: string;
  db: TestDatabase;
  /** Redis the scheduler uses. */
  redisUrl: string;
  keyPrefix: string;
  history: StackService;
  scheduler: StackService;
  /** Every worker process started, in order (exited ones included). */
  workers: StackService[];
  /** Starts one more worker process against this stack's scheduler. */
  addWorker(env?: NodeJS.ProcessEnv): Promise<StackService>;
  /** Stops every process, drops the database and deletes the stack's Redis keys. */
  stop(): Promise<void>;
}

/**
 * Spawns history, scheduler and (unless `worker: false`) one worker with the built-in
 * handlers from their built `dist/main.js`, every one on port 0, as a user's deployment runs
 * them: separate processes talking over real HTTP/2 sockets to a real Redis and PostgreSQL.
 * Each process can be killed, paused and started again on its port (see StackService).
 */
export async function spawnTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const db = await createTestDatabase(opts.databaseAdminUrl);
  const keyPrefix = randomKeyPrefix();
  const redisUrl = opts.redisUrl ?? testRedisUrl();
  const started: StackService[] = [];
  const spawn = async (name: string, portVar: string, env: NodeJS.ProcessEnv, script = entry(name)): Promise<StackService> => {
    const service = await spawnStackService({
      name,
      entry: script,
      portVar,
      env: { ...process.env, LOG_LEVEL: "info", ...env },
      echo: opts.echo ?? false,
      graceMs: 10_000,
    });
    started.push(service);
    return service;
  };
  const stop = async (): Promise<void> => {
    for (const service of started.splice(0).reverse()) await service.stop();
    await db.drop();
    await deleteKeysWithPrefix(redisUrl, keyPrefix);
  };
  try {
    const history = await spawn("history", "HISTORY_PORT", { DATABASE_URL: db.url, ...opts.history });
    const scheduler = await spawn("scheduler", "SCHEDULER_PORT", {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      HISTORY_URL: history.url,
      ...opts.scheduler,
    });
    const workers: StackService[] = [];
    const addWorker = async (env: NodeJS.ProcessEnv = {}): Promise<StackService> => {
      const worker = await spawn("worker", "WORKER_PORT", { SCHEDULER_URL: scheduler.url, ...env }, opts.workerEntry);
      workers.push(worker);
      return worker;
    };
    if (opts.worker !== false) await addWorker(opts.worker);
    return {
      historyUrl: history.url,
      schedulerUrl: scheduler.url,
      db,
      redisUrl,
      keyPrefix,
      history,
      scheduler,
      workers,
      addWorker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
