import { InvalidArgumentError, type Command } from "commander";
import type { GetStatsResponse, StatsQuery } from "@taskflow/client";
import { GetStatsResponseSchema, StatsBucketSchema, type DurationPercentiles } from "@taskflow/proto";
import { contextOf } from "../context.js";
import { duration, enumName, fields, messageJson, table, time, truncate } from "../format.js";
import { collect, durationMs, integerIn, pointInTime, timeWindow, type WindowOptions } from "../parse-options.js";

/** The bucket widths `--bucket` takes. */
const BUCKETS = ["minute", "hour", "day"] as const;

/** `--bucket` values: minute, hour or day. */
function bucketName(text: string): StatsQuery["bucket"] {
  const found = BUCKETS.find((b) => b === text);
  if (found === undefined) throw new InvalidArgumentError(`expected one of ${BUCKETS.join(", ")}.`);
  return found;
}

/** Percentiles in one line: `p50 1.2s  p95 3s  p99 4.1s  (120 jobs)`, or `-` with no jobs. */
function percentiles(p: DurationPercentiles | undefined): string {
  if (p === undefined || p.count === 0n) return "-";
  return `p50 ${duration(p.p50) ?? "-"}  p95 ${duration(p.p95) ?? "-"}  p99 ${duration(p.p99) ?? "-"}  (${p.count} jobs)`;
}

/** The stats of a window as text: totals, then throughput per bucket, then the top errors, then (when asked) each queue's outcomes. */
export function renderStats(s: GetStatsResponse): string {
  const c = s.created;
  const created =
    c === undefined
      ? "0"
      : `${c.total} (pending ${c.pending}, processing ${c.processing}, completed ${c.completed}, failed ${c.failed}, cancelled ${c.cancelled})`;
  const summary = fields([
    ["window", `${time(s.window?.startTime) ?? "?"} to ${time(s.window?.endTime) ?? "?"}`],
    ["bucket", enumName(StatsBucketSchema, s.bucket).toLowerCase()],
    ["created", created],
    ["failure rate", `${(s.failureRate * 100).toFixed(1)}%`],
    ["queue wait", percentiles(s.queueWait)],
    ["run time", percentiles(s.runTime)],
  ]);
  const throughput = table(
    ["BUCKET START", "SUBMITTED", "COMPLETED", "FAILED", "CANCELLED"],
    s.throughput.map((b) => [time(b.startTime) ?? "", String(b.submitted), String(b.completed), String(b.failed), String(b.cancelled)]),
  );
  const errors = table(
    ["ATTEMPTS", "JOBS", "LAST SEEN", "ERROR"],
    s.topErrors.map((e) => [String(e.count), String(e.jobs), time(e.lastSeenAt) ?? "", truncate(e.error, 100)]),
  );
  const text = `${summary}\nThroughput\n${throughput}\nTop errors\n${errors}`;
  if (s.byQueue.length === 0) return text;
  const queues = table(
    ["QUEUE", "COMPLETED", "FAILED", "CANCELLED", "FAILURE RATE"],
    s.byQueue.map((q) => [q.queue, String(q.completed), String(q.failed), String(q.cancelled), `${(q.failureRate * 100).toFixed(1)}%`]),
  );
  return `${text}\nBy queue\n${queues}`;
}

/** Adds `stats`. */
export function addStatsCommands(program: Command): void {
  program
    .command("stats")
    .description("counts, throughput, queue wait and run time percentiles, failure rate and top errors of a window (default the last hour)")
    .option("--from <time>", "window start (ISO 8601, or a duration ago: 2h)", (t) => pointInTime(t))
    .option("--to <time>", "window end (default now)", (t) => pointInTime(t))
    .option("--last <duration>", "the window ending now (1h, 1d)", durationMs)
    .option("--type <type>", "only jobs of this type (repeatable, or comma-separated)", collect)
    .option("--queue <queue>", "only jobs of this queue (repeatable, or comma-separated)", collect)
    .option("--bucket <width>", "throughput bucket: minute, hour or day (default: history picks)", bucketName)
    .option("--top-errors <n>", "how many of the most frequent errors (0 to 100)", integerIn(0, 100))
    .option("--by-queue", "also the jobs finished per queue, with each queue's failure rate")
    .action(
      async (
        options: WindowOptions & { type?: string[]; queue?: string[]; bucket?: StatsQuery["bucket"]; topErrors?: number; byQueue?: boolean },
        command: Command,
      ) => {
        const ctx = contextOf(command);
        const window = timeWindow(options, 3_600_000);
        await ctx.withClient(async (client) => {
          const stats = await client.stats({
            ...window,
            types: options.type,
            queues: options.queue,
            bucket: options.bucket,
            topErrors: options.topErrors,
            byQueue: options.byQueue,
          });
          ctx.print(messageJson(GetStatsResponseSchema, stats), () => renderStats(stats));
        });
      },
    );
}
