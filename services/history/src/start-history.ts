import { createLogger, startAuth } from "@taskflow/service-kit";
import type { Logger } from "pino";
import type { HistoryConfig } from "./config.js";
import { createHistoryDeps, endHistoryPools } from "./create-history-deps.js";
import { createServers, type HistoryServers } from "./create-server.js";
import { assertSchemaCurrent } from "./db/check-schema-current.js";
import { migrate } from "./db/migrate.js";
import { PartitionMaintenance } from "./loops/partition-maintenance.js";
import { PurgeIdempotencyKeys } from "./loops/purge-idempotency-keys.js";
import { RetentionLoop } from "./loops/retention.js";
import { SampleTableSizes } from "./loops/sample-table-sizes.js";
import type { HistoryDeps } from "./rpc/deps.js";
import { retentionOptions } from "./retention/options.js";

/** A running history service. */
export interface RunningHistory {
  /** `http://host:port` with the port actually bound: readers and admins. */
  url: string;
  /** The internal listener's `http://host:port`: the scheduler's HISTORY_URL. */
  internalUrl: string;
  /** Stops the loops, then the server (letting running calls finish), then closes the database pools. Idempotent. */
  close(): Promise<void>;
}

/** A background loop: `start` schedules its runs, `stop` cancels them and waits for the current one. */
interface Loop {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Opens the database pools, migrates the schema (waiting for another replica that is
 * migrating; with `migrateOnStart` false, only checks that it is at the newest version), serves HistoryService, HistoryIngestService and HistoryAdminService, and starts
 * the background loops (see {@link createLoops}). Logs `listening` with the url once the port is
 * bound (port 0 picks a free one).
 * @throws Error when PostgreSQL is unreachable, a migration fails or the port cannot be
 *   bound; {@link SchemaNotCurrentError} when migrations are pending and `migrateOnStart` is
 *   false. Nothing is left open.
 */
export async function startHistory(config: HistoryConfig, opts: { logger?: Logger } = {}): Promise<RunningHistory> {
  const logger = opts.logger ?? createLogger({ name: "history", level: config.logLevel, secretKeys: config.secretPayloadKeys });
  const authenticator = startAuth(config.auth, [config.host, config.internalHost], logger);
  const d = createHistoryDeps(config, logger);
  let servers: HistoryServers;
  try {
    if (config.migrateOnStart) await migrate(config.databaseUrl, { logger: logger.child({ component: "migrate" }) });
    else await assertSchemaCurrent(config.databaseUrl);
    servers = await createServers(d, authenticator);
  } catch (err) {
    authenticator?.close();
    await endHistoryPools(d);
    throw err;
  }
  const loops = createLoops(d);
  for (const loop of loops) loop.start();
  logger.info({ url: servers.public.url, internal_url: servers.internal.url }, "listening");
  const close = async (): Promise<void> => {
    try {
      await Promise.all(loops.map((l) => l.stop()));
      await Promise.all([servers.public.close(), servers.internal.close()]);
    } finally {
      authenticator?.close();
      await endHistoryPools(d);
    }
  };
  let closing: Promise<void> | undefined;
  return { url: servers.public.url, internalUrl: servers.internal.url, close: () => (closing ??= close()) };
}

/**
 * The background loops of one history process: purge expired idempotency keys every
 * `IDEMPOTENCY_PURGE_INTERVAL_MS`; create day partitions ahead and sample table sizes (for
 * GetDatabaseStats' growth) every `PARTITION_MAINTENANCE_INTERVAL_MS`; run retention every
 * `RETENTION_INTERVAL_MS`. Each is safe with several replicas running it at once.
 */
function createLoops(d: HistoryDeps): Loop[] {
  const { config, logger } = d;
  return [
    new PurgeIdempotencyKeys({ pool: d.db, intervalMs: config.idempotencyPurgeIntervalMs, logger }),
    new PartitionMaintenance({
      pool: d.pool,
      timings: d.timings,
      premakeDays: config.partitionPremakeDays,
      lockTimeoutMs: config.partitionLockTimeoutMs,
      intervalMs: config.partitionMaintenanceIntervalMs,
      logger,
    }),
    new RetentionLoop({ ...retentionOptions(d), intervalMs: config.retentionIntervalMs }),
    new SampleTableSizes({ pool: d.pool, timings: d.timings, intervalMs: config.partitionMaintenanceIntervalMs, logger }),
  ];
}
