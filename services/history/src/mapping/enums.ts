import { JobEventType, JobStatus, WorkerStatus } from "@taskflow/proto";
import type { JobEventTypeText, JobStatusText, StoredWorkerStatus, WorkerHealth } from "../db/rows.js";

const STATUS_TEXT = new Map<JobStatus, JobStatusText>([
  [JobStatus.PENDING, "pending"],
  [JobStatus.PROCESSING, "processing"],
  [JobStatus.COMPLETED, "completed"],
  [JobStatus.FAILED, "failed"],
  [JobStatus.CANCELLED, "cancelled"],
]);
const STATUS_ENUM = new Map([...STATUS_TEXT].map(([e, t]) => [t, e]));

const EVENT_TYPE_TEXT = new Map<JobEventType, JobEventTypeText>([
  [JobEventType.SUBMITTED, "submitted"],
  [JobEventType.STARTED, "started"],
  [JobEventType.COMPLETED, "completed"],
  [JobEventType.RETRY_SCHEDULED, "retry_scheduled"],
  [JobEventType.FAILED, "failed"],
  [JobEventType.LEASE_EXPIRED, "lease_expired"],
  [JobEventType.RELEASED, "released"],
  [JobEventType.CANCELLED, "cancelled"],
]);
const EVENT_TYPE_ENUM = new Map([...EVENT_TYPE_TEXT].map(([e, t]) => [t, e]));

const HEALTH_ENUM = new Map<WorkerHealth, WorkerStatus>([
  ["healthy", WorkerStatus.HEALTHY],
  ["stale", WorkerStatus.STALE],
  ["gone", WorkerStatus.GONE],
]);
const HEALTH_TEXT = new Map([...HEALTH_ENUM].map(([h, e]) => [e, h]));

/** The stored text of a job status; undefined for UNSPECIFIED and values the contract lacks. */
export const jobStatusText = (s: JobStatus): JobStatusText | undefined => STATUS_TEXT.get(s);

/** The proto enum of a stored job status. */
export const jobStatusEnum = (t: JobStatusText): JobStatus => STATUS_ENUM.get(t) ?? JobStatus.UNSPECIFIED;

/** The stored text of an event type; undefined for UNSPECIFIED and values the contract lacks. */
export const eventTypeText = (t: JobEventType): JobEventTypeText | undefined => EVENT_TYPE_TEXT.get(t);

/** The proto enum of a stored event type. */
export const eventTypeEnum = (t: JobEventTypeText): JobEventType =>
  EVENT_TYPE_ENUM.get(t) ?? JobEventType.UNSPECIFIED;

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
