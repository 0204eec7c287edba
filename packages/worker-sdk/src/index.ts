export type { JsonObject, JsonValue } from "@bufbuild/protobuf";
export { createWorker } from "./create-worker.js";
export { JobAbortError, type AbortKind } from "./job-abort-error.js";
export { PermanentError, isPermanentError } from "./permanent-error.js";
export type { Handler, JobContext, Worker, WorkerOptions, WorkerStats } from "./types.js";
