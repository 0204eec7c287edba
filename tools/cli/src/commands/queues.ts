import type { Command } from "commander";
import type { Queue } from "@taskflow/client";
import { QueueSchema } from "@taskflow/proto";
import { contextOf } from "../context.js";
import { duration, fields, messageJson, table, time } from "../format.js";
import { durationMs, integerIn, toQueueLimits, type LimitsOptions } from "../parse-options.js";

/**
 * A queue's limits in words, its own then its job types', e.g.
 * `max-running 5, max-starts 10 per 1s; t.slow: max-running 2 (1 running)`, or `none`.
 */
export function limitsText(queue: Queue): string {
  const own = limitParts(queue.limits);
  const typed = queue.typeLimits.map((t) => `${t.type}: ${limitParts(t.limits).join(", ")} (${t.running} running)`);
  const all = [...(own.length > 0 ? [own.join(", ")] : []), ...typed];
  return all.length === 0 ? "none" : all.join("; ");
}

function limitParts(limits: Queue["limits"]): string[] {
  const parts: string[] = [];
  if (limits !== undefined && limits.maxRunning > 0) parts.push(`max-running ${limits.maxRunning}`);
  if (limits !== undefined && limits.maxStarts > 0) parts.push(`max-starts ${limits.maxStarts} per ${duration(limits.per) ?? "?"}`);
  return parts;
}

const pausedText = (queue: Queue): string => (queue.paused ? "yes" : "no");

/** One queue as aligned label/value lines. */
function renderQueue(queue: Queue): string {
  return fields([
    ["name", queue.name],
    ["ready", String(queue.ready)],
    ["delayed", String(queue.delayed)],
    ["leased", String(queue.leased)],
    ["outbox", String(queue.outbox)],
    ["parked", String(queue.parked)],
    ["oldest ready", duration(queue.oldestReadyAge) ?? "-"],
    ["completed/min", String(queue.completedLastMinute)],
    ["paused", pausedText(queue)],
    ["paused at", queue.paused ? time(queue.pausedAt) : undefined],
    ["paused by", queue.paused ? queue.pausedBy : undefined],
    ["limits", limitsText(queue)],
  ]);
}

/** Every queue as a table, one line each. */
function renderQueueTable(queues: Queue[]): string {
  return table(
    ["QUEUE", "READY", "DELAYED", "LEASED", "OUTBOX", "PARKED", "OLDEST READY", "DONE/MIN", "PAUSED", "LIMITS"],
    queues.map((q) => [
      q.name,
      String(q.ready),
      String(q.delayed),
      String(q.leased),
      String(q.outbox),
      String(q.parked),
      duration(q.oldestReadyAge) ?? "-",
      String(q.completedLastMinute),
      pausedText(q),
      limitsText(q),
    ]),
    "(no queues)",
  );
}

const queueJson = (queue: Queue): unknown => messageJson(QueueSchema, queue);

/** Adds `queues`, `queue`, `pause`, `resume` and `limits`. */
export function addQueueCommands(program: Command): void {
  program
    .command("queues")
    .description("every queue the scheduler sweeps: depth, oldest ready job's age, pause and limits")
    .action(async (_options: object, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const queues = await client.queues();
        ctx.print({ queues: queues.map(queueJson) }, () => renderQueueTable(queues));
      });
    });

  program
    .command("queue")
    .description("one queue (a queue the scheduler does not know reads as empty)")
    .argument("<name>", "queue name")
    .action(async (name: string, _options: object, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const queue = await client.queue(name);
        ctx.print(queueJson(queue), () => renderQueue(queue));
      });
    });

  program
    .command("pause")
    .description("stop every worker from leasing the queue's jobs (admin); submits are still taken")
    .argument("<queue>", "queue name")
    .action(async (name: string, _options: object, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const queue = await client.pauseQueue(name);
        ctx.print(queueJson(queue), () => `${queue.name} paused\n`);
      });
    });

  program
    .command("resume")
    .description("let workers lease the queue's jobs again (admin)")
    .argument("<queue>", "queue name")
    .action(async (name: string, _options: object, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const queue = await client.resumeQueue(name);
        ctx.print(queueJson(queue), () => `${queue.name} resumed\n`);
      });
    });

  program
    .command("limits")
    .description("set the queue's limits, or its job type's, across every worker (admin); limits not named are cleared")
    .argument("<queue>", "queue name")
    .option("--type <type>", "the limits of the queue's jobs of this type, not of the whole queue")
    .option("--max-running <n>", "at most this many of its jobs running at once", integerIn(1, 100_000))
    .option("--max-starts <n>", "at most this many of its jobs started per --per", integerIn(1, 1_000_000))
    .option("--per <duration>", "the window of --max-starts (1s, 1m; 1ms to 1d)", durationMs)
    .option("--clear", "remove every limit")
    .action(async (name: string, options: LimitsOptions & { type?: string }, command: Command) => {
      const ctx = contextOf(command);
      const limits = toQueueLimits(options);
      await ctx.withClient(async (client) => {
        const queue = await client.setQueueLimits(name, limits, options.type);
        ctx.print(queueJson(queue), () => `${queue.name} limits: ${limitsText(queue)}\n`);
      });
    });
}
