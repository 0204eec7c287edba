import { runService } from "@taskflow/service-kit";
import { APP_DIR } from "./app-dir.js";
import { loadDashboardConfig } from "./config.js";
import { startDashboardServer } from "./dashboard-server.js";

runService({ name: "dashboard", loadConfig: loadDashboardConfig, start: (config, { logger }) => startDashboardServer(config, APP_DIR, logger) });
