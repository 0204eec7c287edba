import type { Handler } from "@taskflow/worker-sdk";
import { stringField } from "./payload-fields.js";

/**
 * Always fails with `payload.message` (a retryable failure, so the job uses all its attempts).
 * @throws Error with that message, "failed on purpose" when none is given.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async makes a bad payload's PermanentError a rejection
export const fail: Handler = async (ctx) => {
  throw new Error(stringField(ctx.payload, "message", "failed on purpose"));
};
