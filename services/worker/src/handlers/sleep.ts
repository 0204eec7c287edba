import { setTimeout as delay } from "node:timers/promises";
import type { Handler } from "@taskflow/worker-sdk";
import { intField } from "./payload-fields.js";

/** Longest sleep, in ms (1 h). */
export const maxSleepMs = 3_600_000;

/** Longest wait between two progress reports, in ms. */
export const SLEEP_PROGRESS_STEP_MS = 1_000;

/**
 * Waits `payload.ms` milliseconds (0 to 1 h) and returns `{ slept_ms }`, reporting its progress
 * (`{ slept_ms }` so far) at least every second. Stops early, throwing the signal's reason, when
 * the attempt is aborted.
 * @throws PermanentError when `ms` is missing or out of range.
 */
export const sleep: Handler = async (ctx) => {
  const ms = intField(ctx.payload, "ms", { min: 0, max: maxSleepMs });
  for (let slept = 0; slept < ms; ) {
    const step = Math.min(SLEEP_PROGRESS_STEP_MS, ms - slept);
    try {
      await delay(step, undefined, { signal: ctx.signal });
    } catch (err) {
      throw ctx.signal.aborted ? ctx.signal.reason : err;
    }
    slept += step;
    ctx.progress((slept * 100) / ms, { slept_ms: slept });
  }
  return { slept_ms: ms };
};
