export { ConfigError, ConfigReader, type IntRange } from "./config-reader.js";
export { createLogger, LOG_LEVELS, type LoggerOptions } from "./create-logger.js";
export { createErrorInterceptor, INTERNAL_ERROR_MESSAGE } from "./error-interceptor.js";
export { createLoggingInterceptor } from "./logging-interceptor.js";
export { DEFAULT_HEALTH_INTERVAL_MS, DEFAULT_HEALTH_TIMEOUT_MS, type HealthOptions } from "./health-monitor.js";
export {
  createServiceConnection,
  createServiceTransport,
  SERVICE_PING_INTERVAL_MS,
  type ServiceConnection,
} from "./create-service-transport.js";
export { isMetricsRequest, METRICS_PATH } from "./metrics-route.js";
export { createMetricsRegistry } from "./metrics-registry.js";
export {
  createRpcMetricsInterceptor,
  grpcCodeName,
  grpcType,
  RPC_METRIC_NAMES,
  RPC_SECONDS_BUCKETS,
} from "./rpc-metrics.js";
export { runService, type RunServiceOptions, type StartedService } from "./run-service.js";
export {
  DEFAULT_READ_MAX_BYTES,
  DEFAULT_SHUTDOWN_GRACE_MS,
  startServer,
  type RunningServer,
  type ServerOptions,
  type ServiceRegistration,
} from "./start-server.js";
export { PeriodicLoop, type PeriodicLoopOptions } from "./periodic-loop.js";
