import { ConfigError, createLogger, runService } from "@taskflow/service-kit";
import { type HistoryConfig, loadConfig } from "./config.js";
import { startHistory } from "./server.js";

let config: HistoryConfig;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
const logger = createLogger({ name: "history", level: config.logLevel });
runService({ logger, start: () => startHistory(config, { logger }) });
