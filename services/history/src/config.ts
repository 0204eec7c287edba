import { ConfigReader, LOG_LEVELS } from "@taskflow/service-kit";

/** Settings of the history service; {@link loadConfig} is the only reader of the environment. */
export interface HistoryConfig {
  /** Interface the gRPC/Connect server binds to (`HISTORY_HOST`). */
  readonly host: string;
  /** Port of the server; 0 picks a free one (`HISTORY_PORT`). */
  readonly port: number;
  /** PostgreSQL connection string (`DATABASE_URL`). */
  readonly databaseUrl: string;
  /** Most connections the pool opens (`DATABASE_POOL_MAX`). */
  readonly databasePoolMax: number;
  /** Server-side limit of one statement, in milliseconds (`STATEMENT_TIMEOUT_MS`). */
  readonly statementTimeoutMs: number;
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
  /** pino level (`LOG_LEVEL`). */
  readonly logLevel: string;
}

/** Defaults, fixed project-wide. */
export const HISTORY_DEFAULTS: HistoryConfig = Object.freeze({
  host: "127.0.0.1",
  port: 50052,
  databaseUrl: "postgres://postgres@127.0.0.1:5432/taskflow",
  databasePoolMax: 10,
  statementTimeoutMs: 30_000,
  workerStaleMs: 30_000,
  workerGoneMs: 300_000,
  idempotencyWindowMs: 86_400_000,
  idempotencyPurgeIntervalMs: 60_000,
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
    databaseUrl: r.url("DATABASE_URL", d.databaseUrl),
    databasePoolMax: r.int("DATABASE_POOL_MAX", d.databasePoolMax, { min: 1, max: 1_000 }),
    statementTimeoutMs: r.int("STATEMENT_TIMEOUT_MS", d.statementTimeoutMs, { min: 1 }),
    workerStaleMs: r.int("WORKER_STALE_MS", d.workerStaleMs, { min: 1 }),
    workerGoneMs: r.int("WORKER_GONE_MS", d.workerGoneMs, { min: 1 }),
    idempotencyWindowMs: r.int("IDEMPOTENCY_WINDOW_MS", d.idempotencyWindowMs, { min: 1 }),
    idempotencyPurgeIntervalMs: r.int("IDEMPOTENCY_PURGE_INTERVAL_MS", d.idempotencyPurgeIntervalMs, {
      min: 10,
      max: 86_400_000,
    }),
    logLevel: r.oneOf<string>("LOG_LEVEL", d.logLevel, LOG_LEVELS),
  };
  r.done();
  return Object.freeze(config);
}
