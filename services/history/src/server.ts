import { HistoryAdminService, HistoryIngestService, HistoryService } from "@taskflow/proto";
import { createLogger, type RunningServer, startServer } from "@taskflow/service-kit";
import type { Logger } from "pino";
import type { HistoryConfig } from "./config.js";
import { migrate } from "./db/migrate.js";
import { checkDatabase, createPool, endPool } from "./db/pool.js";
import { StatementTimings, timed } from "./db/statements.js";
import { PartitionMaintenance } from "./loops/partition-maintenance.js";
import { PurgeIdempotencyKeys } from "./loops/purge-idempotency-keys.js";
import { RetentionLoop } from "./loops/retention.js";
import { SampleTableSizes } from "./loops/sample-table-sizes.js";
import { getDatabaseStats } from "./rpc/admin/get-database-stats.js";
import { runRetention } from "./rpc/admin/run-retention.js";
import { appendEvents } from "./rpc/append-events.js";
import type { HistoryDeps } from "./rpc/deps.js";
import { exportAuditTrail } from "./rpc/export-audit-trail.js";
import { PageTokens } from "./rpc/page-token.js";
import { getJob } from "./rpc/get-job.js";
import { getJobStates } from "./rpc/get-job-states.js";
import { getStats } from "./rpc/get-stats.js";
import { getWorker } from "./rpc/get-worker.js";
import { insertJobs } from "./rpc/insert-jobs.js";
import { listJobEvents } from "./rpc/list-job-events.js";
import { listJobs } from "./rpc/list-jobs.js";
import { listUnfinishedJobs } from "./rpc/list-unfinished-jobs.js";
import { listWorkers } from "./rpc/list-workers.js";
import { createTextGuard } from "./rpc/text-guard.js";
import { upsertWorkers } from "./rpc/upsert-workers.js";
import { retentionOptions } from "./retention/options.js";

/**
 * Largest request, in bytes: 16 MiB. InsertJobs carries whatever one SubmitJobs accepted at
 * the scheduler (its own limit is the kit's 4 MiB), plus per-job fields history receives that
 * the caller did not send, so history must accept somewhat more than the scheduler does.
 */
export const HISTORY_READ_MAX_BYTES = 16 * 1024 * 1024;

/** A running history service. */
export interface RunningHistory {
  /** `http://host:port` with the port actually bound. */
  url: string;
  /** Stops the server (letting running calls finish), then closes the database pool. Idempotent. */
  close(): Promise<void>;
}

/**
 * The server half: the three services and the database health check, on one port. Every request
 * first passes the text guard, so no string PostgreSQL would refuse reaches a statement.
 */
export function serveHistory(d: HistoryDeps): Promise<RunningServer> {
  return startServer({
    host: d.config.host,
    port: d.config.port,
    logger: d.logger,
    readMaxBytes: HISTORY_READ_MAX_BYTES,
    health: { check: checkDatabase(d.pool) },
    interceptors: [createTextGuard()],
    services: [
      {
        service: HistoryService,
        impl: {
          getJob: getJob(d),
          listJobs: listJobs(d),
          listJobEvents: listJobEvents(d),
          listWorkers: listWorkers(d),
          getWorker: getWorker(d),
          getStats: getStats(d),
          exportAuditTrail: exportAuditTrail(d),
        },
      },
      {
        service: HistoryIngestService,
        impl: {
          insertJobs: insertJobs(d),
          appendEvents: appendEvents(d),
          upsertWorkers: upsertWorkers(d),
          listUnfinishedJobs: listUnfinishedJobs(d),
          getJobStates: getJobStates(d),
        },
      },
      {
        service: HistoryAdminService,
        impl: { getDatabaseStats: getDatabaseStats(d), runRetention: runRetention(d) },
      },
    ],
  });
}

/**
 * The pools, statement timings and page-token signer of one history process. Nothing connects
 * until the first query.
 */
export function createHistoryDeps(config: HistoryConfig, logger: Logger): HistoryDeps {
  const poolLogger = logger.child({ component: "pool" });
  const pool = createPool(
    { databaseUrl: config.databaseUrl, max: config.databasePoolMax, statementTimeoutMs: config.statementTimeoutMs },
    poolLogger,
  );
  const readPool =
    config.databaseReadUrl === ""
      ? pool
      : createPool(
          { databaseUrl: config.databaseReadUrl, max: config.databaseReadPoolMax, statementTimeoutMs: config.statementTimeoutMs },
          poolLogger.child({ pool: "replica" }),
        );
  if (config.pageTokenSecret === "") {
    logger.warn("PAGE_TOKEN_SECRET is not set: page tokens work only on the replica that issued them, until it restarts");
  }
  const timings = new StatementTimings();
  return {
    pool,
    readPool,
    db: timed(pool, timings),
    readDb: timed(readPool, timings),
    timings,
    pageTokens: new PageTokens(config.pageTokenSecret),
    config,
    logger,
  };
}

/**
 * Opens the database pool, migrates the schema (waiting for another replica that is
 * migrating), serves HistoryService and HistoryIngestService, and purges expired idempotency
 * keys every `IDEMPOTENCY_PURGE_INTERVAL_MS`, and samples table sizes (for GetDatabaseStats'
 * growth) and creates day partitions ahead every `PARTITION_MAINTENANCE_INTERVAL_MS`, and runs
 * retention every `RETENTION_INTERVAL_MS`. Logs `listening` with the
 * url once the port is bound (port 0 picks a free one).
 * @throws Error when PostgreSQL is unreachable, a migration fails or the port cannot be
 *   bound; nothing is left open.
 */
export async function startHistory(config: HistoryConfig, opts: { logger?: Logger } = {}): Promise<RunningHistory> {
  const logger = opts.logger ?? createLogger({ name: "history", level: config.logLevel });
  const d = createHistoryDeps(config, logger);
  const { pool, readPool } = d;
  const endPools = async () => {
    await endPool(pool);
    if (readPool !== pool) await endPool(readPool);
  };
  let server: RunningServer;
  try {
    await migrate(config.databaseUrl, { logger: logger.child({ component: "migrate" }) });
    server = await serveHistory(d);
  } catch (err) {
    await endPools();
    throw err;
  }
  const purge = new PurgeIdempotencyKeys({ pool: d.db, intervalMs: config.idempotencyPurgeIntervalMs, logger });
  purge.start();
  const partitions = new PartitionMaintenance({
    pool: d.pool,
    timings: d.timings,
    premakeDays: config.partitionPremakeDays,
    lockTimeoutMs: config.partitionLockTimeoutMs,
    intervalMs: config.partitionMaintenanceIntervalMs,
    logger,
  });
  partitions.start();
  const retention = new RetentionLoop({ ...retentionOptions(d), intervalMs: config.retentionIntervalMs });
  retention.start();
  const sampler = new SampleTableSizes({
    pool: d.pool,
    timings: d.timings,
    intervalMs: config.partitionMaintenanceIntervalMs,
    logger,
  });
  sampler.start();
  logger.info({ url: server.url }, "listening");
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    try {
      await purge.stop();
      await partitions.stop();
      await retention.stop();
      await sampler.stop();
      await server.close();
    } finally {
      await endPools();
    }
  };
  return { url: server.url, close: () => (closing ??= close()) };
}
