import { ConfigError, createLogger, runService } from "@taskflow/service-kit";
import { loadConfig, type SchedulerConfig } from "./config.js";
import { startScheduler } from "./start-scheduler.js";

let config: SchedulerConfig;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
const logger = createLogger({ name: "scheduler", level: config.logLevel });
runService({ logger, start: () => startScheduler(config, { logger }) });
