/** The TaskFlow services that run in Kubernetes. */
export type TaskflowServiceName = "scheduler" | "history" | "worker" | "dashboard";

/** The path the dashboard answers health on (plain HTTP GET, 200 when serving). */
export const HEALTH_PATH = "/healthz";

/** What a TaskFlow service's container must be given, per the project's fixed config names. */
export interface TaskflowServiceSpec {
  /** Every variable the service's `loadConfig` reads; a pod must set no other. */
  readonly env: readonly string[];
  /** Variables without a usable default in a cluster (defaults point at 127.0.0.1). */
  readonly required: readonly string[];
  /** The bind address variable; it must be 0.0.0.0 in a pod. */
  readonly hostVar: string;
  /** The port variable; it must equal the probed, declared container port. */
  readonly portVar: string;
  /** The port the service listens on by default. */
  readonly defaultPort: number;
  /**
   * What its port speaks: `grpc` (gRPC health for the probes, a port named grpc, h2c or https
   * behind a Service) or `http` (GET /healthz for the probes, a port named http, appProtocol http).
   */
  readonly protocol: "grpc" | "http";
  /** Its main script, under services/<name>: what the image starts. */
  readonly entry: string;
  /** Its configuration reader, under services/<name>. */
  readonly configFile: string;
  /**
   * URL variables that must name a TaskFlow Service's public port (the one its pods name grpc),
   * and which Service: the dashboard calls the APIs a browser may, never history's internal one.
   */
  readonly publicUrls?: Readonly<Record<string, TaskflowServiceName>>;
  /** Whether start-up does slow work (migrations) that needs a startupProbe. */
  readonly startupProbe: boolean;
  /** How long SIGTERM may take before the process exits by itself, in ms (0: promptly). */
  readonly drainMsVar?: string;
  readonly defaultDrainMs: number;
}

/** Authentication and TLS settings every service reads, as fixed project-wide. */
const AUTH_AND_TLS = [
  "AUTH_TOKENS_FILE", "AUTH_JWKS_FILE", "AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE", "AUTH_JWT_ROLES_CLAIM", "AUTH_DISABLED",
  "TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE",
] as const;

/** The OpenTelemetry settings every service reads (see readTracingConfig); tracing is off without an endpoint. */
const TRACING = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"] as const;

/**
 * The expected table: the variable names each service's config.ts reads, as fixed project-wide.
 * Keep it in step with services/<name>/src/config.ts.
 */
