import { runService } from "@taskflow/service-kit";
import { loadConfig } from "./config.js";
import { startScheduler } from "./start-scheduler.js";

runService({ name: "scheduler", loadConfig, start: startScheduler });
