import type { TimeRange } from "@taskflow/proto";
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
  const start = toDate(range.startTime, `${field}.start_time`);
  const end = toDate(range.endTime, `${field}.end_time`);
  if (start.getTime() >= end.getTime()) {
    throw invalidArgument(`${field}: start_time must be before end_time, got ${start.toISOString()} to ${end.toISOString()}`);
  }
  return { start, end };
}
