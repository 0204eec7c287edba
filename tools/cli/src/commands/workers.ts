import type { Command } from "commander";
import type { Worker, WorkerStatus } from "@taskflow/client";
import { WorkerSchema, WorkerStatusSchema } from "@taskflow/proto";
import { contextOf } from "../context.js";
import { enumName, fields, messageJson, table, time } from "../format.js";
import { collectWorkerStatuses } from "../parse-options.js";

const workerJson = (worker: Worker): unknown => messageJson(WorkerSchema, worker);

/** One worker as aligned label/value lines. */
function renderWorker(w: Worker): string {
  return fields([
    ["id", w.id],
    ["status", enumName(WorkerStatusSchema, w.status)],
    ["hostname", w.hostname],
    ["queues", w.queues.join(", ")],
    ["job types", w.jobTypes.join(", ")],
    ["concurrency", String(w.concurrency)],
    ["running", w.currentJobIds.length === 0 ? "none" : w.currentJobIds.join(", ")],
    ["completed", String(w.jobsCompleted)],
    ["failed", String(w.jobsFailed)],
    ["started", time(w.startedAt)],
    ["last seen", time(w.lastSeenAt)],
    ...Object.entries(w.metadata).map(([key, value]): [string, string] => [`metadata ${key}`, value]),
  ]);
}

/** Workers as a table, one line each. */
function renderWorkerTable(workers: Worker[]): string {
  return table(
    ["WORKER", "STATUS", "QUEUES", "RUNNING", "CONCURRENCY", "COMPLETED", "FAILED", "LAST SEEN"],
    workers.map((w) => [
      w.id,
      enumName(WorkerStatusSchema, w.status),
      w.queues.join(","),
      String(w.currentJobIds.length),
      String(w.concurrency),
      String(w.jobsCompleted),
      String(w.jobsFailed),
      time(w.lastSeenAt) ?? "",
    ]),
    "(no workers)",
  );
}

/** Adds `workers` and `worker`. */
export function addWorkerCommands(program: Command): void {
  program
    .command("workers")
    .description("every known worker with its health")
    .option("--status <status>", "healthy, stale or gone (repeatable, or comma-separated)", collectWorkerStatuses)
    .action(async (options: { status?: WorkerStatus[] }, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const workers = await client.workers({ statuses: options.status });
        ctx.print({ workers: workers.map(workerJson) }, () => renderWorkerTable(workers));
      });
    });

  program
    .command("worker")
    .description("one worker: health, running jobs, attempts completed and failed")
    .argument("<id>", "worker id")
    .action(async (id: string, _options: object, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const worker = await client.worker(id);
        ctx.print(workerJson(worker), () => renderWorker(worker));
      });
    });
}
