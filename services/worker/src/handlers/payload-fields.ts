import type { JsonObject, JsonValue } from "@taskflow/worker-sdk";
import { PermanentError } from "@taskflow/worker-sdk";

/**
 * An integer field of a payload, or `def` when absent.
 * @throws PermanentError when the field is not an integer within [min, max]: no retry fixes input.
 */
export function intField(payload: JsonObject, name: string, range: { min: number; max: number; def?: number }): number {
  const value = payload[name];
  if (value === undefined && range.def !== undefined) return range.def;
  if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new PermanentError(`payload.${name} must be an integer from ${range.min} to ${range.max}`);
  }
  return value;
}

/**
 * A string field of a payload, or `def` when absent.
 * @throws PermanentError when the field is not a string (or absent without a default).
 */
export function stringField(payload: JsonObject, name: string, def?: string): string {
  const value: JsonValue | undefined = payload[name];
  if (value === undefined && def !== undefined) return def;
  if (typeof value !== "string") throw new PermanentError(`payload.${name} must be a string`);
  return value;
}
