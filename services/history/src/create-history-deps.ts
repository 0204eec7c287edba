import type { Logger } from "pino";
import type { HistoryConfig } from "./config.js";
import { JobFeed } from "./db/job-feed.js";
import { JobWatchHub } from "./db/job-notifications.js";
import { createPool, endPool } from "./db/pool.js";
import { StatementTimings, timed } from "./db/statements.js";
import { createHistoryMetrics } from "./metrics.js";
import type { HistoryDeps } from "./rpc/deps.js";
import { PageTokens } from "./rpc/page-token.js";

/**
 * The pools, statement timings, metrics and page-token signer of one history process. Nothing connects
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
  const db = timed(pool, timings);
  const watch = new JobWatchHub(config.databaseUrl, logger.child({ component: "watch" }));
  return {
    pool,
    readPool,
    db,
    readDb: timed(readPool, timings),
    timings,
    // The replica's pool is reported apart only when there is one.
    metrics: createHistoryMetrics(readPool === pool ? { primary: pool } : { primary: pool, replica: readPool }),
    pageTokens: new PageTokens(config.pageTokenSecret),
    watch,
    feed: new JobFeed(watch, db, logger.child({ component: "watch-jobs" })),
    config,
    logger,
  };
}

/** Ends the pools and the watch connection of {@link createHistoryDeps} and resolves once their connections are closed. */
export async function endHistoryPools(d: Pick<HistoryDeps, "pool" | "readPool" | "watch">): Promise<void> {
  await d.watch.close();
  await endPool(d.pool);
  if (d.readPool !== d.pool) await endPool(d.readPool);
}
