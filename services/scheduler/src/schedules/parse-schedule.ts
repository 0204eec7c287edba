import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { enumFromText, enumText, type JobTemplate, OverlapPolicy, OverlapPolicySchema, type Schedule, type ScheduleSchema, SubmitJobRequestSchema } from "@taskflow/proto";
import { invalidArgument } from "../errors.js";
import { NAME_PATTERN, parseSubmitJob, type NewJob, type SubmitLimits } from "../validate.js";
import { parseCron, parseInterval, type ScheduleSpec } from "./schedule-spec.js";

export type OverlapText = "skip" | "allow" | "cancel_previous";

/** The job a schedule submits, as checked. `timeoutMs` 0: the scheduler's default at each run. */
export interface TemplateDef {
  type: string;
  queue: string;
  payload: JsonObject;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
}

/** A schedule's definition as the scheduler fires it. */
export interface ScheduleDef {
  id: string;
  spec: ScheduleSpec;
  template: TemplateDef;
  overlap: OverlapText;
  catchUp: number;
}

/** Catch-up of a schedule that names none: one missed tick runs after downtime. */
export const DEFAULT_CATCH_UP = 1;

/** A policy as the scheduler keeps it: its name in lower case; UNSPECIFIED is SKIP, an unknown number undefined. */
const overlapText = (p: OverlapPolicy): OverlapText | undefined =>
  p === OverlapPolicy.UNSPECIFIED ? "skip" : (enumText(OverlapPolicySchema, p) as OverlapText | undefined);

/** @throws invalid_argument naming `field` unless `id` is a schedule id (the alphabet of job types). */
export function checkScheduleId(id: string, field = "id"): string {
  if (!NAME_PATTERN.test(id)) throw invalidArgument(field, 'must be 1 to 128 characters of letters, digits and "._:-"');
  return id;
}

/**
 * Checks a schedule as CreateSchedule and UpdateSchedule read it: id, spec, time zone, the
 * template (as SubmitJob checks a submit), overlap policy and catch-up.
 * @throws invalid_argument (resource_exhausted for a payload too large) naming the field, e.g.
 *   `schedule.cron` or `schedule.template.priority`.
 */
export function parseScheduleRequest(s: Schedule | undefined, limits: SubmitLimits & { maxCatchUp: number }): ScheduleDef {
  if (s === undefined) throw invalidArgument("schedule", "is required");
  const id = checkScheduleId(s.id, "schedule.id");
  let spec: ScheduleSpec;
  if (s.spec.case === "cron") spec = parseCron(s.spec.value, s.timeZone, "schedule.");
  else if (s.spec.case === "interval") {
    if (s.timeZone !== "" && s.timeZone !== "UTC") throw invalidArgument("schedule.time_zone", "must be empty with an interval");
    spec = parseInterval(durationMs(s.spec.value), "schedule.");
  } else throw invalidArgument("schedule.spec", "must set cron or interval");
  const template = parseTemplate(s.template, limits);
  const overlap = overlapText(s.overlapPolicy);
  if (overlap === undefined) throw invalidArgument("schedule.overlap_policy", "must be SKIP, ALLOW or CANCEL_PREVIOUS");
  const catchUp = s.catchUp ?? DEFAULT_CATCH_UP;
  if (!Number.isInteger(catchUp) || catchUp < 0 || catchUp > limits.maxCatchUp) {
    throw invalidArgument("schedule.catch_up", `must be 0 to ${limits.maxCatchUp}`);
  }
  return { id, spec, template, overlap, catchUp };
}

function parseTemplate(t: JobTemplate | undefined, limits: SubmitLimits): TemplateDef {
  if (t === undefined) throw invalidArgument("schedule.template", "is required");
  const job = parseSubmitJob(toSubmit(t), limits, Date.now(), "schedule.template.");
  return {
    type: job.type,
    queue: job.queue,
    payload: job.payload,
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    timeoutMs: t.timeout === undefined ? 0 : job.timeoutMs,
  };
}

const toSubmit = (t: JobTemplate) =>
  create(SubmitJobRequestSchema, {
    type: t.type,
    queue: t.queue,
    payload: t.payload,
    priority: t.priority,
    maxAttempts: t.maxAttempts,
    timeout: t.timeout,
  });

/**
 * The job of one run of `def` for the tick `runAtMs` (undefined: now, a triggered run), with its
 * idempotency key, as a submit of it would be (a tick in the past runs now).
 */
export function jobOfRun(def: ScheduleDef, runAtMs: number | undefined, idempotencyKey: string, limits: SubmitLimits): NewJob {
  const t = def.template;
  const req = create(SubmitJobRequestSchema, {
    type: t.type,
    queue: t.queue,
    payload: t.payload,
    priority: t.priority,
    maxAttempts: t.maxAttempts,
    timeout: t.timeoutMs === 0 ? undefined : durationFromMs(t.timeoutMs),
    idempotencyKey,
    schedule: runAtMs === undefined ? { case: undefined } : { case: "runAt", value: timestampFromMs(runAtMs) },
  });
  return { ...parseSubmitJob(req, limits), scheduleId: def.id };
}

/** A definition as history stores it (next run, pause and actor added by the caller). */
export function toStored(def: ScheduleDef): MessageInitShape<typeof ScheduleSchema> {
  const t = def.template;
  return {
    id: def.id,
    spec: def.spec.kind === "cron" ? { case: "cron", value: def.spec.cron } : { case: "interval", value: durationFromMs(def.spec.intervalMs) },
    timeZone: def.spec.kind === "cron" ? def.spec.timeZone : "UTC",
    template: {
      type: t.type,
      queue: t.queue,
      payload: t.payload,
      priority: t.priority,
      maxAttempts: t.maxAttempts,
      timeout: t.timeoutMs === 0 ? undefined : durationFromMs(t.timeoutMs),
    },
    overlapPolicy: enumFromText<OverlapPolicy>(OverlapPolicySchema, def.overlap),
    catchUp: def.catchUp,
  };
}

/** A schedule as history stored it, as the definition the scheduler fires. */
export function fromStored(s: Schedule): ScheduleDef {
  const t = s.template;
  const spec: ScheduleSpec =
    s.spec.case === "cron"
      ? { kind: "cron", cron: s.spec.value, timeZone: s.timeZone || "UTC" }
      : { kind: "interval", intervalMs: s.spec.case === "interval" ? durationMs(s.spec.value) : 0 };
  return {
    id: s.id,
    spec,
    template: {
      type: t?.type ?? "",
      queue: t?.queue ?? "",
      payload: t?.payload ?? {},
      priority: t?.priority ?? 0,
      maxAttempts: t?.maxAttempts ?? 1,
      timeoutMs: t?.timeout === undefined ? 0 : durationMs(t.timeout),
    },
    overlap: overlapText(s.overlapPolicy) ?? "skip",
    catchUp: s.catchUp ?? DEFAULT_CATCH_UP,
  };
}
