import type { Handler } from "@taskflow/worker-sdk";
import { intField } from "./payload-fields.js";

/**
 * Fails attempts 1 to `payload.failures`, then returns `{ attempt }`. It keeps no state: the
 * attempt number alone decides, so any worker replica gives the same answer.
 * @throws Error "flaky failure N of n" on the failing attempts; PermanentError on a bad payload.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async makes a bad payload's PermanentError a rejection
export const flaky: Handler = async (ctx) => {
  const failures = intField(ctx.payload, "failures", { min: 0, max: 100 });
  if (ctx.attempt <= failures) throw new Error(`flaky failure ${ctx.attempt} of ${failures}`);
  return { attempt: ctx.attempt };
};
