export {
  createTaskFlowClient,
  type AuditExportQuery,
  type JobFilter,
  type StatsQuery,
  type TimeSpan,
  type JobPage,
  type TaskFlowClient,
  type TaskFlowClientOptions,
  type WatchJobsFilter,
} from "./create-task-flow-client.js";
export type { DeadLetters, Redrive, RetryFilter, RetryOutcome } from "./redrive.js";
export { credentialInterceptors, type ClientCredentials, type ClientProtocol, type TlsCredentials } from "./create-transport.js";
export { activeTraceFields, activeTracer, contextOfTraceParent, formatTraceParent, injectTraceContext, JOB_SPAN_ATTRIBUTES, parseTraceParent } from "./trace-context.js";
export { isTerminal, jobPayload, jobResult } from "./job-json.js";
export { toSubmitRequest, type ParentFailure, type SubmitInput } from "./to-submit-request.js";
export { flattenFlow, type FlowNode } from "./flow-tree.js";
export { toScheduleMessage, type ScheduleInput, type ScheduleMethods } from "./schedule-methods.js";
export { WaitTimeoutError, type WaitForOptions } from "./wait-for-job.js";
export {
  JobEventType,
  JobStatus,
  ParentFailurePolicy,
  OverlapPolicy,
  StatsBucket,
  WorkerStatus,
  type GetDatabaseStatsResponse,
  type GetStatsResponse,
  type Job,
  type JobEvent,
  type JobLink,
  type JobProgress,
  type OperatorAction,
  type ParkedEvent,
  type Queue,
  type ReplayParkedEventsResponse,
  type RunRetentionResponse,
  type Schedule,
  type Worker,
} from "@taskflow/proto";
