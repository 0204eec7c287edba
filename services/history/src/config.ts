import { ConfigReader, DEFAULT_SECRET_PAYLOAD_KEYS, LOG_LEVELS, readAuthConfig, readTlsFiles, readTracingConfig, TRACING_OFF, type AuthConfig, type TracingConfig } from "@taskflow/service-kit";

/** Settings of the history service; {@link loadConfig} is the only reader of the environment. */
export interface HistoryConfig {
  /** Interface the gRPC/Connect server binds to (`HISTORY_HOST`). */
  readonly host: string;
  /** Port of the server; 0 picks a free one (`HISTORY_PORT`). */
  readonly port: number;
  /** Interface of the internal listener, which alone serves the scheduler's ingest calls (`HISTORY_INTERNAL_HOST`, default `HISTORY_HOST`). */
  readonly internalHost: string;
  /** Port of the internal listener; 0 picks a free one (`HISTORY_INTERNAL_PORT`). */
  readonly internalPort: number;
  /** Who may call (AUTH_* and TLS_CLIENT_CA_FILE). */
  readonly auth: AuthConfig;
  /** Both listeners' certificate and key (TLS_CERT_FILE, TLS_KEY_FILE); empty: h2c in the clear. */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  /** Where spans go (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME); no endpoint: tracing off. */
  readonly tracing: TracingConfig;
  /** PostgreSQL connection string (`DATABASE_URL`). */
  readonly databaseUrl: string;
  /** Most connections the pool opens (`DATABASE_POOL_MAX`). */
  readonly databasePoolMax: number;
  /** Server-side limit of one statement, in milliseconds (`STATEMENT_TIMEOUT_MS`). */
  readonly statementTimeoutMs: number;
  /**
   * Connection string of a read-only replica that serves ListJobs, GetStats, ListWorkers,
   * GetWorker and ExportAuditTrail (`DATABASE_READ_URL`); empty means the primary serves them.
   */
  readonly databaseReadUrl: string;
  /** Most connections the replica pool opens (`DATABASE_READ_POOL_MAX`). */
  readonly databaseReadPoolMax: number;
  /**
   * Secret that signs page tokens (`PAGE_TOKEN_SECRET`), at least 16 characters; every replica
   * must share it. Empty means a random secret per process: tokens then work only on the
   * replica that issued them, until it restarts.
   */
  readonly pageTokenSecret: string;
  /** Days of partitions kept created ahead of today (`PARTITION_PREMAKE_DAYS`). */
  readonly partitionPremakeDays: number;
  /** Period of partition upkeep and database size sampling, in milliseconds (`PARTITION_MAINTENANCE_INTERVAL_MS`). */
  readonly partitionMaintenanceIntervalMs: number;
  /**
   * Finished jobs older than this many days (by completed_at) are archived or removed
   * (`RETENTION_DAYS`); 0 keeps them forever.
   */
  readonly retentionDays: number;
  /** Period of the retention loop, in milliseconds (`RETENTION_INTERVAL_MS`). */
  readonly retentionIntervalMs: number;
  /** Jobs removed per statement when retention deletes row by row (`RETENTION_BATCH_SIZE`). */
  readonly retentionBatchSize: number;
  /**
   * Directory retention writes gzipped NDJSON archives to before removing jobs
   * (`RETENTION_ARCHIVE_DIR`); empty means jobs are dropped without an archive.
   */
  readonly retentionArchiveDir: string;
  /**
   * Longest wait for the lock that dropping or creating a partition takes, in milliseconds
   * (`PARTITION_LOCK_TIMEOUT_MS`); on timeout the work is retried at the next run.
   */
  readonly partitionLockTimeoutMs: number;
  /** A worker silent for longer than this, in milliseconds, is STALE (`WORKER_STALE_MS`). */
  readonly workerStaleMs: number;
  /** A worker silent for longer than this, in milliseconds, is GONE (`WORKER_GONE_MS`). */
  readonly workerGoneMs: number;
  /**
   * How long an idempotency key returns its original job, in milliseconds
   * (`IDEMPOTENCY_WINDOW_MS`). History owns the window, so scheduler replicas cannot disagree on it.
   */
  readonly idempotencyWindowMs: number;
  /** Period of the purge of expired idempotency keys, in milliseconds (`IDEMPOTENCY_PURGE_INTERVAL_MS`). */
  readonly idempotencyPurgeIntervalMs: number;
  /**
   * Payload key names whose values are secrets (`SECRET_PAYLOAD_KEYS`): a key whose name contains
   * one of them, compared in lower case without `-`, `_` and spaces, contributes nothing to the
   * full-text search vector, at any depth, and is masked in logs.
   */
  readonly secretPayloadKeys: readonly string[];
  /**
   * Whether start-up applies pending migrations (`HISTORY_MIGRATE_ON_START`, `true` or `false`).
   * When false, migrations are run apart (`dist/migrate-main.js`, with a user allowed DDL) and
   * start-up only checks that the schema is at the newest version, refusing to serve otherwise.
   */
  readonly migrateOnStart: boolean;
  /** pino level (`LOG_LEVEL`). */
  readonly logLevel: string;
}

