import { loadConfig as loadHistoryConfig, startHistory } from "@taskflow/history";
import { loadConfig as loadSchedulerConfig, startScheduler } from "@taskflow/scheduler";
import { startServicesInProcess } from "@taskflow/testkit";
import { pino, type Logger } from "pino";

/** History and scheduler running in this process on port 0, on a database and key prefix of their own. */
export interface InProcessStack {
  schedulerUrl: string;
  historyUrl: string;
  /** History's internal listener, which the scheduler calls. */
  historyInternalUrl: string;
  /** The scheduler's Redis key prefix (on the test Redis), for tests that reach into its keys. */
  redisKeyPrefix: string;
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
  /** History variables over the test defaults (e.g. AUTH_TOKENS_FILE). */
  historyEnv?: Record<string, string>;
}

/** Scheduler settings of a test stack: loops sweep every 50 ms and retries wait 10 to 50 ms. */
const FAST_SCHEDULER_ENV: Readonly<Record<string, string>> = {
  SWEEP_INTERVAL_MS: "50",
  RETRY_BASE_MS: "10",
  RETRY_MAX_MS: "50",
};

/**
 * Starts the built history and scheduler for one test file (testkit's startServicesInProcess),
 * against the test PostgreSQL and Redis. Retries and sweeps are fast, so tests do not wait on
 * production backoffs. Callers make their own clients from the urls.
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
  const stack = await startServicesInProcess({
    history: { loadConfig: loadHistoryConfig, start: (config) => startHistory(config, { logger }) },
    scheduler: { loadConfig: loadSchedulerConfig, start: (config) => startScheduler(config, { logger }) },
    schedulerEnv: { ...FAST_SCHEDULER_ENV, ...schedulerEnv },
    historyEnv: opts.historyEnv,
  });
  const { schedulerUrl, historyUrl, historyInternalUrl } = stack;
  const { redisKeyPrefix } = stack.schedulerConfig;
  return { schedulerUrl, historyUrl, historyInternalUrl, redisKeyPrefix, logger, stopScheduler: () => stack.stopScheduler(), close: () => stack.close() };
}
