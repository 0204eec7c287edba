import {
  enumFromText,
  enumText,
  type JobEventType,
  JobEventTypeSchema,
  type JobStatus,
  JobStatusSchema,
  WorkerStatus,
} from "@taskflow/proto";
import type { JobEventTypeText, JobStatusText, StoredWorkerStatus, WorkerHealth } from "../db/rows.js";

const HEALTH_ENUM = new Map<WorkerHealth, WorkerStatus>([
  ["healthy", WorkerStatus.HEALTHY],
  ["stale", WorkerStatus.STALE],
  ["gone", WorkerStatus.GONE],
]);
const HEALTH_TEXT = new Map([...HEALTH_ENUM].map(([h, e]) => [e, h]));

// Job statuses and event types are stored as the contract names them (enumText): the proto enums
// are the one place they are spelled, and the schema's CHECK constraints hold the same words.

/** The stored text of a job status; undefined for UNSPECIFIED and values the contract lacks. */
export const jobStatusText = (s: JobStatus): JobStatusText | undefined => enumText(JobStatusSchema, s) as JobStatusText | undefined;

/** The proto enum of a stored job status. */
export const jobStatusEnum = (t: JobStatusText): JobStatus => enumFromText<JobStatus>(JobStatusSchema, t);

/** The stored text of an event type; undefined for UNSPECIFIED and values the contract lacks. */
export const eventTypeText = (t: JobEventType): JobEventTypeText | undefined =>
  enumText(JobEventTypeSchema, t) as JobEventTypeText | undefined;

/** The proto enum of a stored event type. */
export const eventTypeEnum = (t: JobEventTypeText): JobEventType => enumFromText<JobEventType>(JobEventTypeSchema, t);

/** The proto enum of a worker's derived health. */
export const workerStatusEnum = (h: WorkerHealth): WorkerStatus => HEALTH_ENUM.get(h) ?? WorkerStatus.UNSPECIFIED;

/** The derived health a worker status filter asks for; undefined for UNSPECIFIED and values the contract lacks. */
export const workerHealthText = (s: WorkerStatus): WorkerHealth | undefined => HEALTH_TEXT.get(s);

/**
 * What to store for a reported worker status. Only departure is stored: health is derived
 * from last_seen when reading, so HEALTHY, STALE and UNSPECIFIED all store 'healthy' (the
 * report itself is a sign of life). Undefined for values the contract lacks.
 */
export function storedWorkerStatus(s: WorkerStatus): StoredWorkerStatus | undefined {
  if (s === WorkerStatus.GONE) return "gone";
  if (s === WorkerStatus.HEALTHY || s === WorkerStatus.STALE || s === WorkerStatus.UNSPECIFIED) return "healthy";
  return undefined;
}
