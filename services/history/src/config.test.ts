import { ConfigError } from "@taskflow/service-kit";
import { describe, expect, it } from "vitest";
import { HISTORY_DEFAULTS, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("uses the project-wide defaults", () => {
    const config = loadConfig({});
    expect(config).toEqual(HISTORY_DEFAULTS);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads every variable", () => {
    expect(
      loadConfig({
        HISTORY_HOST: "0.0.0.0",
        HISTORY_PORT: "0",
        HISTORY_INTERNAL_PORT: "50060",
        AUTH_TOKENS_FILE: "/etc/taskflow/tokens",
        DATABASE_URL: "postgres://u@db:5432/tf",
        DATABASE_POOL_MAX: "20",
        STATEMENT_TIMEOUT_MS: "5000",
        DATABASE_READ_URL: "postgres://u@replica:5432/tf",
        DATABASE_READ_POOL_MAX: "30",
        PAGE_TOKEN_SECRET: "0123456789abcdef0123",
        PARTITION_PREMAKE_DAYS: "14",
        PARTITION_MAINTENANCE_INTERVAL_MS: "60000",
        RETENTION_DAYS: "90",
        RETENTION_INTERVAL_MS: "30000",
        RETENTION_BATCH_SIZE: "500",
        RETENTION_ARCHIVE_DIR: "/var/lib/taskflow/archive",
        PARTITION_LOCK_TIMEOUT_MS: "1500",
        WORKER_STALE_MS: "10000",
        WORKER_GONE_MS: "60000",
        IDEMPOTENCY_WINDOW_MS: "3600000",
        IDEMPOTENCY_PURGE_INTERVAL_MS: "5000",
        SECRET_PAYLOAD_KEYS: "token, iban",
        HISTORY_MIGRATE_ON_START: "false",
        LOG_LEVEL: "debug",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector:4318",
        OTEL_SERVICE_NAME: "taskflow-history",
      }),
    ).toEqual({
      host: "0.0.0.0",
      port: 0,
      // The internal listener binds where the public one does unless told otherwise.
      internalHost: "0.0.0.0",
      internalPort: 50_060,
      auth: { ...HISTORY_DEFAULTS.auth, tokensFile: "/etc/taskflow/tokens" },
      tls: HISTORY_DEFAULTS.tls,
      databaseUrl: "postgres://u@db:5432/tf",
      databasePoolMax: 20,
      statementTimeoutMs: 5_000,
      databaseReadUrl: "postgres://u@replica:5432/tf",
      databaseReadPoolMax: 30,
      pageTokenSecret: "0123456789abcdef0123",
      partitionPremakeDays: 14,
      partitionMaintenanceIntervalMs: 60_000,
      retentionDays: 90,
      retentionIntervalMs: 30_000,
      retentionBatchSize: 500,
      retentionArchiveDir: "/var/lib/taskflow/archive",
      partitionLockTimeoutMs: 1_500,
      workerStaleMs: 10_000,
      workerGoneMs: 60_000,
      idempotencyWindowMs: 3_600_000,
      idempotencyPurgeIntervalMs: 5_000,
      secretPayloadKeys: ["token", "iban"],
      migrateOnStart: false,
      logLevel: "debug",
      tracing: { otlpEndpoint: "http://otel-collector:4318", serviceName: "taskflow-history" },
    });
  });

  it("reports every bad variable at once", () => {
    let error: unknown;
    try {
      loadConfig({
        HISTORY_PORT: "70000",
        DATABASE_URL: "not a url",
        DATABASE_POOL_MAX: "0",
        IDEMPOTENCY_WINDOW_MS: "0",
        IDEMPOTENCY_PURGE_INTERVAL_MS: "soon",
        SECRET_PAYLOAD_KEYS: "token,_",
        HISTORY_MIGRATE_ON_START: "no",
        LOG_LEVEL: "loud",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    const names = ["HISTORY_PORT", "DATABASE_URL", "DATABASE_POOL_MAX", "IDEMPOTENCY_WINDOW_MS", "IDEMPOTENCY_PURGE_INTERVAL_MS", "SECRET_PAYLOAD_KEYS", "HISTORY_MIGRATE_ON_START", "LOG_LEVEL"];
    for (const name of names) expect(message).toContain(name);
  });
});
