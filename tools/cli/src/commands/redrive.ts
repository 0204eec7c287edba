import type { Command } from "commander";
import { ParkedEventSchema } from "@taskflow/proto";
import type { ParkedEvent, RetryFilter, TaskFlowClient } from "@taskflow/client";
import { contextOf } from "../context.js";
import { UsageError } from "../errors.js";
import { messageJson, table, time, truncate } from "../format.js";
import { collect, collectJobStatuses, integerIn, pointInTime } from "../parse-options.js";
import { jobJson, renderJob, renderJobTable } from "./render-job.js";

/** Options of `taskflow retry` without an id, as commander gives them. */
interface RetryOptions {
  status?: RetryFilter["statuses"];
  queue?: string[];
  type?: string[];
  finishedFrom?: Date;
  finishedTo?: Date;
  text?: string;
  limit?: number;
  dryRun?: boolean;
}

/** Adds `retry` and `dead-letters`. */
export function addRedriveCommands(program: Command): void {
  program
    .command("retry")
    .description("put a failed or cancelled job back with fresh attempts; without an id, the jobs a filter selects (at most --limit per call, up to 1000)")
    .argument("[id]", "job id")
    .option("--status <status>", "failed or cancelled (repeatable, or comma-separated; default both)", collectJobStatuses)
    .option("--queue <queue>", "queue (repeatable, or comma-separated)", collect)
    .option("--type <type>", "job type (repeatable, or comma-separated)", collect)
    .option("--finished-from <time>", "ended at or after (ISO 8601, or a duration ago: 2h)", (t) => pointInTime(t))
    .option("--finished-to <time>", "ended before", (t) => pointInTime(t))
    .option("--text <query>", "full-text search of errors and payload values (web search syntax)")
    .option("--limit <n>", "at most this many jobs (1 to 1000, default 100)", integerIn(1, 1000))
    .option("--dry-run", "list the jobs that would be retried, change nothing")
    .action(async (id: string | undefined, options: RetryOptions, command: Command) => {
      const ctx = contextOf(command);
      const filter = toRetryFilter(options);
      if (id !== undefined && filter !== undefined) throw new UsageError("give a job id or filter options, not both");
      if (id === undefined && filter === undefined) throw new UsageError("give a job id, or at least one of --status, --queue, --type, --finished-from, --finished-to, --text");
      await ctx.withClient(async (client) => {
        if (id !== undefined) {
          const job = await client.retry(id);
          ctx.print(jobJson(job), () => renderJob(job));
          return;
        }
        const res = await client.retryJobs({ ...filter, limit: options.limit, dryRun: options.dryRun === true });
        ctx.print({ jobs: res.jobs.map((j) => jobJson(j)), more: res.more, dryRun: options.dryRun === true }, () => {
          const verb = options.dryRun === true ? "would retry" : "retried";
          const more = res.more ? "more jobs match: run it again (or raise --limit)\n" : "";
          return `${verb} ${res.jobs.length} job(s)\n${renderJobTable(res.jobs)}${more}`;
        });
      });
    });

  program
    .command("dead-letters")
    .description("failed jobs and parked outbox entries (events history refused); --replay sends the parked entries to history again")
    .option("--queue <queue>", "only these queues (repeatable, or comma-separated; default: every queue)", collect)
    .option("--limit <n>", "at most this many failed jobs", integerIn(1, 500), 50)
    .option("--replay", "replay the parked entries of the queues listed")
    .action(async (options: { queue?: string[]; limit: number; replay?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const dead = await client.deadLetters({ queues: options.queue, limit: options.limit });
        const replayed = options.replay === true ? await replayAll(client, dead.parked) : undefined;
        ctx.print(
          { failed: dead.failed.map((j) => jobJson(j)), moreFailed: dead.moreFailed, parked: dead.parked.map((e) => messageJson(ParkedEventSchema, e)), replayed },
          () => renderDeadLetters(dead.failed.length > 0, renderJobTable(dead.failed), dead.parked, replayed),
        );
      });
    });
}

function toRetryFilter(o: RetryOptions): Omit<RetryFilter, "limit" | "dryRun"> | undefined {
  const finished = o.finishedFrom !== undefined || o.finishedTo !== undefined ? { from: o.finishedFrom, to: o.finishedTo } : undefined;
  const filter = { statuses: o.status, queues: o.queue, types: o.type, finished, text: o.text };
  return Object.values(filter).some((v) => v !== undefined) ? filter : undefined;
}

/** What a replay of every queue's parked entries did. */
interface Replayed {
  replayed: number;
  stillParked: number;
}

async function replayAll(client: TaskFlowClient, parked: readonly ParkedEvent[]): Promise<Replayed> {
  const byQueue = new Map<string, string[]>();
  for (const e of parked) byQueue.set(e.queue, [...(byQueue.get(e.queue) ?? []), e.entryId]);
  const total = { replayed: 0, stillParked: 0 };
  for (const [queue, ids] of byQueue) {
    // ReplayParkedEvents takes at most 1000 entries per call.
    for (let i = 0; i < ids.length; i += 1_000) {
      const res = await client.replayParkedEvents(queue, ids.slice(i, i + 1_000));
      total.replayed += res.replayed;
      total.stillParked += res.stillParked.length;
    }
  }
  return total;
}

function renderDeadLetters(anyFailed: boolean, failedTable: string, parked: readonly ParkedEvent[], replayed: Replayed | undefined): string {
  const parkedRows = parked.map((e) => [e.entryId, e.queue, e.jobId, String(e.seq), e.eventType, time(e.parkedAt) ?? "", truncate(e.error, 60)]);
  const lines = [
    "failed jobs:",
    failedTable.trimEnd(),
    anyFailed ? "retry one with `taskflow retry <id>`, or many with `taskflow retry --status failed --queue <queue>`" : "",
    "",
    "parked outbox entries:",
    table(["ENTRY", "QUEUE", "JOB", "SEQ", "EVENT", "PARKED", "ERROR"], parkedRows, "(none)").trimEnd(),
  ];
  if (replayed !== undefined) lines.push(`replayed ${replayed.replayed}, still parked ${replayed.stillParked}`);
  else if (parked.length > 0) lines.push("send them to history again with `taskflow dead-letters --replay`");
  return `${lines.filter((l, i) => l !== "" || i === 3).join("\n")}\n`;
}
