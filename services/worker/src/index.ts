export { loadConfig, type WorkerConfig } from "./config.js";
export { builtInHandlerNames, builtInHandlers, type BuiltInHandlerName } from "./handlers/index.js";
export { startWorkerService, type RunningWorkerService } from "./start-worker-service.js";
export { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
