import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { OverlapPolicy, ScheduleSchema, type Schedule } from "@taskflow/proto";
import { parseJsonObject } from "./components/JobSearch.js";

export type IntervalUnit = "s" | "m" | "h" | "d";
export type OverlapText = "skip" | "allow" | "cancel_previous";

/** The schedule form's fields as typed, before validation. Numbers are text; empty means the service's default. */
export interface ScheduleInput {
  id: string;
  kind: "cron" | "interval";
  cron: string;
  timeZone: string;
  every: string;
  unit: IntervalUnit;
  type: string;
  queue: string;
  payload: string;
  priority: string;
  maxAttempts: string;
  /** Seconds, to the millisecond. */
  timeout: string;
  overlap: OverlapText;
  catchUp: string;
  paused: boolean;
}

export type InputField = keyof ScheduleInput;
export type ParsedSchedule = { ok: true; schedule: Schedule } | { ok: false; field: InputField; message: string };

/** A new schedule's fields: a cron expression in UTC, a job on the queue "default", the service's defaults elsewhere. */
export const EMPTY_INPUT: ScheduleInput = {
  id: "",
  kind: "cron",
  cron: "",
  timeZone: "UTC",
  every: "",
  unit: "m",
  type: "",
  queue: "default",
  payload: "{}",
  priority: "0",
  maxAttempts: "",
  timeout: "",
  overlap: "skip",
  catchUp: "",
  paused: false,
};

/** Milliseconds of one interval unit. */
export const UNIT_MS: Record<IntervalUnit, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const OVERLAP: Record<OverlapText, OverlapPolicy> = { skip: OverlapPolicy.SKIP, allow: OverlapPolicy.ALLOW, cancel_previous: OverlapPolicy.CANCEL_PREVIOUS };
/** The largest value an int32 field carries; the service's own, lower bounds it states itself. */
const INT32_MAX = 2_147_483_647;
/** A number of units to the millisecond at most (three decimals). */
const DECIMAL = /^\d+(\.\d{1,3})?$/;

type Check<T> = T | { field: InputField; message: string };
const failed = <T>(c: Check<T>): c is { field: InputField; message: string } => typeof c === "object" && c !== null && "message" in c;

/** A whole number of 0 or more typed in `field` (empty: undefined). */
function wholeNumber(input: ScheduleInput, field: "priority" | "maxAttempts" | "catchUp", name: string): Check<number | undefined> {
  const text = input[field].trim();
  if (text === "") return undefined;
  if (!/^\d+$/.test(text)) return { field, message: `${name} must be a whole number, 0 or more.` };
  const n = Number(text);
  return n > INT32_MAX ? { field, message: `${name} is too large.` } : n;
}

/** Milliseconds of `text` units of `unitMs`, to the millisecond (empty: undefined). */
function milliseconds(text: string, unitMs: number, field: "every" | "timeout", name: string): Check<number | undefined> {
  if (text === "") return undefined;
  if (!DECIMAL.test(text)) return { field, message: `${name} must be a number, 0 or more, with at most three decimals.` };
  const ms = Math.round(Number(text) * unitMs);
  return Number.isSafeInteger(ms) ? ms : { field, message: `${name} is too large.` };
}

/** The spec part of the input (cron and time zone, or interval), or what is wrong with it. */
function specOf(input: ScheduleInput): Check<Pick<Schedule, "spec" | "timeZone">> {
  if (input.kind === "cron") {
    const cron = input.cron.trim();
    if (cron === "") return { field: "cron", message: "Cron expression is required: 5 fields (minute hour day month weekday), or 6 with seconds first." };
    return { spec: { case: "cron", value: cron }, timeZone: input.timeZone.trim() };
  }
  const ms = milliseconds(input.every.trim(), UNIT_MS[input.unit], "every", "Interval");
  if (failed(ms)) return ms;
  if (ms === undefined) return { field: "every", message: "Interval is required: a number of seconds, minutes, hours or days." };
  return { spec: { case: "interval", value: durationFromMs(ms) }, timeZone: "" };
}

/**
 * The schedule whose firings the form previews: only its spec and time zone, as typed;
 * undefined while they are incomplete.
 */
export function previewOf(input: ScheduleInput): Schedule | undefined {
  const spec = specOf(input);
  return failed(spec) ? undefined : create(ScheduleSchema, spec);
}

