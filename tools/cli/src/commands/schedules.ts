import { durationMs as msOf } from "@bufbuild/protobuf/wkt";
import { type Command, Option } from "commander";
import type { JsonObject } from "@bufbuild/protobuf";
import type { Schedule, ScheduleInput } from "@taskflow/client";
import { enumText, JobSchema, OverlapPolicySchema, ScheduleSchema } from "@taskflow/proto";
import { contextOf } from "../context.js";
import { duration, fields, messageJson, table, time } from "../format.js";
import { durationMs, integerIn, jsonObject } from "../parse-options.js";
import { UsageError } from "../errors.js";

/** Options of `schedules create` and `schedules update`. */
interface DefinitionOptions {
  cron?: string;
  tz?: string;
  every?: number;
  type?: string;
  queue?: string;
  payload?: JsonObject;
  priority?: number;
  maxAttempts?: number;
  timeout?: number;
  overlap?: "skip" | "allow" | "cancel_previous";
  catchUp?: number;
  paused?: boolean;
}

const overlapOf = (s: Schedule): NonNullable<DefinitionOptions["overlap"]> =>
  (enumText(OverlapPolicySchema, s.overlapPolicy) ?? "skip") as NonNullable<DefinitionOptions["overlap"]>;

/** When a schedule fires, in words: `cron "0 3 * * *" Europe/Berlin` or `every 30s`. */
export const specText = (s: Schedule): string =>
  s.spec.case === "cron" ? `cron "${s.spec.value}" ${s.timeZone}` : `every ${duration(s.spec.value) ?? "?"}`;

/** The options as a whole definition; those not given keep `current`'s (update) or the defaults (create). */
export function toScheduleInput(id: string, o: DefinitionOptions, current?: Schedule): ScheduleInput {
  if (o.cron !== undefined && o.every !== undefined) throw new UsageError("--cron and --every are exclusive");
  const t = current?.template;
  const type = o.type ?? t?.type;
  if (type === undefined) throw new UsageError("--type is required");
  const keepSpec = o.cron === undefined && o.every === undefined;
  const cron = o.cron ?? (keepSpec && current?.spec.case === "cron" ? current.spec.value : undefined);
  const intervalMs = o.every ?? (keepSpec && current?.spec.case === "interval" ? msOf(current.spec.value) : undefined);
  if (cron === undefined && intervalMs === undefined) throw new UsageError("one of --cron and --every is required");
  return {
    id,
    cron,
    intervalMs,
    timeZone: o.tz ?? (cron !== undefined && o.cron === undefined ? current?.timeZone : undefined),
    template: {
      type,
      queue: o.queue ?? t?.queue,
      payload: o.payload ?? t?.payload,
      priority: o.priority ?? t?.priority,
      maxAttempts: o.maxAttempts ?? t?.maxAttempts,
      timeoutMs: o.timeout ?? (t?.timeout === undefined ? undefined : msOf(t.timeout)),
    },
    overlap: o.overlap ?? (current === undefined ? undefined : overlapOf(current)),
    catchUp: o.catchUp ?? current?.catchUp,
    paused: o.paused,
  };
}

function renderSchedule(s: Schedule): string {
  return fields([
    ["id", s.id],
    ["spec", specText(s)],
    ["type", s.template?.type],
    ["queue", s.template?.queue],
    ["payload", JSON.stringify(s.template?.payload ?? {})],
    ["overlap", overlapOf(s)],
    ["catch-up", String(s.catchUp ?? 0)],
    ["paused", s.paused ? "yes" : "no"],
    ["next run", time(s.nextRunAt) ?? "-"],
    ["last run", time(s.lastRunAt) ?? "-"],
    ["last job", s.lastJobId === "" ? "-" : s.lastJobId],
    ["updated", `${time(s.updatedAt) ?? "?"} by ${s.updatedBy}`],
  ]);
}

function renderTable(schedules: Schedule[]): string {
  return table(
    ["SCHEDULE", "SPEC", "TYPE", "QUEUE", "OVERLAP", "PAUSED", "NEXT RUN", "LAST JOB"],
    schedules.map((s) => [s.id, specText(s), s.template?.type ?? "", s.template?.queue ?? "", overlapOf(s), s.paused ? "yes" : "no", time(s.nextRunAt) ?? "-", s.lastJobId || "-"]),
    "(no schedules)",
  );
}

const scheduleJson = (s: Schedule): unknown => messageJson(ScheduleSchema, s);

