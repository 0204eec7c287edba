import type { Logger } from "pino";
import { ConfigError } from "./config-reader.js";
import { createLogger } from "./create-logger.js";
import { startTracing, type TracingConfig } from "./tracing-config.js";

/** What a service's start function returns: {@link runService} closes it on SIGTERM or SIGINT. */
export interface StartedService {
  close(): Promise<void>;
}

/** What {@link runService} reads of a service's configuration to create its root logger. */
export interface LoggedConfig {
  readonly logLevel: string;
  /** Key names masked in logs (`SECRET_PAYLOAD_KEYS`); the defaults when the service has none. */
  readonly secretPayloadKeys?: readonly string[];
  /** Where spans go (OTEL_* variables, see readTracingConfig); tracing is off without it. */
  readonly tracing?: TracingConfig;
}

/** Options of {@link runService}. */
export interface RunServiceOptions<C extends LoggedConfig> {
  /** Service name, written as `name` on every log line. */
  name: string;
  /** The service's `loadConfig`; reads `process.env` and throws one {@link ConfigError} for every bad variable. */
  loadConfig: () => C;
  /** Starts the service with its configuration and root logger. */
  start: (config: C, opts: { logger: Logger }) => Promise<StartedService>;
}

/** Options of {@link superviseIn}. */
export interface SuperviseOptions {
  logger: Logger;
  /** Starts the service; what it returns is closed on SIGTERM or SIGINT. */
  start: () => Promise<StartedService>;
}

/** The parts of `process` that {@link runService} uses. */
export interface ServiceProcess {
  once(event: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
  stderr: { write(text: string): unknown };
}

/**
 * The whole of a service's `main.ts`: loads the configuration, creates the root logger at its
 * `logLevel`, starts tracing when the configuration asks for it (see startTracing), then
 * supervises `start` as {@link superviseIn} does; spans are flushed after the service closed. A configuration error is
 * written to stderr (every bad variable, no stack) and exits 1, before anything starts.
 *
 * @throws whatever `loadConfig` throws other than a {@link ConfigError} (a bug, not bad input).
 */
export function runService<C extends LoggedConfig>(opts: RunServiceOptions<C>): void {
  runServiceIn(process, opts);
}

/** {@link runService} against an explicit process, so tests can see what it writes and exits with. */
export function runServiceIn<C extends LoggedConfig>(
  proc: ServiceProcess,
  { name, loadConfig, start }: RunServiceOptions<C>,
): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    proc.stderr.write(`${err.message}\n`);
    proc.exit(1);
    return;
  }
  const logger = createLogger({ name, level: config.logLevel, secretKeys: config.secretPayloadKeys });
  superviseIn(proc, { logger, start: () => startTraced(config.tracing, name, logger, () => start(config, { logger })) });
}

/** Starts tracing, then the service; closing the service then flushes and stops tracing. */
async function startTraced(
  tracing: TracingConfig | undefined,
  name: string,
  logger: Logger,
  start: () => Promise<StartedService>,
): Promise<StartedService> {
  const running = await startTracing(tracing, name, logger);
  if (running === undefined) return start();
  let service: StartedService;
  try {
    service = await start();
  } catch (err) {
    await running.shutdown();
    throw err;
  }
  return {
    close: async () => {
      try {
        await service.close();
      } finally {
        await running.shutdown();
      }
    },
  };
}

/**
 * Awaits `start()`; on the first SIGTERM or SIGINT closes what it started, once, and exits 0.
 * A `start()` or `close()` that throws is logged and exits 1. A signal that arrives while
 * `start()` is still running closes the service as soon as it is up.
 */
export function superviseIn(proc: ServiceProcess, { logger, start }: SuperviseOptions): void {
  let stopping = false;
  const started = start();
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    started
      .then((service) => service.close())
      .then(
        () => {
          logger.info("stopped");
          proc.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          proc.exit(1);
        },
      );
  };
  proc.once("SIGTERM", stop);
  proc.once("SIGINT", stop);
  started.catch((err: unknown) => {
    logger.fatal({ err }, "start failed");
    proc.exit(1);
  });
}
