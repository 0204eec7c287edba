import { enumFromText, JobEventTypeSchema, type JobEventType, type JobStatus, JobStatusSchema } from "@taskflow/proto";

/** Status text the scripts write (the contract's name in lower case, as history stores it) → JobStatus; UNSPECIFIED for empty or unknown text. */
export const jobStatusOf = (text: string): JobStatus => enumFromText<JobStatus>(JobStatusSchema, text);

/** Event type text the scripts write into the outbox (the contract's name, e.g. RETRY_SCHEDULED) → JobEventType; UNSPECIFIED for unknown text. */
export const eventTypeOf = (text: string): JobEventType => enumFromText<JobEventType>(JobEventTypeSchema, text);
