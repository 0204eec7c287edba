import type { JsonObject } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "commander";
import type { JobFilter, ParentFailure, SubmitInput } from "@taskflow/client";
import { enumFromText, JobStatus, JobStatusSchema, WorkerStatus, WorkerStatusSchema } from "@taskflow/proto";
import { parseDuration } from "./durations.js";
import { UsageError } from "./errors.js";

// Parsers of option values, in the shape commander's `argParser` takes: each throws
// InvalidArgumentError, which commander reports with the option's name (exit code 2).

/** A whole number from `min` to `max`. */
export const integerIn =
  (min: number, max: number) =>
  (text: string): number => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };

/** A duration such as `500ms`, `5s`, `2m`, `1h` or `1d`, as milliseconds. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidArgumentError("expected a duration such as 500ms, 5s, 2m, 1h or 1d.");
  return ms;
}

/**
 * A point in time: an ISO 8601 date (`2025-01-31`, `2025-01-31T12:00:00Z`), or a duration
 * meaning that long ago (`2h` is two hours before `now`).
 */
export function pointInTime(text: string, now: () => number = Date.now): Date {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now() - ago);
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError("expected an ISO 8601 time (2025-01-31T12:00:00Z) or a duration ago (2h).");
  }
  return date;
}

/** A JSON object, e.g. `{"to":"a@example.com"}`. */
export function jsonObject(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError("expected a JSON object, e.g. '{\"key\":\"value\"}'.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError("expected a JSON object, not an array or a plain value.");
  }
  return value as JsonObject;
}

/** Adds comma-separated values to those of earlier uses of a repeatable option. */
export function collect(text: string, previous: string[] = []): string[] {
  const values = text.split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (values.length === 0) throw new InvalidArgumentError("expected at least one value.");
  return [...previous, ...values];
}

/** Job status names, comma-separated or repeated: pending, processing, completed, failed, cancelled. */
export function collectJobStatuses(text: string, previous: JobStatus[] = []): JobStatus[] {
  return [...previous, ...collect(text).map((name) => statusNamed<JobStatus>(JobStatusSchema, name))];
}

/** Worker status names, comma-separated or repeated: healthy, stale, gone. */
export function collectWorkerStatuses(text: string, previous: WorkerStatus[] = []): WorkerStatus[] {
  return [...previous, ...collect(text).map((name) => statusNamed<WorkerStatus>(WorkerStatusSchema, name))];
}

function statusNamed<T extends number>(schema: typeof JobStatusSchema | typeof WorkerStatusSchema, name: string): T {
  const value = enumFromText<T>(schema, name);
  if (value === 0) {
    const known = schema.values.filter((v) => v.number !== 0).map((v) => v.localName.toLowerCase());
    throw new InvalidArgumentError(`unknown status "${name}"; one of ${known.join(", ")}.`);
  }
  return value;
}

/** Options of `taskflow list`, as commander gives them. */
export interface ListOptions {
  status?: JobStatus[];
  type?: string[];
  queue?: string[];
  worker?: string;
  schedule?: string;
  createdFrom?: Date;
  createdTo?: Date;
  finishedFrom?: Date;
  finishedTo?: Date;
  payloadContains?: JsonObject;
  text?: string;
  attemptsAbove?: number;
  oldest?: boolean;
  limit: number;
}

/** The most jobs history returns in one page. */
const MAX_PAGE_SIZE = 500;

/** The client filter that `taskflow list` options ask for; pages no larger than the limit needs. */
export function toJobFilter(options: ListOptions): JobFilter {
  const span = (from?: Date, to?: Date) => (from === undefined && to === undefined ? undefined : { from, to });
  return {
    statuses: options.status,
    types: options.type,
    queues: options.queue,
    workerId: options.worker,
    scheduleId: options.schedule,
    created: span(options.createdFrom, options.createdTo),
    finished: span(options.finishedFrom, options.finishedTo),
    payloadContains: options.payloadContains,
    text: options.text,
    attemptsAbove: options.attemptsAbove,
    order: options.oldest === true ? "oldest" : "newest",
    pageSize: Math.min(options.limit, MAX_PAGE_SIZE),
  };
}

/** Options of `taskflow submit`, as commander gives them. */
export interface SubmitOptions {
  payload?: JsonObject;
  queue?: string;
  priority?: number;
  delay?: number;
  runAt?: Date;
  maxAttempts?: number;
  timeout?: number;
  idempotencyKey?: string;
  dependsOn?: string[];
  onParentFailure?: ParentFailure;
}

/** `--on-parent-failure`: fail, cancel or run. */
export function parentFailure(text: string): ParentFailure {
  if (text === "fail" || text === "cancel" || text === "run") return text;
  throw new InvalidArgumentError(`unknown policy "${text}"; one of fail, cancel, run.`);
}

/** The client's submit input for `taskflow submit <type>`. @throws UsageError for --delay with --run-at. */
export function toSubmitInput(type: string, options: SubmitOptions): SubmitInput {
  if (options.delay !== undefined && options.runAt !== undefined) {
    throw new UsageError("--delay and --run-at cannot be used together.");
  }
  return {
    type,
    payload: options.payload,
    queue: options.queue,
    priority: options.priority,
    delayMs: options.delay,
    runAt: options.runAt,
    maxAttempts: options.maxAttempts,
    timeoutMs: options.timeout,
    idempotencyKey: options.idempotencyKey,
    dependsOn: options.dependsOn,
    onParentFailure: options.onParentFailure,
  };
}

/** The time options of `stats` and `audit export`. */
export interface WindowOptions {
  from?: Date;
  to?: Date;
  last?: number;
}

/**
 * The window [from, to) the options name: `--last` ends now; `--from` alone ends now; nothing at
 * all is the last `defaultMs`.
 * @throws UsageError for --last with --from or --to, --to without --from, or an empty window.
 */
export function timeWindow(options: WindowOptions, defaultMs: number, now: number = Date.now()): { from: Date; to: Date } {
  if (options.last !== undefined) {
    if (options.from !== undefined || options.to !== undefined) throw new UsageError("--last cannot be used with --from or --to.");
    return { from: new Date(now - options.last), to: new Date(now) };
  }
  if (options.from === undefined) {
    if (options.to !== undefined) throw new UsageError("--to needs --from.");
    return { from: new Date(now - defaultMs), to: new Date(now) };
  }
  const to = options.to ?? new Date(now);
  if (to.getTime() <= options.from.getTime()) throw new UsageError("--to must be after --from.");
  return { from: options.from, to };
}

/** Options of `taskflow limits`. */
export interface LimitsOptions {
  maxRunning?: number;
  maxStarts?: number;
  per?: number;
  clear?: boolean;
}

/**
 * The limits `taskflow limits` sets. Limits not named are cleared (the call sets every limit),
 * so `--max-running 5` alone leaves no start rate.
 * @throws UsageError for --clear with a limit, --max-starts without --per (or the reverse), or no option at all.
 */
export function toQueueLimits(options: LimitsOptions): { maxRunning?: number; maxStarts?: number; perMs?: number } {
  const named = options.maxRunning !== undefined || options.maxStarts !== undefined || options.per !== undefined;
  if (options.clear === true) {
    if (named) throw new UsageError("--clear cannot be used with a limit.");
    return {};
  }
  if (!named) throw new UsageError("name a limit (--max-running, --max-starts with --per) or --clear.");
  if ((options.maxStarts === undefined) !== (options.per === undefined)) {
    throw new UsageError("--max-starts and --per go together.");
  }
  return { maxRunning: options.maxRunning, maxStarts: options.maxStarts, perMs: options.per };
}