/** Defaults, fixed project-wide. */
export const HISTORY_DEFAULTS: HistoryConfig = Object.freeze({
  host: "127.0.0.1",
  port: 50052,
  internalHost: "127.0.0.1",
  internalPort: 50054,
  auth: Object.freeze({
    tokensFile: "",
    jwksFile: "",
    jwtIssuer: "",
    jwtAudience: "",
    jwtRolesClaim: "roles",
    clientCaFile: "",
    disabled: false,
  }),
  tls: Object.freeze({ certFile: "", keyFile: "" }),
  tracing: TRACING_OFF,
  databaseUrl: "postgres://postgres@127.0.0.1:5432/taskflow",
  databasePoolMax: 10,
  statementTimeoutMs: 30_000,
  databaseReadUrl: "",
  databaseReadPoolMax: 10,
  pageTokenSecret: "",
  partitionPremakeDays: 7,
  partitionMaintenanceIntervalMs: 3_600_000,
  retentionDays: 30,
  retentionIntervalMs: 600_000,
  retentionBatchSize: 1_000,
  retentionArchiveDir: "",
  partitionLockTimeoutMs: 2_000,
  workerStaleMs: 30_000,
  workerGoneMs: 300_000,
  idempotencyWindowMs: 86_400_000,
  idempotencyPurgeIntervalMs: 60_000,
  secretPayloadKeys: DEFAULT_SECRET_PAYLOAD_KEYS,
  migrateOnStart: true,
  logLevel: "info",
});

/**
 * Reads the history settings from `env`.
 * @throws {ConfigError} listing every invalid variable at once.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): HistoryConfig {
  const r = new ConfigReader(env);
  const d = HISTORY_DEFAULTS;
  const config: HistoryConfig = {
    host: r.string("HISTORY_HOST", d.host),
    port: r.int("HISTORY_PORT", d.port, { min: 0, max: 65_535 }),
    internalHost: r.string("HISTORY_INTERNAL_HOST", r.string("HISTORY_HOST", d.internalHost)),
    internalPort: r.int("HISTORY_INTERNAL_PORT", d.internalPort, { min: 0, max: 65_535 }),
    auth: readAuthConfig(r),
    tls: readTlsFiles(r),
    tracing: readTracingConfig(r),
    databaseUrl: r.url("DATABASE_URL", d.databaseUrl),
    databasePoolMax: r.int("DATABASE_POOL_MAX", d.databasePoolMax, { min: 1, max: 1_000 }),
    statementTimeoutMs: r.int("STATEMENT_TIMEOUT_MS", d.statementTimeoutMs, { min: 1 }),
    databaseReadUrl: r.url("DATABASE_READ_URL", d.databaseReadUrl),
    databaseReadPoolMax: r.int("DATABASE_READ_POOL_MAX", d.databaseReadPoolMax, { min: 1, max: 1_000 }),
    pageTokenSecret: r.secret("PAGE_TOKEN_SECRET", d.pageTokenSecret, 16),
    partitionPremakeDays: r.int("PARTITION_PREMAKE_DAYS", d.partitionPremakeDays, { min: 1, max: 366 }),
    partitionMaintenanceIntervalMs: r.int("PARTITION_MAINTENANCE_INTERVAL_MS", d.partitionMaintenanceIntervalMs, {
      min: 10,
      max: 86_400_000,
    }),
    retentionDays: r.int("RETENTION_DAYS", d.retentionDays, { min: 0, max: 36_500 }),
    retentionIntervalMs: r.int("RETENTION_INTERVAL_MS", d.retentionIntervalMs, { min: 10, max: 86_400_000 }),
    retentionBatchSize: r.int("RETENTION_BATCH_SIZE", d.retentionBatchSize, { min: 1, max: 100_000 }),
    retentionArchiveDir: r.string("RETENTION_ARCHIVE_DIR", d.retentionArchiveDir),
    partitionLockTimeoutMs: r.int("PARTITION_LOCK_TIMEOUT_MS", d.partitionLockTimeoutMs, { min: 1, max: 600_000 }),
    workerStaleMs: r.int("WORKER_STALE_MS", d.workerStaleMs, { min: 1 }),
    workerGoneMs: r.int("WORKER_GONE_MS", d.workerGoneMs, { min: 1 }),
    idempotencyWindowMs: r.int("IDEMPOTENCY_WINDOW_MS", d.idempotencyWindowMs, { min: 1 }),
    idempotencyPurgeIntervalMs: r.int("IDEMPOTENCY_PURGE_INTERVAL_MS", d.idempotencyPurgeIntervalMs, {
      min: 10,
      max: 86_400_000,
    }),
    secretPayloadKeys: r.keyNames("SECRET_PAYLOAD_KEYS", DEFAULT_SECRET_PAYLOAD_KEYS),
    migrateOnStart: r.oneOf("HISTORY_MIGRATE_ON_START", String(d.migrateOnStart), ["true", "false"]) === "true",
    logLevel: r.oneOf<string>("LOG_LEVEL", d.logLevel, LOG_LEVELS),
  };
  r.done();
  return Object.freeze(config);
}
