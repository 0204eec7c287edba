import { ConfigError, createLogger, runService } from "@taskflow/service-kit";
import { loadConfig, type WorkerConfig } from "./config.js";
import { startWorkerService } from "./start-worker-service.js";

let config: WorkerConfig;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const logger = createLogger({ name: "worker", level: config.logLevel });
runService({ logger, start: () => startWorkerService(config, { logger }) });
