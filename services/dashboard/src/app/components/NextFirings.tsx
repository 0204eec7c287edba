import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Schedule } from "@taskflow/proto";
import { Cron } from "croner";
import type { ReactNode } from "react";

/**
 * The schedule's next `count` firings in ms since the epoch: its next run as the scheduler stored
 * it, then the ticks after it ({@link ticksAfter}). Empty while paused (the scheduler stores no
 * next run then); only the stored one when croner cannot read the expression.
 */
export function nextFirings(schedule: Schedule, count: number): number[] {
  if (schedule.nextRunAt === undefined) return [];
  const first = timestampMs(schedule.nextRunAt);
  return [first, ...ticksAfter(schedule, first, count - 1)];
}

/**
 * The first `count` ticks of the schedule's spec strictly after `afterMs`, computed as the
 * scheduler computes them (schedule-spec.ts): an interval's lie one interval apart from
 * `afterMs`; a cron expression's come from croner, the scheduler's library, with the same
 * options, in the schedule's time zone. Empty when croner cannot read the expression or zone.
 */
export function ticksAfter(schedule: Schedule, afterMs: number, count: number): number[] {
  if (count <= 0) return [];
  const spec = schedule.spec;
  if (spec.case === "interval") {
    const step = durationMs(spec.value);
    return Array.from({ length: count }, (_, i) => afterMs + (i + 1) * step);
  }
  if (spec.case === "cron") {
    try {
      const cron = new Cron(spec.value, { timezone: schedule.timeZone === "" ? "UTC" : schedule.timeZone, mode: "5-or-6-parts", paused: true });
      return cron.nextRuns(count, new Date(afterMs)).map((d) => d.getTime());
    } catch {
      return [];
    }
  }
  return [];
}

/**
 * The next firings of a schedule as a list of times; "paused" when it fires not. With `from`, the
 * schedule is a definition not stored yet (a form's): its first `count` ticks after `from`, as
 * the scheduler would fire it once saved.
 */
export function NextFirings({ schedule, count = 3, from }: { schedule: Schedule; count?: number; from?: number }): ReactNode {
  const times = from === undefined ? nextFirings(schedule, count) : ticksAfter(schedule, from, count);
  if (times.length === 0) {
    if (from !== undefined) return <span className="hint">none: croner, the scheduler&apos;s cron library, cannot read this expression and time zone</span>;
    return <span className="hint">{schedule.paused ? "none while paused" : "none"}</span>;
  }
  return (
    <ol className="firings">
      {times.map((t) => (
        <li key={t}>
          <time dateTime={new Date(t).toISOString()}>{new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}</time>
        </li>
      ))}
    </ol>
  );
}
