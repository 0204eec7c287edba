export { HISTORY_DEFAULTS, type HistoryConfig, loadConfig } from "./config.js";
export { migrate, MIGRATION_LOCK_KEY, type MigrateOptions } from "./db/migrate.js";
export { type RunningHistory, startHistory } from "./start-history.js";
export { createHistoryMetrics, type HistoryMetrics } from "./metrics.js";
export { leaseIdOf } from "./mapping/to-proto.js";
