import { createTaskFlowClient, type TaskFlowClient } from "../src/index.js";
import { loadConfig as loadHistoryConfig, startHistory } from "@taskflow/history";
import { loadConfig as loadSchedulerConfig, startScheduler } from "@taskflow/scheduler";
import { createTestDatabase, deleteKeysWithPrefix, randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { pino, type Logger } from "pino";

/** History and scheduler running in-process on port 0, on their own database and key prefix. */
export interface Stack {
  schedulerUrl: string;
  historyUrl: string;
  client: TaskFlowClient;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Starts history and scheduler for one test file. `schedulerEnv` overrides scheduler variables
 * (e.g. LEASE_MS). Retries are fast, so retry tests do not wait on production backoffs.
 */
export async function startStack(schedulerEnv: Record<string, string> = {}): Promise<Stack> {
  const logger = pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });
  const db = await createTestDatabase();
  const prefix = randomKeyPrefix();
  const cleanups: Array<() => Promise<void>> = [() => db.drop(), () => deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`)];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const history = await startHistory(loadHistoryConfig({ HISTORY_PORT: "0", DATABASE_URL: db.url }), { logger });
    cleanups.push(() => history.close());
    const scheduler = await startScheduler(
      loadSchedulerConfig({
        SCHEDULER_PORT: "0",
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: prefix,
        HISTORY_URL: history.url,
        SWEEP_INTERVAL_MS: "50",
        RETRY_BASE_MS: "10",
        RETRY_MAX_MS: "50",
        ...schedulerEnv,
      }),
      { logger },
    );
    cleanups.push(() => scheduler.close());
    const client = createTaskFlowClient({ schedulerUrl: scheduler.url, historyUrl: history.url });
    cleanups.push(() => client.close());
    return { schedulerUrl: scheduler.url, historyUrl: history.url, client, logger, close };
  } catch (err) {
    await close();
    throw err;
  }
}