function definitionOptions(cmd: Command): Command {
  return cmd
    .option("--cron <expr>", 'cron expression, 5 fields or 6 with seconds first, e.g. "0 3 * * *"')
    .option("--tz <zone>", "IANA time zone of --cron (default UTC)")
    .option("--every <duration>", "fixed interval instead of --cron (1s or more)", durationMs)
    .option("--type <type>", "job type each run submits")
    .option("--queue <queue>", "queue of the jobs (default \"default\")")
    .option("--payload <json>", "payload of the jobs, a JSON object", jsonObject)
    .option("--priority <n>", "priority of the jobs, 0 to 1000", integerIn(0, 1000))
    .option("--max-attempts <n>", "attempts of each job, 1 to 100", integerIn(1, 100))
    .option("--timeout <duration>", "execution timeout of one attempt", durationMs)
    .addOption(new Option("--overlap <policy>", "when the previous run is unfinished").choices(["skip", "allow", "cancel_previous"]))
    .option("--catch-up <n>", "missed ticks to run after downtime", integerIn(0, 1_000));
}

/** Adds `schedules create|list|get|update|pause|resume|delete|trigger`. */
export function addScheduleCommands(program: Command): void {
  const schedules = program.command("schedules").description("recurring jobs: a cron expression or an interval, and a job template");

  definitionOptions(schedules.command("create").description("create a schedule (admin)").argument("<id>", "schedule id"))
    .option("--paused", "create it paused")
    .action(async (id: string, options: DefinitionOptions, command: Command) => {
      const ctx = contextOf(command);
      const input = toScheduleInput(id, options);
      await ctx.withClient(async (client) => {
        const s = await client.createSchedule(input);
        ctx.print(scheduleJson(s), () => `${s.id} created, next run ${time(s.nextRunAt) ?? "-"}\n`);
      });
    });

  schedules.command("list").description("every schedule").action(async (_options: object, command: Command) => {
    const ctx = contextOf(command);
    await ctx.withClient(async (client) => {
      const all = await client.schedules();
      ctx.print({ schedules: all.map(scheduleJson) }, () => renderTable(all));
    });
  });

  schedules.command("get").description("one schedule").argument("<id>", "schedule id").action(async (id: string, _options: object, command: Command) => {
    const ctx = contextOf(command);
    await ctx.withClient(async (client) => {
      const s = await client.schedule(id);
      ctx.print(scheduleJson(s), () => renderSchedule(s));
    });
  });

  definitionOptions(schedules.command("update").description("change a schedule; options not given keep their values (admin)").argument("<id>", "schedule id"))
    .action(async (id: string, options: DefinitionOptions, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        // The options are laid over what was read: a change made meanwhile is refused, not undone.
        const current = await client.schedule(id);
        const s = await client.updateSchedule(toScheduleInput(id, options, current), { expectedVersion: current.version });
        ctx.print(scheduleJson(s), () => `${s.id} updated, next run ${time(s.nextRunAt) ?? "-"}\n`);
      });
    });

  for (const [verb, what] of [["pause", "stop it firing until resumed"], ["resume", "let it fire again from its next tick"]] as const) {
    schedules.command(verb).description(`${what} (admin)`).argument("<id>", "schedule id").action(async (id: string, _options: object, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const s = verb === "pause" ? await client.pauseSchedule(id) : await client.resumeSchedule(id);
        ctx.print(scheduleJson(s), () => `${s.id} ${verb}d\n`);
      });
    });
  }

  schedules.command("delete").description("delete a schedule; its jobs are kept (admin)").argument("<id>", "schedule id").action(async (id: string, _options: object, command: Command) => {
    const ctx = contextOf(command);
    await ctx.withClient(async (client) => {
      await client.deleteSchedule(id);
      ctx.print({ id, deleted: true }, () => `${id} deleted\n`);
    });
  });

  schedules
    .command("trigger")
    .description("submit one run now, under the overlap policy (admin)")
    .argument("<id>", "schedule id")
    .option("--request-id <id>", "a retried trigger with the same id answers the same job")
    .action(async (id: string, options: { requestId?: string }, command: Command) => {
      const ctx = contextOf(command);
      await ctx.withClient(async (client) => {
        const { job, cancelledJobId } = await client.triggerSchedule(id, { requestId: options.requestId });
        const doc = { job: job === undefined ? null : messageJson(JobSchema, job), cancelledJobId };
        ctx.print(doc, () => (job === undefined ? `${id}: run skipped, the previous run is unfinished\n` : `${id}: job ${job.id} submitted\n`));
      });
    });
}
