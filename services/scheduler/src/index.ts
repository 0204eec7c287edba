export { loadConfig, type SchedulerConfig } from "./config.js";
export { startScheduler, type RunningScheduler } from "./start-scheduler.js";
export { createSchedulerMetrics, type SchedulerMetrics } from "./metrics.js";
