import { runService } from "@taskflow/service-kit";
import { loadConfig } from "./config.js";
import { startWorkerService } from "./start-worker-service.js";

runService({ name: "worker", loadConfig, start: startWorkerService });
