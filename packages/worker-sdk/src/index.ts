export type { JsonObject, JsonValue } from "@bufbuild/protobuf";
export { createWorker } from "./create-worker.js";
export { JobAbortError, type AbortKind } from "./job-abort-error.js";
export { PermanentError, isPermanentError } from "./permanent-error.js";
export type {
  AttemptInfo,
  AttemptOutcome,
  Handler,
  JobContext,
  ParentResult,
  Worker,
  WorkerObserver,
  WorkerOptions,
  WorkerStats,
} from "./types.js";
