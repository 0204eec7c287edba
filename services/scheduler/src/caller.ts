import type { HandlerContext } from "@connectrpc/connect";
import { invalidArgument } from "./errors.js";

/**
 * Request header in which a caller names itself (e.g. "billing-service" or "ops@example.com"),
 * so the audit trail can say who submitted or cancelled a job. Optional: without it the
 * actor is plain "api".
 */
export const CALLER_HEADER = "x-taskflow-caller";

/** Actor of events a caller caused without naming itself. */
export const API_ACTOR = "api";

/** 1 to 128 characters of letters, digits and "._:@/-": safe in logs and in `api:<caller>`. */
const CALLER_PATTERN = /^[A-Za-z0-9._:@/-]{1,128}$/;

/**
 * The actor to record for events the request causes: `api:<caller>` when the request carries
 * {@link CALLER_HEADER}, {@link API_ACTOR} when it does not. Call it before changing anything,
 * so a bad header leaves no trace.
 * @throws invalid_argument naming the header when it is present but empty, too long, holds a
 *   character outside the allowed set, or is sent more than once (values joined by ", ").
 */
export function callerActor(ctx: Pick<HandlerContext, "requestHeader">): string {
  const caller = ctx.requestHeader.get(CALLER_HEADER);
  if (caller === null) return API_ACTOR;
  if (!CALLER_PATTERN.test(caller)) {
    throw invalidArgument(CALLER_HEADER, 'must be 1 to 128 characters of letters, digits and "._:@/-"');
  }
  return `${API_ACTOR}:${caller}`;
}
