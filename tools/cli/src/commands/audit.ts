import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { OperatorActionSchema } from "@taskflow/proto";
import { contextOf } from "../context.js";
import { inlineJson, messageJson, table, time } from "../format.js";
import { collect, durationMs, pointInTime, timeWindow, type WindowOptions } from "../parse-options.js";

/** Writes every chunk to `out`, waiting whenever it asks for a pause; returns the bytes and lines written. */
async function writeAll(chunks: AsyncIterable<Uint8Array>, out: Writable): Promise<{ bytes: number; lines: number }> {
  let bytes = 0;
  let lines = 0;
  for await (const chunk of chunks) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 0x0a) lines++;
    if (!out.write(chunk)) await once(out, "drain");
  }
  return { bytes, lines };
}

/** Adds `audit export` and `audit actions`. */
export function addAuditCommands(program: Command): void {
  const audit = program.command("audit").description("the audit trail of every job, and what operators did");
  audit
    .command("actions")
    .description("what operators did to queues (pause, resume, limits), newest first, with who did it")
    .option("--queue <queue>", "only actions on this queue")
    .option("--action <action>", "only actions of this kind: queue.pause, queue.resume or queue.limits")
    .action(async (options: { queue?: string; action?: string }, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const actions = await client.operatorActions({ target: options.queue, action: options.action });
        ctx.print({ actions: actions.map((a) => messageJson(OperatorActionSchema, a)) }, () =>
          table(
            ["AT", "ACTOR", "ACTION", "QUEUE", "DETAILS"],
            actions.map((a) => [time(a.at) ?? "-", a.actor, a.action, a.target, inlineJson(a.details) ?? ""]),
            "(no actions)",
          ),
        );
      });
    });
  audit
    .command("export")
    .description("export the audit trail of a time range (default the last 24 hours) as NDJSON, one event per line")
    .option("--from <time>", "range start (ISO 8601, or a duration ago: 2h)", (t) => pointInTime(t))
    .option("--to <time>", "range end (default now)", (t) => pointInTime(t))
    .option("--last <duration>", "the range ending now (24h, 7d)", durationMs)
    .option("--type <type>", "only events of jobs of this type (repeatable, or comma-separated)", collect)
    .option("--queue <queue>", "only events of jobs of this queue (repeatable, or comma-separated)", collect)
    .option("--output <file>", "write to this file instead of stdout")
    .action(async (options: WindowOptions & { type?: string[]; queue?: string[]; output?: string }, command: Command) => {
      const ctx = contextOf(command);
      const range = timeWindow(options, 86_400_000);
      await ctx.withClient(async (client) => {
        const chunks = client.exportAuditTrail({ ...range, types: options.type, queues: options.queue });
        if (options.output === undefined) {
          await writeAll(chunks, process.stdout);
          return;
        }
        const file = createWriteStream(options.output);
        const written = await writeAll(chunks, file).finally(() => file.end());
        await finished(file);
        ctx.print({ file: options.output, events: written.lines, bytes: written.bytes }, () => `wrote ${written.lines} events to ${options.output}\n`);
      });
    });
}
