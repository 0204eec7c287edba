import { createTestDatabase, deleteKeysWithPrefix, randomKeyPrefix, testRedisUrl } from "./stores.js";

/** A service running in this process. */
export interface InProcessService {
  url: string;
  /** History's internal listener (the scheduler's HISTORY_URL), when it has one. */
  internalUrl?: string;
  close(): Promise<void>;
}

/**
 * How to run one service in this process: its config loader and its start function (with the
 * logger the caller wants). Passed in, not imported: the services' own tests depend on testkit,
 * so testkit cannot depend on them, and a service's tests pass the code under test itself.
 */
export interface InProcessServiceModule<C> {
  loadConfig(env: Record<string, string>): C;
  start(config: C): Promise<InProcessService>;
}

/** Options of {@link startServicesInProcess}. */
export interface InProcessServicesOptions<HC, SC extends { port: number }> {
  history: InProcessServiceModule<HC>;
  scheduler: InProcessServiceModule<SC>;
  /** History variables over the stack's (HISTORY_PORT=0 and its database). */
  historyEnv?: Record<string, string>;
  /** Scheduler variables over the stack's (port 0, the test Redis, a key prefix, history's url). */
  schedulerEnv?: Record<string, string>;
  /** The HISTORY_URL the scheduler gets instead of the history started here (e.g. a closed port). */
  historyUrl?: string;
}

/** History and scheduler in this process, on a database and key prefix of their own. */
export interface InProcessServices<SC> {
  historyUrl: string;
  /** History's internal listener, which the scheduler calls. */
  historyInternalUrl: string;
  schedulerUrl: string;
  /** History's own database. */
  databaseUrl: string;
  /** The scheduler's settings, as loaded. */
  schedulerConfig: SC;
  /** Stops the scheduler; the returned function starts it again on the same port and key prefix. */
  stopScheduler(): Promise<() => Promise<void>>;
  /** Stops both services, drops the database and deletes the stack's keys from the test Redis. Idempotent. */
  close(): Promise<void>;
}

/** History on a new test database; `close()` stops it and drops the database. */
export async function startHistoryInProcess<C>(
  history: InProcessServiceModule<C>,
  env: Record<string, string> = {},
): Promise<InProcessService & { internalUrl: string; databaseUrl: string }> {
  const db = await createTestDatabase();
  try {
    const running = await history.start(history.loadConfig({ HISTORY_PORT: "0", HISTORY_INTERNAL_PORT: "0", DATABASE_URL: db.url, ...env }));
    const close = async (): Promise<void> => {
      await running.close();
      await db.drop();
    };
    // A service without an internal listener serves its callers on its one port.
    return { url: running.url, internalUrl: running.internalUrl ?? running.url, databaseUrl: db.url, close };
  } catch (err) {
    await db.drop();
    throw err;
  }
}

/**
 * Starts history on a new test database, then the scheduler on port 0 against the test Redis
 * under a new key prefix, for one test file. Callers make their own clients from the urls.
 * @throws whatever a config loader or a start throws (e.g. a bad setting), after undoing what
 *   had started.
 */
export async function startServicesInProcess<HC, SC extends { port: number }>(
  opts: InProcessServicesOptions<HC, SC>,
): Promise<InProcessServices<SC>> {
  const prefix = randomKeyPrefix();
  const cleanups: Array<() => Promise<void>> = [() => deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`)];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const history = await startHistoryInProcess(opts.history, opts.historyEnv);
    cleanups.push(() => history.close());
    const schedulerConfig = opts.scheduler.loadConfig({
      SCHEDULER_PORT: "0",
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      HISTORY_URL: opts.historyUrl ?? history.internalUrl,
      ...opts.schedulerEnv,
    });
    const scheduler = await startRestartable(opts.scheduler, schedulerConfig);
    cleanups.push(() => scheduler.close());
    const { url: schedulerUrl, stop: stopScheduler } = scheduler;
    return { historyUrl: history.url, historyInternalUrl: history.internalUrl, schedulerUrl, databaseUrl: history.databaseUrl, schedulerConfig, stopScheduler, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A service that can be stopped and started again on the port it first bound. */
async function startRestartable<C extends { port: number }>(module: InProcessServiceModule<C>, config: C) {
  let running: InProcessService | undefined = await module.start(config);
  const url = running.url;
  const port = Number(new URL(url).port);
  return {
    url,
    stop: async (): Promise<() => Promise<void>> => {
      await running?.close();
      running = undefined;
      return async () => {
        running = await module.start({ ...config, port });
      };
    },
    // A service stopped and not started again has nothing left to close.
    close: async (): Promise<void> => {
      await running?.close();
      running = undefined;
    },
  };
}
