import type pg from "pg";
import type { Logger } from "pino";
import type { HistoryConfig } from "../config.js";

/** What every handler uses. */
export interface HistoryDeps {
  pool: pg.Pool;
  config: HistoryConfig;
  logger: Logger;
}
