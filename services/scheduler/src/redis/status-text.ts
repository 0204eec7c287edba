import { JobEventType, JobStatus } from "@taskflow/proto";

/** Status texts the scripts write, as history stores them. */
const STATUS_BY_TEXT: Readonly<Record<string, JobStatus>> = {
  pending: JobStatus.PENDING,
  processing: JobStatus.PROCESSING,
  completed: JobStatus.COMPLETED,
  failed: JobStatus.FAILED,
  cancelled: JobStatus.CANCELLED,
};

/** Event type texts the scripts write into the outbox. */
const EVENT_BY_TEXT: Readonly<Record<string, JobEventType>> = {
  STARTED: JobEventType.STARTED,
  COMPLETED: JobEventType.COMPLETED,
  RETRY_SCHEDULED: JobEventType.RETRY_SCHEDULED,
  FAILED: JobEventType.FAILED,
  LEASE_EXPIRED: JobEventType.LEASE_EXPIRED,
  RELEASED: JobEventType.RELEASED,
  CANCELLED: JobEventType.CANCELLED,
};

/** Status text → JobStatus; UNSPECIFIED for empty or unknown text. */
export const jobStatusOf = (text: string): JobStatus => STATUS_BY_TEXT[text] ?? JobStatus.UNSPECIFIED;

/** Event type text → JobEventType; UNSPECIFIED for unknown text. */
export const eventTypeOf = (text: string): JobEventType =>
  EVENT_BY_TEXT[text] ?? JobEventType.UNSPECIFIED;
