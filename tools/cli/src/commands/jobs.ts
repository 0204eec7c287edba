import type { Command } from "commander";
import { JobStatus, type Job, type TaskFlowClient } from "@taskflow/client";
import { contextOf } from "../context.js";
import { EXIT_REFUSED } from "../errors.js";
import {
  collect,
  collectJobStatuses,
  durationMs,
  integerIn,
  jsonObject,
  parentFailure,
  pointInTime,
  toJobFilter,
  toSubmitInput,
  type ListOptions,
  type SubmitOptions,
} from "../parse-options.js";
import { jobJson, renderEvents, renderJob, renderJobTable, statusName } from "./render-job.js";

/** Ends the command with exit code 1 when the job ended FAILED or CANCELLED. */
export function exitByStatus(job: Job): void {
  if (job.status !== JobStatus.COMPLETED) process.exitCode = EXIT_REFUSED;
}

/** Adds `submit`, `get`, `list` and `cancel` (`watch` is in watch.ts). */
export function addJobCommands(program: Command): void {
  program
    .command("submit")
    .description("submit a job (with --wait, wait until it ends and print it; exit 1 if it failed or was cancelled)")
    .argument("<type>", "job type, the handler's name (e.g. echo)")
    .option("--payload <json>", "the handler's input, a JSON object", jsonObject)
    .option("--queue <queue>", "queue (default: default)")
    .option("--priority <n>", "0 to 1000; higher runs first in its queue", integerIn(0, 1000))
    .option("--delay <duration>", "run no earlier than this from now (5s, 2m, 1h)", durationMs)
    .option("--run-at <time>", "run no earlier than this ISO 8601 time", (t) => pointInTime(t))
    .option("--max-attempts <n>", "attempts before the job fails for good (1 to 100)", integerIn(1, 100))
    .option("--timeout <duration>", "time limit of one attempt (30s, 5m)", durationMs)
    .option("--idempotency-key <key>", "a second submit with the same key returns the first job")
    .option("--depends-on <ids>", "run only after these jobs end (ids, repeatable, or comma-separated)", collect)
    .option("--on-parent-failure <policy>", "when a parent fails or is cancelled: fail (default), cancel or run", parentFailure)
    .option("--wait", "wait until the job ends, then print it")
    .option("--wait-timeout <duration>", "give up waiting after this long", durationMs, 60_000)
    .action(async (type: string, options: SubmitOptions & { wait?: boolean; waitTimeout: number }, command: Command) => {
      const ctx = contextOf(command);
      const input = toSubmitInput(type, options);
      await ctx.withClient(async (client) => {
        const submitted = await client.submit(input);
        const job = options.wait === true ? await client.waitFor(submitted.id, { timeoutMs: options.waitTimeout }) : submitted;
        ctx.print(jobJson(job), () => renderJob(job));
        if (options.wait === true) exitByStatus(job);
      });
    });

  program
    .command("get")
    .description("show a job, and with --events its audit trail")
    .argument("<id>", "job id")
    .option("--events", "add the job's audit trail")
    .action(async (id: string, options: { events?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const job = await client.get(id);
        const events = options.events === true ? await client.events(id) : undefined;
        ctx.print(jobJson(job, events), () => renderJob(job) + (events === undefined ? "" : `\n${renderEvents(events)}`));
      });
    });

  program
    .command("list")
    .description("list jobs from history, newest first; filters combine with AND")
    .option("--status <status>", "pending, processing, completed, failed or cancelled (repeatable, or comma-separated)", collectJobStatuses)
    .option("--type <type>", "job type (repeatable, or comma-separated)", collect)
    .option("--queue <queue>", "queue (repeatable, or comma-separated)", collect)
    .option("--worker <id>", "jobs whose latest attempt ran on this worker")
    .option("--schedule <id>", "runs of this schedule")
    .option("--created-from <time>", "created at or after (ISO 8601, or a duration ago: 2h)", (t) => pointInTime(t))
    .option("--created-to <time>", "created before", (t) => pointInTime(t))
    .option("--finished-from <time>", "ended at or after", (t) => pointInTime(t))
    .option("--finished-to <time>", "ended before", (t) => pointInTime(t))
    .option("--payload-contains <json>", "payload contains this JSON object", jsonObject)
    .option("--text <query>", "full-text search of payload values and errors (web search syntax)")
    .option("--attempts-above <n>", "jobs with more attempts than this", integerIn(0, 1000))
    .option("--oldest", "oldest first")
    .option("--limit <n>", "at most this many jobs", integerIn(1, 1_000_000), 20)
    .action(async (options: ListOptions, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const jobs = await firstJobs(client, options);
        ctx.print({ jobs: jobs.map((j) => jobJson(j)) }, () => {
          const more = jobs.length === options.limit ? `(the first ${jobs.length}; --limit shows more)\n` : "";
          return renderJobTable(jobs) + more;
        });
      });
    });

  program
    .command("cancel")
    .description("cancel a pending or running job (a running one stays PROCESSING until its worker stops)")
    .argument("<id>", "job id")
    .option("--reason <reason>", "why, kept in the audit trail")
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const answer = await client.cancel(id, options.reason);
        const status = statusName(answer);
        ctx.print({ id: answer.id, status }, () => `${answer.id}  ${status}\n`);
      });
    });
}

/** The first `options.limit` jobs matching the options, page after page. */
async function firstJobs(client: TaskFlowClient, options: ListOptions): Promise<Job[]> {
  const jobs: Job[] = [];
  if (options.limit <= 0) return jobs;
  for await (const job of client.listAll(toJobFilter(options))) {
    jobs.push(job);
    if (jobs.length >= options.limit) break;
  }
  return jobs;
}

