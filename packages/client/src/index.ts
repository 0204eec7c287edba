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
export { credentialInterceptors, type ClientCredentials, type ClientProtocol, type TlsCredentials } from "./create-transport.js";
export { activeTraceFields, activeTracer, contextOfTraceParent, formatTraceParent, injectTraceContext, JOB_SPAN_ATTRIBUTES, parseTraceParent } from "./trace-context.js";
export { isTerminal, jobPayload, jobResult } from "./job-json.js";
export { toSubmitRequest, type SubmitInput } from "./to-submit-request.js";
export { WaitTimeoutError, type WaitForOptions } from "./wait-for-job.js";
export {
  JobEventType,
  JobStatus,
  StatsBucket,
  WorkerStatus,
  type GetDatabaseStatsResponse,
  type GetStatsResponse,
  type Job,
  type JobEvent,
  type JobProgress,
  type OperatorAction,
  type Queue,
  type RunRetentionResponse,
  type Worker,
} from "@taskflow/proto";
