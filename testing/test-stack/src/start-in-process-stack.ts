import { loadConfig as loadHistoryConfig, startHistory } from "@taskflow/history";
import {
  loadConfig as loadSchedulerConfig,
  startScheduler,
  type RunningScheduler,
  type SchedulerConfig,
} from "@taskflow/scheduler";
import { createTestDatabase, deleteKeysWithPrefix, randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { pino, type Logger } from "pino";

/** History and scheduler running in this process on port 0, on a database and key prefix of their own. */
export interface InProcessStack {
  schedulerUrl: string;
  historyUrl: string;
  /** The logger both services write to (silent unless `TEST_LOG_LEVEL` is set). */
  logger: Logger;
  /** Stops the scheduler; the returned function starts it again on the same port and key prefix. */
  stopScheduler(): Promise<() => Promise<void>>;
  /** Stops both services, drops the database and deletes the stack's Redis keys. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startInProcessStack}. */
export interface InProcessStackOptions {
  /** Logger of both services; default pino at `TEST_LOG_LEVEL`, else silent. */
  logger?: Logger;
}

/** Scheduler settings of a test stack: loops sweep every 50 ms and retries wait 10 to 50 ms. */
const FAST_SCHEDULER_ENV: Readonly<Record<string, string>> = {
  SWEEP_INTERVAL_MS: "50",
  RETRY_BASE_MS: "10",
  RETRY_MAX_MS: "50",
};

/**
 * Starts history and scheduler for one test file, against the test PostgreSQL and Redis.
 * Retries and sweeps are fast, so tests do not wait on production backoffs. Callers make
 * their own clients from the urls.
 *
 * @param schedulerEnv scheduler variables over the test defaults (e.g. `{ LEASE_MS: "1000" }`).
 * @throws {ConfigError} when `schedulerEnv` holds a bad value; whatever a failed start throws,
 *   after undoing what had started.
 */
export async function startInProcessStack(
  schedulerEnv: Record<string, string> = {},
  opts: InProcessStackOptions = {},
): Promise<InProcessStack> {
  const logger = opts.logger ?? pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });
  const db = await createTestDatabase();
  const prefix = randomKeyPrefix();
  const cleanups: Array<() => Promise<void>> = [() => db.drop(), () => deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`)];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const history = await startHistory(loadHistoryConfig({ HISTORY_PORT: "0", DATABASE_URL: db.url }), { logger });
    cleanups.push(() => history.close());
    const config = loadSchedulerConfig({
      SCHEDULER_PORT: "0",
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      HISTORY_URL: history.url,
      ...FAST_SCHEDULER_ENV,
      ...schedulerEnv,
    });
    const scheduler = await restartableScheduler(config, logger);
    cleanups.push(() => scheduler.close());
    return { schedulerUrl: scheduler.url, historyUrl: history.url, logger, stopScheduler: scheduler.stop, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A scheduler that can be stopped and started again on the port it first bound. */
async function restartableScheduler(config: SchedulerConfig, logger: Logger) {
  let running: RunningScheduler | undefined = await startScheduler(config, { logger });
  const url = running.url;
  const port = Number(new URL(url).port);
  return {
    url,
    stop: async (): Promise<() => Promise<void>> => {
      await running?.close();
      running = undefined;
      return async () => {
        running = await startScheduler({ ...config, port }, { logger });
      };
    },
    // A scheduler stopped and not started again has nothing left to close.
    close: async (): Promise<void> => {
      await running?.close();
      running = undefined;
    },
  };
}
