import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Schedule } from "@taskflow/proto";
import { Cron } from "croner";
import type { ReactNode } from "react";

/**
 * The schedule's next `count` firings in ms since the epoch: its next run as the scheduler stored
 * it, then the ticks after it, computed as the scheduler computes them (schedule-spec.ts): an
 * interval's ticks lie one interval apart from the stored one; a cron expression's come from
 * croner, the scheduler's library, with the same options. Empty while paused (the scheduler
 * stores no next run then); only the stored one when croner cannot read the expression.
 */
export function nextFirings(schedule: Schedule, count: number): number[] {
  if (schedule.nextRunAt === undefined) return [];
  const first = timestampMs(schedule.nextRunAt);
  const spec = schedule.spec;
  if (spec.case === "interval") {
    const step = durationMs(spec.value);
    return Array.from({ length: count }, (_, i) => first + i * step);
  }
  if (spec.case === "cron") {
    try {
      const cron = new Cron(spec.value, { timezone: schedule.timeZone === "" ? "UTC" : schedule.timeZone, mode: "5-or-6-parts", paused: true });
      return [first, ...cron.nextRuns(count - 1, new Date(first)).map((d) => d.getTime())];
    } catch {
      return [first];
    }
  }
  return [first];
}

/** The next firings of a schedule as a list of times; "paused" when it fires not. */
export function NextFirings({ schedule, count = 3 }: { schedule: Schedule; count?: number }): ReactNode {
  const times = nextFirings(schedule, count);
  if (times.length === 0) return <span className="hint">{schedule.paused ? "none while paused" : "none"}</span>;
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
