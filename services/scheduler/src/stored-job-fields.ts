import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Job } from "@taskflow/proto";
import type { EnqueueJob } from "./redis/job-records.js";

/** What Redis keeps of a job as history stored it, whatever puts it back (an enqueue, a restore). */
export type StoredJobFields = Omit<EnqueueJob, "delayMs" | "runAtMs">;

/** `job`'s fields as Redis keeps them; `defaultTimeoutMs` for a row that names no timeout. */
export function storedJobFields(job: Job, defaultTimeoutMs: number): StoredJobFields {
  return {
    id: job.id,
    type: job.type,
    payloadJson: JSON.stringify(job.payload ?? {}),
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    timeoutMs: job.timeout === undefined ? defaultTimeoutMs : Math.round(durationMs(job.timeout)),
    createdMs: job.createdAt === undefined ? 0 : timestampMs(job.createdAt),
  };
}
