import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { TimeRange } from "@taskflow/proto";
import type { InstantRange } from "../db/queries/list-jobs.js";
import { invalidArgument } from "../errors.js";
import { toDate } from "./validate.js";

/** A half-open interval [start, end) of instants, millisecond precision. */
export interface BoundedRange {
  /** Inclusive. */
  start: Date;
  /** Exclusive; after `start`. */
  end: Date;
}

/**
 * `t` rounded up to the millisecond. Jobs are created and finish at whole milliseconds (ids and
 * event times carry no finer part), so a job is at or after `t` exactly when it is at or after
 * the rounded instant, and before `t` exactly when it is before it.
 */
function ceilToMs(t: Timestamp, field: string): Date {
  toDate(t, field);
  return new Date(Number(t.seconds) * 1000 + Math.ceil(t.nanos / 1_000_000));
}

/**
 * The one reading of a TimeRange: its ends as instants rounded up to the millisecond, an unset
 * end leaving that side open.
 * @throws {ConnectError} InvalidArgument naming `field` (or its `start_time` / `end_time`) for a
 *   timestamp outside years 1 to 9999, or a start that is not before the end.
 */
export function parseTimeRange(range: TimeRange | undefined, field: string): InstantRange {
  const from = range?.startTime === undefined ? undefined : ceilToMs(range.startTime, `${field}.start_time`);
  const before = range?.endTime === undefined ? undefined : ceilToMs(range.endTime, `${field}.end_time`);
  if (from !== undefined && before !== undefined && from.getTime() >= before.getTime()) {
    throw invalidArgument(`${field}: start_time must be before end_time, got ${from.toISOString()} to ${before.toISOString()}`);
  }
  return { from, before };
}

/**
 * The range `range` names, when both its ends are set, valid and in order. GetStats and
 * ExportAuditTrail read history of a bounded time only: an open end would let one call scan
 * every partition.
 * @throws {ConnectError} InvalidArgument naming `field` (or its `start_time` / `end_time`)
 *   when the range or an end is missing, an end is not a valid timestamp, or start is not
 *   before end.
 */
export function requireBoundedRange(range: TimeRange | undefined, field: string): BoundedRange {
  if (range === undefined) throw invalidArgument(`${field}: required`);
  if (range.startTime === undefined) throw invalidArgument(`${field}.start_time: required`);
  if (range.endTime === undefined) throw invalidArgument(`${field}.end_time: required`);
  const { from, before } = parseTimeRange(range, field);
  return { start: from!, end: before! };
}
