import { setTimeout as delay } from "node:timers/promises";
import type { Handler } from "@taskflow/worker-sdk";
import { intField } from "./payload-fields.js";

/** Longest sleep, in ms (1 h). */
export const maxSleepMs = 3_600_000;

/**
 * Waits `payload.ms` milliseconds (0 to 1 h) and returns `{ slept_ms }`. Stops early, throwing the
 * signal's reason, when the attempt is aborted.
 * @throws PermanentError when `ms` is missing or out of range.
 */
export const sleep: Handler = async (ctx) => {
  const ms = intField(ctx.payload, "ms", { min: 0, max: maxSleepMs });
  try {
    await delay(ms, undefined, { signal: ctx.signal });
  } catch (err) {
    throw ctx.signal.aborted ? ctx.signal.reason : err;
  }
  return { slept_ms: ms };
};
