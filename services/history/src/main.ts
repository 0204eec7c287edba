import { runService } from "@taskflow/service-kit";
import { loadConfig } from "./config.js";
import { startHistory } from "./server.js";

runService({ name: "history", loadConfig, start: startHistory });
