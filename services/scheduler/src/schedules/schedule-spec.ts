import { Cron } from "croner";
import { invalidArgument } from "../errors.js";

/** Shortest interval of a schedule, in ms: ticks a second apart at most. */
export const MIN_INTERVAL_MS = 1_000;
/** Longest interval of a schedule, in ms (one year). */
export const MAX_INTERVAL_MS = 365 * 86_400_000;
/** Ticks fired on time in one claim at most: a stall longer than this many ticks fires only the catch-up. */
export const MAX_ON_TIME_TICKS = 10;

/** When a schedule fires: a cron expression read in an IANA time zone, or a fixed interval. */
export type ScheduleSpec = { kind: "cron"; cron: string; timeZone: string } | { kind: "interval"; intervalMs: number };

/**
 * Checks a cron expression (5 fields, or 6 with seconds first) and its time zone.
 * @throws invalid_argument naming `cron` or `time_zone`, also for an expression that never fires.
 */
export function parseCron(cron: string, timeZone: string, path = ""): ScheduleSpec {
  const zone = timeZone === "" ? "UTC" : timeZone;
  if (!isTimeZone(zone)) throw invalidArgument(`${path}time_zone`, `must be an IANA time zone such as "Europe/Berlin", got ${JSON.stringify(zone.slice(0, 64))}`);
  let job: Cron;
  try {
    job = cronOf(cron, zone);
  } catch (err) {
    throw invalidArgument(`${path}cron`, `must be a cron expression of 5 or 6 fields (${(err as Error).message})`);
  }
  if (job.nextRun() === null) throw invalidArgument(`${path}cron`, "never fires");
  return { kind: "cron", cron, timeZone: zone };
}

/** @throws invalid_argument naming `interval` unless it is 1 s to 1 year in whole ms. */
export function parseInterval(intervalMs: number, path = ""): ScheduleSpec {
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
    throw invalidArgument(`${path}interval`, `must be from ${MIN_INTERVAL_MS} ms to 1 year, in whole ms`);
  }
  return { kind: "interval", intervalMs };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const cronOf = (cron: string, timeZone: string): Cron => new Cron(cron, { timezone: timeZone, mode: "5-or-6-parts", paused: true });

/**
 * The first tick strictly after `afterMs`. An interval's ticks are `anchorMs + k * interval`
 * (anchor: a tick of the schedule, or its creation for the first); undefined when a cron
 * expression fires no more.
 */
export function nextTick(spec: ScheduleSpec, afterMs: number, anchorMs = afterMs): number | undefined {
  if (spec.kind === "interval") {
    const steps = Math.floor((afterMs - anchorMs) / spec.intervalMs) + 1;
    return anchorMs + Math.max(1, steps) * spec.intervalMs;
  }
  return cronOf(spec.cron, spec.timeZone).nextRun(new Date(afterMs))?.getTime();
}

/** What a due schedule does now. */
export interface DueTicks {
  /** Ticks to fire, oldest first. */
  fire: number[];
  /** Due ticks left unfired (missed beyond the catch-up bound). */
  skipped: number;
  /** The first tick after now; undefined when the schedule fires no more. */
  next: number | undefined;
}

/**
 * The ticks of a schedule due at `nowMs`, from `nextMs` (its next tick as stored) on. A tick
 * reached within `misfireMs` of its time is on time and fires (at most {@link MAX_ON_TIME_TICKS});
 * a tick reached later was missed (no scheduler could fire it): of those, the newest `catchUp`
 * fire and the rest are skipped.
 */
export function dueTicks(spec: ScheduleSpec, nextMs: number, nowMs: number, catchUp: number, misfireMs: number): DueTicks {
  const wanted = catchUp + MAX_ON_TIME_TICKS;
  const recent = latestTicks(spec, nextMs, nowMs, wanted);
  const onTime = recent.filter((t) => t >= nowMs - misfireMs);
  const missed = recent.filter((t) => t < nowMs - misfireMs);
  const fire = [...missed.slice(Math.max(0, missed.length - catchUp)), ...onTime.slice(-MAX_ON_TIME_TICKS)];
  const total = countTicks(spec, nextMs, nowMs, recent);
  return { fire, skipped: total - fire.length, next: nextTick(spec, nowMs, nextMs) };
}

/** Up to `n` of the newest ticks in [fromMs, nowMs], oldest first; `fromMs` is a tick. */
function latestTicks(spec: ScheduleSpec, fromMs: number, nowMs: number, n: number): number[] {
  if (nowMs < fromMs) return [];
  if (spec.kind === "interval") {
    const last = Math.floor((nowMs - fromMs) / spec.intervalMs);
    const first = Math.max(0, last - n + 1);
    return Array.from({ length: last - first + 1 }, (_, i) => fromMs + (first + i) * spec.intervalMs);
  }
  // A run in the same second as the reference counts: ticks are whole seconds.
  const runs = cronOf(spec.cron, spec.timeZone).previousRuns(n, new Date(nowMs + 1));
  const ticks = runs.map((d) => d.getTime()).filter((t) => t >= fromMs && t <= nowMs);
  return ticks.reverse();
}

/** How many ticks lie in [fromMs, nowMs], counted exactly for an interval, at least `recent`'s for a cron. */
function countTicks(spec: ScheduleSpec, fromMs: number, nowMs: number, recent: readonly number[]): number {
  if (nowMs < fromMs) return 0;
  if (spec.kind === "interval") return Math.floor((nowMs - fromMs) / spec.intervalMs) + 1;
  return recent.length;
}
