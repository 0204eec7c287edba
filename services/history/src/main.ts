import { runService } from "@taskflow/service-kit";
import { loadConfig } from "./config.js";
import { startHistory } from "./start-history.js";

runService({ name: "history", loadConfig, start: startHistory });