/**
 * Checks what the operator typed before anything is sent, as far as it is cheap and certain
 * here: required fields (id, spec, job type), whole numbers, the payload being a JSON object.
 * Everything else (the id's alphabet, the cron expression, the time zone, every range) is left
 * to the service, whose invalid_argument names the field.
 */
export function parseScheduleInput(input: ScheduleInput): ParsedSchedule {
  const id = input.id.trim();
  if (id === "") return { ok: false, field: "id", message: "Id is required." };
  const spec = specOf(input);
  if (failed(spec)) return { ok: false, ...spec };
  const type = input.type.trim();
  if (type === "") return { ok: false, field: "type", message: "Job type is required: the handler the job runs." };
  const payloadText = input.payload.trim();
  const payload = payloadText === "" ? {} : parseJsonObject(payloadText);
  if (typeof payload === "string") return { ok: false, field: "payload", message: `Payload ${payload}.` };
  const priority = wholeNumber(input, "priority", "Priority");
  if (failed(priority)) return { ok: false, ...priority };
  const maxAttempts = wholeNumber(input, "maxAttempts", "Max attempts");
  if (failed(maxAttempts)) return { ok: false, ...maxAttempts };
  const timeoutMs = milliseconds(input.timeout.trim(), 1_000, "timeout", "Timeout");
  if (failed(timeoutMs)) return { ok: false, ...timeoutMs };
  const catchUp = wholeNumber(input, "catchUp", "Catch-up");
  if (failed(catchUp)) return { ok: false, ...catchUp };
  const schedule = create(ScheduleSchema, {
    id,
    ...spec,
    template: {
      type,
      queue: input.queue.trim(),
      payload,
      priority: priority ?? 0,
      maxAttempts,
      timeout: timeoutMs === undefined ? undefined : durationFromMs(timeoutMs),
    },
    overlapPolicy: OVERLAP[input.overlap],
    catchUp,
    paused: input.paused,
  });
  return { ok: true, schedule };
}

/** `ms` as a number of the largest unit it is a whole number of (seconds with decimals otherwise). */
function intervalInput(ms: number): { every: string; unit: IntervalUnit } {
  for (const unit of ["d", "h", "m", "s"] as const) if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return { every: String(ms / UNIT_MS[unit]), unit };
  return { every: String(ms / 1_000), unit: "s" };
}

/** The form's fields filled from a stored schedule, to edit it. */
export function inputOf(s: Schedule): ScheduleInput {
  const t = s.template;
  const overlap = (Object.keys(OVERLAP) as OverlapText[]).find((k) => OVERLAP[k] === s.overlapPolicy) ?? "skip";
  return {
    id: s.id,
    kind: s.spec.case === "interval" ? "interval" : "cron",
    cron: s.spec.case === "cron" ? s.spec.value : "",
    timeZone: s.timeZone === "" ? "UTC" : s.timeZone,
    ...(s.spec.case === "interval" ? intervalInput(durationMs(s.spec.value)) : { every: "", unit: "m" }),
    type: t?.type ?? "",
    queue: t?.queue || "default",
    payload: JSON.stringify(t?.payload ?? {}, null, 2),
    priority: String(t?.priority ?? 0),
    maxAttempts: t?.maxAttempts === undefined ? "" : String(t.maxAttempts),
    timeout: t?.timeout === undefined ? "" : String(durationMs(t.timeout) / 1_000),
    overlap,
    catchUp: s.catchUp === undefined ? "" : String(s.catchUp),
    paused: s.paused,
  };
}

const SERVICE_FIELDS: Record<string, InputField> = {
  "schedule.id": "id",
  "schedule.spec": "cron",
  "schedule.cron": "cron",
  "schedule.time_zone": "timeZone",
  "schedule.interval": "every",
  "schedule.template.type": "type",
  "schedule.template.queue": "queue",
  "schedule.template.payload": "payload",
  "schedule.template.priority": "priority",
  "schedule.template.max_attempts": "maxAttempts",
  "schedule.template.timeout": "timeout",
  "schedule.overlap_policy": "overlap",
  "schedule.catch_up": "catchUp",
};

/** The form field a service refusal names (`schedule.template.priority: must be …`), if any. */
export function fieldOfRefusal(rawMessage: string): InputField | undefined {
  const path = /^([a-z_.]+):/.exec(rawMessage)?.[1];
  return path === undefined ? undefined : SERVICE_FIELDS[path];
}
