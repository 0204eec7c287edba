import { createWorker } from "@taskflow/worker-sdk";
import { createLogger, readCredentials, startServer } from "@taskflow/service-kit";
import type { Logger } from "pino";
import { createSchedulerHealthCheck } from "./check-scheduler-health.js";
import type { WorkerConfig } from "./config.js";
import { createBuiltInHandlers } from "./handlers/index.js";
import { createWorkerMetrics } from "./metrics.js";

/** A running worker service. */
export interface RunningWorkerService {
  /** URL of the health endpoint, with the port actually bound. */
  url: string;
  /** Drains the worker (see the SDK's stop()), then closes the health server. */
  close(): Promise<void>;
}

/**
 * Starts a server on `host:port` that serves only `grpc.health.v1.Health` (SERVING while the
 * scheduler answers its own health check), so that Kubernetes gRPC probes work, and the
 * worker's metrics at `GET /metrics` (see metrics.ts), then the SDK
 * worker with the enabled built-in handlers. Resolves once the worker is registered.
 * @throws ConnectError when the scheduler refuses the registration; Error when the port is taken.
 */
export async function startWorkerService(
  config: WorkerConfig,
  opts: { logger?: Logger } = {},
): Promise<RunningWorkerService> {
  const logger = opts.logger ?? createLogger({ name: "worker", level: config.logLevel, secretKeys: config.secretPayloadKeys });
  const handlers = createBuiltInHandlers(config.handlers, { httpAllow: config.httpAllow });
  logBuiltInHandlers(logger, config);
  const credentials = readCredentials(config.schedulerCredentials, logger);
  // The slot gauges read the worker, made just below; nothing scrapes before the server starts.
  const metrics = createWorkerMetrics(() => worker.stats());
  const worker = createWorker({
    scheduler: config.schedulerUrl,
    ...credentials,
    workerId: config.workerId,
    queues: [...config.queues],
    concurrency: config.concurrency,
    handlers,
    shutdownGraceMs: config.shutdownGraceMs,
    logger,
    observer: metrics.observer,
  });
  const server = await startServer({
    host: config.host,
    port: config.port,
    services: [],
    logger,
    health: { check: createSchedulerHealthCheck(config.schedulerUrl, credentials) },
    tls: config.tls,
    metrics: metrics.registry,
  }).catch(async (err: unknown) => {
    await worker.stop();
    throw err;
  });
  logger.info({ url: server.url }, "listening");
  try {
    // Registration waits out an unreachable scheduler; meanwhile probes see NOT_SERVING.
    await worker.start();
  } catch (err) {
    await Promise.all([worker.stop(), server.close()]);
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await worker.stop();
    await server.close();
  };
  return { url: server.url, close: () => (closing ??= close()) };
}

/** Says at start-up which handlers run, and where the `http` handler may call when it does. */
function logBuiltInHandlers(logger: Logger, config: WorkerConfig): void {
  const http = config.handlers.includes("http");
  const httpAllow = http ? config.httpAllow.map((e) => e.text) : undefined;
  logger.info({ handlers: config.handlers, http_handler: http, http_allow: httpAllow }, "built-in handlers");
}