export const TASKFLOW_SERVICES: Readonly<Record<TaskflowServiceName, TaskflowServiceSpec>> = {
  scheduler: {
    env: [
      "SCHEDULER_HOST", "SCHEDULER_PORT", "REDIS_URL", "REDIS_KEY_PREFIX", "HISTORY_URL", "LEASE_MS",
      "SWEEP_INTERVAL_MS", "PROMOTE_SWEEP_INTERVAL_MS", "DEFAULT_TIMEOUT_MS", "MAX_SUBMIT_BATCH", "SUBMIT_GROUPS_IN_FLIGHT",
      "MAX_PAYLOAD_BYTES", "RETRY_BASE_MS", "RETRY_MAX_MS", "OUTBOX_BATCH_SIZE", "OUTBOX_BATCH_MAX_BYTES", "LEASE_MAX_BYTES", "OUTBOX_CLAIM_IDLE_MS", "LOG_LEVEL",
      "RECONCILE_INTERVAL_MS", "RECONCILE_GRACE_MS", "RECONCILE_MAX_JOBS", "QUEUE_IDLE_MS", "QUEUE_TEND_INTERVAL_MS",
      "REDIS_ALLOW_EVICTION", "FAULT_CRASH_AFTER_HISTORY_COMMIT", "REDIS_CLUSTER_NODES", "REDIS_CHECK_SCRIPT_KEYS",
      // Towards history's internal listener: the bearer token, its CA and the client certificate.
      "HISTORY_TOKEN_FILE", "HISTORY_CA_FILE", "HISTORY_CERT_FILE", "HISTORY_KEY_FILE",
      "SECRET_PAYLOAD_KEYS",
      // Per-identity submit rate limits (off unless SUBMIT_RATE_PER_S or an override is set).
      "SUBMIT_RATE_PER_S", "SUBMIT_BURST", "SUBMIT_RATE_OVERRIDES",
      // Schedules: how often each replica looks for due ticks, when a tick counts as missed, the
      // largest catch-up, and how long a claimed firing is its replica's.
      "SCHEDULE_POLL_INTERVAL_MS", "SCHEDULE_MISFIRE_MS", "SCHEDULE_MAX_CATCH_UP", "SCHEDULE_FIRING_LEASE_MS",
      ...AUTH_AND_TLS,
      ...TRACING,
    ],
    required: ["REDIS_URL", "HISTORY_URL"],
    hostVar: "SCHEDULER_HOST",
    portVar: "SCHEDULER_PORT",
    defaultPort: 50051,
    protocol: "grpc",
    entry: "dist/main.js",
    configFile: "src/config.ts",
    startupProbe: false,
    defaultDrainMs: 0,
  },
  history: {
    env: [
      "HISTORY_HOST", "HISTORY_PORT", "DATABASE_URL", "DATABASE_POOL_MAX", "STATEMENT_TIMEOUT_MS",
      "WORKER_STALE_MS", "WORKER_GONE_MS", "LOG_LEVEL", "IDEMPOTENCY_WINDOW_MS", "IDEMPOTENCY_PURGE_INTERVAL_MS",
      "DATABASE_READ_URL", "DATABASE_READ_POOL_MAX", "PAGE_TOKEN_SECRET", "PARTITION_PREMAKE_DAYS",
      "PARTITION_MAINTENANCE_INTERVAL_MS", "RETENTION_DAYS", "RETENTION_INTERVAL_MS", "RETENTION_BATCH_SIZE",
      "RETENTION_ARCHIVE_DIR", "PARTITION_LOCK_TIMEOUT_MS", "HISTORY_MIGRATE_ON_START", "SECRET_PAYLOAD_KEYS",
      // The second listener, serving the internal ingest RPCs to the scheduler alone.
      "HISTORY_INTERNAL_HOST", "HISTORY_INTERNAL_PORT",
      ...AUTH_AND_TLS,
      ...TRACING,
    ],
    // Two replicas serve one list: they must sign page tokens with one secret.
    required: ["DATABASE_URL", "PAGE_TOKEN_SECRET"],
    hostVar: "HISTORY_HOST",
    portVar: "HISTORY_PORT",
    defaultPort: 50052,
    protocol: "grpc",
    entry: "dist/main.js",
    configFile: "src/config.ts",
    startupProbe: true,
    defaultDrainMs: 0,
  },
  worker: {
    env: [
      "SCHEDULER_URL", "WORKER_ID", "WORKER_QUEUES", "WORKER_CONCURRENCY", "WORKER_HANDLERS", "WORKER_HOST",
      "WORKER_PORT", "SHUTDOWN_GRACE_MS", "LOG_LEVEL", "HTTP_HANDLER_ENABLED", "HTTP_HANDLER_ALLOW", "SECRET_PAYLOAD_KEYS",
      // Towards the scheduler: the bearer token, its CA and the client certificate.
      "SCHEDULER_TOKEN_FILE", "SCHEDULER_CA_FILE", "SCHEDULER_CERT_FILE", "SCHEDULER_KEY_FILE",
      // TLS on its health and metrics port; it serves no RPC that needs an identity.
      "TLS_CERT_FILE", "TLS_KEY_FILE",
      ...TRACING,
    ],
    required: ["SCHEDULER_URL"],
    hostVar: "WORKER_HOST",
    portVar: "WORKER_PORT",
    defaultPort: 50053,
    protocol: "grpc",
    entry: "dist/main.js",
    configFile: "src/config.ts",
    startupProbe: false,
    drainMsVar: "SHUTDOWN_GRACE_MS",
    defaultDrainMs: 25_000,
  },
  dashboard: {
    // It holds no credentials: the browser's token goes through with each call. The CA files
    // verify the services' certificates when the URLs are https; TLS_CERT_FILE and TLS_KEY_FILE
    // serve its own pages over HTTPS.
    env: [
      "DASHBOARD_HOST", "DASHBOARD_PORT", "SCHEDULER_URL", "HISTORY_URL", "SCHEDULER_CA_FILE", "HISTORY_CA_FILE", "LOG_LEVEL",
      "TLS_CERT_FILE", "TLS_KEY_FILE",
    ],
    required: ["SCHEDULER_URL", "HISTORY_URL"],
    hostVar: "DASHBOARD_HOST",
    portVar: "DASHBOARD_PORT",
    defaultPort: 8080,
    protocol: "http",
    entry: "dist/server/main.js",
    configFile: "src/server/config.ts",
    publicUrls: { SCHEDULER_URL: "scheduler", HISTORY_URL: "history" },
    startupProbe: false,
    defaultDrainMs: 0,
  },
};

/** The service an image belongs to: `taskflow/<name>:<tag>` → name; undefined for other images. */
export function taskflowServiceOf(image: string | undefined): string | undefined {
  const match = /^(?:[^/]+\/)*taskflow\/([a-z0-9-]+)(?:[:@].*)?$/.exec(image ?? "");
  return match?.[1];
}

/** Narrows a name to a known TaskFlow service. */
export function isTaskflowService(name: string): name is TaskflowServiceName {
  return Object.hasOwn(TASKFLOW_SERVICES, name);
}
