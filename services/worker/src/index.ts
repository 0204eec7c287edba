export { loadConfig, type WorkerConfig } from "./config.js";
export { builtInHandlerNames, createBuiltInHandlers, type BuiltInHandlerName } from "./handlers/index.js";
export { parseAllowlist, type AllowEntry } from "./handlers/destination-policy.js";
export { startWorkerService, type RunningWorkerService } from "./start-worker-service.js";
export { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
