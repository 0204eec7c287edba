import type { JobContext, JsonObject } from "@taskflow/worker-sdk";
import { pino } from "pino";

/** A JobContext for calling a handler directly, as the SDK would. */
export function makeContext(payload: JsonObject, overrides: Partial<JobContext> = {}): JobContext {
  return {
    id: "0190a5c4-0000-7000-8000-000000000001",
    type: "test",
    queue: "default",
    payload,
    attempt: 1,
    maxAttempts: 3,
    signal: new AbortController().signal,
    deadline: new Date(Date.now() + 60_000),
    logger: pino({ level: "silent" }),
    parents: [],
    // The built-in handlers report no progress; a test that cares passes its own.
    progress: () => undefined,
    ...overrides,
  };
}
