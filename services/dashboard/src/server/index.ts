export { loadDashboardConfig, type DashboardConfig } from "./config.js";
export { startDashboardServer, type DashboardServer } from "./dashboard-server.js";
export { FORWARDED_SERVICES, upstreamOf } from "./routes.js";
export { APP_DIR } from "./app-dir.js";
