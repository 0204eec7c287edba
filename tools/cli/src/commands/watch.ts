import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Job, JobEvent, JobStatus, TaskFlowClient } from "@taskflow/client";
import { contextOf, type Context } from "../context.js";
import { UsageError } from "../errors.js";
import { inlineJson } from "../format.js";
import { collect, collectJobStatuses } from "../parse-options.js";
import { exitByStatus } from "./jobs.js";
import { eventRow, jobJson, renderJob, statusName } from "./render-job.js";

/** How long `watch` keeps asking for a job history does not know yet (it may lag a submit). */
const NOT_FOUND_GRACE_MS = 5_000;
const NOT_FOUND_RETRY_MS = 200;

interface WatchOptions {
  queue?: string[];
  type?: string[];
  status?: JobStatus[];
}

/** Adds `watch`: one job (WatchJob) until it ends, or every job matching filters (WatchJobs) until interrupted. */
export function addWatchCommand(program: Command): void {
  program
    .command("watch")
    .description(
      "follow a job until it ends, printing status changes, progress and audit events as history records them (exit 1 if it " +
        "failed or was cancelled); without an id, follow every job the filters match, one line per change, until interrupted",
    )
    .argument("[id]", "job id")
    .option("--queue <queue>", "without an id: jobs of this queue (repeatable, or comma-separated)", collect)
    .option("--type <type>", "without an id: jobs of this type (repeatable, or comma-separated)", collect)
    .option("--status <status>", "without an id: jobs now in this status (repeatable, or comma-separated)", collectJobStatuses)
    .action(async (id: string | undefined, options: WatchOptions, command: Command) => {
      const ctx = contextOf(command);
      const filtered = options.queue !== undefined || options.type !== undefined || options.status !== undefined;
      if (id !== undefined && filtered) throw new UsageError("watch takes a job id or filters (--queue, --type, --status), not both");
      await ctx.withClient(async (client) => {
        if (id === undefined) return watchJobs(client, options, ctx);
        const { job, events } = await watchJob(client, id, ctx);
        if (ctx.json) ctx.print(jobJson(job, events), () => "");
        exitByStatus(job);
      });
    });
}

/** A job's progress as text, e.g. `42.5% {"rows":1200}`; "" when it reported none. */
export function progressText(job: Pick<Job, "progress">): string {
  const p = job.progress;
  if (p === undefined) return "";
  const details = p.details === undefined || Object.keys(p.details).length === 0 ? "" : ` ${inlineJson(p.details)}`;
  return `${Number(p.percent.toFixed(2))}%${details}`;
}

/**
 * Follows job `id` on history's WatchJob stream until it ends. In text mode it prints the status
 * when it changes, the progress when it changes and each audit event once, as history records
 * them. Returns the final job and its trail.
 */
async function watchJob(client: TaskFlowClient, id: string, ctx: Context): Promise<{ job: Job; events: JobEvent[] }> {
  const giveUpMissingAt = Date.now() + NOT_FOUND_GRACE_MS;
  for (;;) {
    try {
      let lastStatus: JobStatus | undefined;
      let lastProgress = "";
      let last: Job | undefined;
      const events: JobEvent[] = [];
      for await (const { job, events: fresh } of client.watch(id)) {
        if (job.status !== lastStatus && !ctx.json) ctx.out(`status: ${statusName(job)}\n`);
        lastStatus = job.status;
        const progress = progressText(job);
        if (progress !== lastProgress && !ctx.json) ctx.out(`progress: ${progress}\n`);
        lastProgress = progress;
        if (!ctx.json) for (const e of fresh) ctx.out(`event:  ${eventRow(e).filter((cell) => cell !== "").join("  ")}\n`);
        events.push(...fresh);
        last = job;
      }
      if (last === undefined) throw new Error(`history ended the watch of ${id} without the job`);
      if (!ctx.json) ctx.out(renderJob(last));
      return { job: last, events };
    } catch (err) {
      if (!(err instanceof ConnectError && err.code === Code.NotFound && Date.now() < giveUpMissingAt)) throw err;
      await sleep(NOT_FOUND_RETRY_MS);
    }
  }
}

/**
 * Follows history's WatchJobs stream until SIGINT or SIGTERM (then exits 0): one line per
 * changed job (id, type, queue, status, attempts, progress), or one JSON object per line with
 * `--json`. "watching" goes to stderr once the watch is live.
 */
async function watchJobs(client: TaskFlowClient, options: WatchOptions, ctx: Context): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, onSignal);
  try {
    const filter = { queues: options.queue ?? [], types: options.type ?? [], statuses: options.status ?? [] };
    const onLive = (): void => ctx.err("watching (interrupt to stop)\n");
    for await (const job of client.watchJobs(filter, { signal: stop.signal, onLive })) {
      if (ctx.json) ctx.out(`${JSON.stringify(jobJson(job))}\n`);
      else ctx.out(`${[job.id, job.type, job.queue, statusName(job), `${job.attempts}/${job.maxAttempts}`, progressText(job)].filter((c) => c !== "").join("  ")}\n`);
    }
  } finally {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onSignal);
  }
}
