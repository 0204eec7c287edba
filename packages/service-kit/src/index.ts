export { ConfigError, ConfigReader, type IntRange } from "./config-reader.js";
export { createLogger, LOG_LEVELS, MASKED_FIELDS, REDACT_PATHS, type LoggerOptions } from "./create-logger.js";
export { createErrorInterceptor, INTERNAL_ERROR_MESSAGE } from "./error-interceptor.js";
export { createLoggingInterceptor } from "./logging-interceptor.js";
export { DEFAULT_HEALTH_INTERVAL_MS, DEFAULT_HEALTH_TIMEOUT_MS, type HealthOptions } from "./health-monitor.js";
export {
  createServiceConnection,
  createServiceTransport,
  bearerInterceptor,
  type ServiceCredentials,
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
export { runService, type LoggedConfig, type RunServiceOptions, type StartedService } from "./run-service.js";
export {
  DEFAULT_READ_MAX_BYTES,
  DEFAULT_SHUTDOWN_GRACE_MS,
  startServer,
  type RunningServer,
  type ServerOptions,
  type ServiceRegistration,
} from "./start-server.js";
export { activeTracer, contextOfTraceParent, formatTraceParent, JOB_SPAN_ATTRIBUTES, parseTraceParent } from "@taskflow/client";
export { activeLogFields, activeTraceParent, createTracingInterceptor, endServerSpan, RPC_ATTRIBUTES, TRACER_NAME } from "./tracing.js";
export {
  readTracingConfig,
  startTracing,
  tracesUrlOf,
  TRACING_OFF,
  TRACING_VARIABLES,
  type RunningTracing,
  type TracingConfig,
} from "./tracing-config.js";
export { PeriodicLoop, type PeriodicLoopOptions } from "./periodic-loop.js";
export { TASKFLOW_ACCESS, PUBLIC_SERVICES, rolesFor, type AccessPolicy } from "./auth/access-policy.js";
export { AUTH_VARIABLES, readAuthConfig, startAuth, isLoopback, type AuthConfig } from "./auth/auth-config.js";
export { createAuthInterceptor } from "./auth/auth-interceptor.js";
export { Authenticator, peerCertificateKey, type AuthSources, type PeerCertificate } from "./auth/authenticator.js";
export { actorOf, identityKey, identityOf, isRole, ROLES, UNVERIFIED, type Identity, type Role } from "./auth/identity.js";
export { parseTokensFile, tokenDigest, MIN_TOKEN_LENGTH, type TokenTable } from "./auth/tokens-file.js";
export { WatchedFile, WATCH_INTERVAL_MS } from "./auth/watched-file.js";
export { readTlsFiles, ServerTls, TLS_VARIABLES, type ServerTlsFiles } from "./tls/server-tls.js";
export { credentialVariables, readCredentialFiles, readCredentials, type CredentialFiles } from "./auth/credentials.js";
export {
  DEFAULT_SECRET_PAYLOAD_KEYS,
  isSecretKey,
  maskSecrets,
  normaliseKeyName,
  REDACTED,
} from "./mask-secrets.js";
export { wakeOrTimeout } from "./wake-or-timeout.js";
