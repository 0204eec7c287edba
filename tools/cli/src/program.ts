import { readFileSync } from "node:fs";
import { Command } from "commander";
import { addAuditCommands } from "./commands/audit.js";
import { addJobCommands } from "./commands/jobs.js";
import { addWatchCommand } from "./commands/watch.js";
import { addQueueCommands } from "./commands/queues.js";
import { addRedriveCommands } from "./commands/redrive.js";
import { addScheduleCommands } from "./commands/schedules.js";
import { addStatsCommands } from "./commands/stats.js";
import { addWorkerCommands } from "./commands/workers.js";
import { DEFAULT_HISTORY_URL, DEFAULT_SCHEDULER_URL } from "./context.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

/**
 * The `taskflow` program: global options and every command. It throws instead of exiting
 * (commander's exitOverride), so that cli.ts picks the exit code.
 */
export function createProgram(): Command {
  const program = new Command("taskflow")
    .description("Submit, inspect and manage TaskFlow jobs, queues, schedules and workers.")
    .version(version)
    .option("--scheduler <url>", `scheduler URL (env TASKFLOW_SCHEDULER_URL, default ${DEFAULT_SCHEDULER_URL})`)
    .option("--history <url>", `history URL (env TASKFLOW_HISTORY_URL, default ${DEFAULT_HISTORY_URL})`)
    .option("--token <token>", "bearer token sent with every call (env TASKFLOW_TOKEN)")
    .option("--json", "print one JSON document instead of text")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");
  addJobCommands(program);
  addRedriveCommands(program);
  addWatchCommand(program);
  addQueueCommands(program);
  addScheduleCommands(program);
  addWorkerCommands(program);
  addStatsCommands(program);
  addAuditCommands(program);
  return program;
}
