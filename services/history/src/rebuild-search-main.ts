import { ConfigError, createLogger } from "@taskflow/service-kit";
import { type HistoryConfig, loadConfig } from "./config.js";
import { createPool, endPool } from "./db/pool.js";
import { rebuildSearch } from "./rebuild-search.js";

/** Jobs read per statement. */
const BATCH_SIZE = 1_000;

/**
 * `node services/history/dist/rebuild-search-main.js`: rebuilds the search vectors of stored jobs
 * (see rebuildSearch) with history's own configuration (`DATABASE_URL`, `SECRET_PAYLOAD_KEYS`,
 * `STATEMENT_TIMEOUT_MS`, `LOG_LEVEL`), then exits 0; 1 on a bad configuration or a failure.
 * SIGINT or SIGTERM stops it after the current batch.
 */
async function main(config: HistoryConfig): Promise<number> {
  const logger = createLogger({ name: "history-rebuild-search", level: config.logLevel, secretKeys: config.secretPayloadKeys });
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 1, statementTimeoutMs: config.statementTimeoutMs }, logger);
  const stop = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
  try {
    await rebuildSearch(pool, { batchSize: BATCH_SIZE, secretKeys: config.secretPayloadKeys, signal: stop.signal }, logger);
    return 0;
  } catch (err) {
    logger.error({ err }, "search vector rebuild failed");
    return 1;
  } finally {
    await endPool(pool);
  }
}

try {
  process.exitCode = await main(loadConfig());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
}
