import { fileURLToPath } from "node:url";
import { spawnService, type RunningService } from "@taskflow/devstack";
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
}

/** The three services running as separate processes on a database and key prefix of their own. */
export interface TestStack {
  historyUrl: string;
  schedulerUrl: string;
  db: TestDatabase;
  keyPrefix: string;
  history: RunningService;
  scheduler: RunningService;
  workers: RunningService[];
  /** Starts one more worker process against this stack's scheduler. */
  addWorker(env?: NodeJS.ProcessEnv): Promise<RunningService>;
  /** Stops every process, drops the database and deletes the stack's Redis keys. */
  stop(): Promise<void>;
}

/**
 * Spawns history, scheduler and (unless `worker: false`) one worker with the built-in
 * handlers from their built `dist/main.js`, every one on port 0, as a user's deployment runs
 * them: separate processes talking over real HTTP/2 sockets to a real Redis and PostgreSQL.
 */
export async function spawnTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const db = await createTestDatabase();
  const keyPrefix = randomKeyPrefix();
  const redisUrl = testRedisUrl();
  const started: RunningService[] = [];
  const spawn = async (name: string, env: NodeJS.ProcessEnv): Promise<RunningService> => {
    const service = await spawnService({
      name,
      entry: entry(name),
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
    const history = await spawn("history", { HISTORY_PORT: "0", DATABASE_URL: db.url, ...opts.history });
    const scheduler = await spawn("scheduler", {
      SCHEDULER_PORT: "0",
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      HISTORY_URL: history.url,
      ...opts.scheduler,
    });
    const workers: RunningService[] = [];
    const addWorker = async (env: NodeJS.ProcessEnv = {}): Promise<RunningService> => {
      const worker = await spawn("worker", { WORKER_PORT: "0", SCHEDULER_URL: scheduler.url, ...env });
      workers.push(worker);
      return worker;
    };
    if (opts.worker !== false) await addWorker(opts.worker);
    return { historyUrl: history.url, schedulerUrl: scheduler.url, db, keyPrefix, history, scheduler, workers, addWorker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
