import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { JobStatus, type Job, type JobEvent } from "@taskflow/proto";

const terminalStatuses: ReadonlySet<JobStatus> = new Set([
  JobStatus.COMPLETED,
  JobStatus.FAILED,
  JobStatus.CANCELLED,
]);

/** True for COMPLETED, FAILED and CANCELLED: statuses a job never leaves. */
export const isTerminal = (status: JobStatus): boolean => terminalStatuses.has(status);

/** The job's payload as a plain JSON object (`{}` when it has none). */
export const jobPayload = (job: Job): JsonObject => job.payload ?? {};

/** The job's result as plain JSON; `null` while it has none (not completed, or no return value). */
export const jobResult = (job: Pick<Job, "result"> | Pick<JobEvent, "result">): JsonValue =>
  job.result === undefined ? null : toJson(ValueSchema, job.result);
