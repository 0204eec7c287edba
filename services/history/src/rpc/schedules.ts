import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { enumFromText, enumText, type HistoryIngestService, OverlapPolicy, OverlapPolicySchema, type Schedule, type ScheduleSchema } from "@taskflow/proto";
import {
  insertSchedule,
  readSchedulesById,
  readSchedulesPage,
  recordScheduleRuns as storeRuns,
  removeSchedule as deleteSchedule,
  updateSchedule,
  type OverlapPolicyText,
  type ScheduleDefinition,
  type ScheduleRow,
} from "../db/queries/schedules.js";
import { invalidArgument, notFound } from "../errors.js";
import type { HistoryDeps } from "./deps.js";
import { intIn, nonEmpty, pageSize, requireUuid, toDate } from "./validate.js";

/** Most schedules one ReadSchedules call names, and most runs one RecordScheduleRuns call carries. */
export const MAX_SCHEDULE_BATCH = 1_000;
const READ_DEFAULT_PAGE_SIZE = 500;
/** Longest text of a schedule (id, cron, time zone, type, queue, actor), in characters. */
const MAX_TEXT = 256;
const INT32_MAX = 2_147_483_647;

/** A policy as the table keeps it: its name in lower case; UNSPECIFIED is SKIP. */
const policyText = (p: OverlapPolicy): OverlapPolicyText | undefined =>
  p === OverlapPolicy.UNSPECIFIED ? "skip" : (enumText(OverlapPolicySchema, p) as OverlapPolicyText | undefined);

/**
 * The scheduler's schedule calls (HistoryIngestService, internal listener). The scheduler checks
 * every definition as its callers' requests (cron, time zone, template); history checks what its
 * table needs, so a bad call stores nothing.
 */
export const scheduleIngest = (d: HistoryDeps): Pick<ServiceImpl<typeof HistoryIngestService>, "storeSchedule" | "removeSchedule" | "readSchedules" | "recordScheduleRuns"> => ({
  async storeSchedule(req) {
    if (req.schedule === undefined) throw invalidArgument("schedule: required");
    const def = parseDefinition(req.schedule);
    if (req.create) {
      const row = await insertSchedule(d.db, def);
      if (row === undefined) throw new ConnectError(`schedule ${def.id} exists already`, Code.AlreadyExists);
      return { schedule: scheduleToProto(row) };
    }
    const row = await updateSchedule(d.db, def, req.expectedVersion);
    if (row === "missing") throw notFound(`schedule ${def.id} not found`);
    if (row === "stale") throw new ConnectError(`schedule ${def.id} changed meanwhile; read it again`, Code.FailedPrecondition);
    return { schedule: scheduleToProto(row) };
  },

  async removeSchedule(req) {
    const version = await deleteSchedule(d.db, text(req.id, "id"));
    if (version === undefined) throw notFound(`schedule ${req.id} not found`);
    return { version };
  },

  async readSchedules(req) {
    if (req.ids.length > MAX_SCHEDULE_BATCH) throw invalidArgument(`ids: must name at most ${MAX_SCHEDULE_BATCH} schedules`);
    const rows =
      req.ids.length > 0
        ? await readSchedulesById(d.db, req.ids)
        : await readSchedulesPage(d.db, req.afterId, pageSize(req.pageSize, READ_DEFAULT_PAGE_SIZE, MAX_SCHEDULE_BATCH));
    return { schedules: rows.map(scheduleToProto) };
  },

  async recordScheduleRuns(req) {
    if (req.runs.length === 0 || req.runs.length > MAX_SCHEDULE_BATCH) throw invalidArgument(`runs: must hold 1 to ${MAX_SCHEDULE_BATCH} runs`);
    const runs = req.runs.map((r, i) => {
      if (r.runAt === undefined) throw invalidArgument(`runs[${i}].run_at: required`);
      return {
        scheduleId: text(r.scheduleId, `runs[${i}].schedule_id`),
        runAt: toDate(r.runAt, `runs[${i}].run_at`),
        jobId: requireUuid(r.jobId, `runs[${i}].job_id`),
        nextRunAt: r.nextRunAt === undefined ? null : toDate(r.nextRunAt, `runs[${i}].next_run_at`),
      };
    });
    await storeRuns(d.db, runs);
    return {};
  },
});

function text(value: string, field: string): string {
  nonEmpty(value, field);
  if (value.length > MAX_TEXT) throw invalidArgument(`${field}: must be at most ${MAX_TEXT} characters`);
  return value;
}

function parseDefinition(s: Schedule): ScheduleDefinition {
  const t = s.template;
  if (t === undefined) throw invalidArgument("schedule.template: required");
  if (s.spec.case === undefined) throw invalidArgument("schedule.spec: one of cron and interval is required");
  const intervalMs = s.spec.case === "interval" ? intIn(Math.round(durationMs(s.spec.value)), 1, Number.MAX_SAFE_INTEGER, "schedule.interval (ms)") : null;
  const timeoutMs = t.timeout === undefined ? 0 : Math.round(durationMs(t.timeout));
  return {
    id: text(s.id, "schedule.id"),
    cron: s.spec.case === "cron" ? text(s.spec.value, "schedule.cron") : null,
    timeZone: s.timeZone === "" ? "UTC" : text(s.timeZone, "schedule.time_zone"),
    intervalMs,
    jobType: text(t.type, "schedule.template.type"),
    queue: text(t.queue, "schedule.template.queue"),
    payload: t.payload ?? {},
    priority: intIn(t.priority, 0, 1_000, "schedule.template.priority"),
    maxAttempts: intIn(t.maxAttempts ?? 0, 1, INT32_MAX, "schedule.template.max_attempts"),
    timeoutMs: timeoutMs === 0 ? null : intIn(timeoutMs, 1, INT32_MAX, "schedule.template.timeout (ms)"),
    overlapPolicy: policyText(s.overlapPolicy) ?? invalidPolicy(),
    catchUp: intIn(s.catchUp ?? 0, 0, INT32_MAX, "schedule.catch_up"),
    paused: s.paused,
    nextRunAt: s.nextRunAt === undefined ? null : toDate(s.nextRunAt, "schedule.next_run_at"),
    actor: text(s.updatedBy, "schedule.updated_by"),
  };
}

function invalidPolicy(): never {
  throw invalidArgument("schedule.overlap_policy: unknown value");
}

const ts = (d: Date | null) => (d === null ? undefined : timestampFromDate(d));

/** A `schedules` row as a taskflow.v1.Schedule. */
export function scheduleToProto(r: ScheduleRow): MessageInitShape<typeof ScheduleSchema> {
  return {
    id: r.id,
    spec: r.cron !== null ? { case: "cron", value: r.cron } : { case: "interval", value: durationFromMs(Number(r.interval_ms)) },
    timeZone: r.time_zone,
    template: {
      type: r.job_type,
      queue: r.queue,
      payload: r.payload,
      priority: r.priority,
      maxAttempts: r.max_attempts,
      timeout: r.timeout_ms === null ? undefined : durationFromMs(r.timeout_ms),
    },
    overlapPolicy: enumFromText<OverlapPolicy>(OverlapPolicySchema, r.overlap_policy),
    catchUp: r.catch_up,
    paused: r.paused,
    nextRunAt: ts(r.next_run_at),
    lastRunAt: ts(r.last_run_at),
    lastJobId: r.last_job_id ?? "",
    createdAt: ts(r.created_at),
    updatedAt: ts(r.updated_at),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    version: BigInt(r.version),
  };
}
