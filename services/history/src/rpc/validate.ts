import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` is a UUID in its canonical 8-4-4-4-12 hex form. */
export const isUuid = (s: string): boolean => UUID.test(s);

/**
 * `value` lowercased, as PostgreSQL prints uuids.
 * @throws {ConnectError} InvalidArgument naming `field` when it is not a UUID.
 */
export function requireUuid(value: string, field: string): string {
  if (!isUuid(value)) throw invalidArgument(`${field}: must be a UUID, got ${JSON.stringify(value.slice(0, 64))}`);
  return value.toLowerCase();
}

/**
 * `value` lowercased, when it is a UUIDv7 (RFC 9562 version 7): job ids must be, because their
 * timestamp is the job's created_at and places it in a day partition.
 * @throws {ConnectError} InvalidArgument naming `field` otherwise.
 */
export function requireUuidV7(value: string, field: string): string {
  const id = requireUuid(value, field);
  if (id[14] !== "7") throw invalidArgument(`${field}: must be a UUIDv7, got version ${id[14]}`);
  return id;
}

/**
 * A request's page size: 0 means `def`.
 * @throws {ConnectError} InvalidArgument when it is outside 1..`max`.
 */
export function pageSize(value: number, def: number, max: number): number {
  if (value === 0) return def;
  if (value < 1 || value > max) throw invalidArgument(`page_size: must be from 1 to ${max}, got ${value}`);
  return value;
}

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds: the range of a valid Timestamp. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/**
 * A timestamp as a Date (millisecond precision).
 * @throws {ConnectError} InvalidArgument naming `field` when it is not a valid Timestamp: outside
 *   years 1 to 9999 (PostgreSQL could not store every such instant) or with nanos outside 0..999999999.
 */
export function toDate(t: Timestamp, field: string): Date {
  if (t.seconds < MIN_TIMESTAMP_SECONDS || t.seconds > MAX_TIMESTAMP_SECONDS || t.nanos < 0 || t.nanos > 999_999_999) {
    throw invalidArgument(`${field}: must be a timestamp from year 1 to 9999`);
  }
  return timestampDate(t);
}

/**
 * `value` when it is an integer in min..max.
 * @throws {ConnectError} InvalidArgument naming `field` otherwise.
 */
export function intIn(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${field}: must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * `value` when it is not empty.
 * @throws {ConnectError} InvalidArgument naming `field` otherwise.
 */
export function nonEmpty(value: string, field: string): string {
  if (value === "") throw invalidArgument(`${field}: must not be empty`);
  return value;
}
