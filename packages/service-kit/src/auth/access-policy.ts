import type { Role } from "./identity.js";

/** Who may call what: per service, its roles, or per method. */
export type AccessPolicy = Readonly<Record<string, readonly Role[] | Readonly<Record<string, readonly Role[]>>>>;

/** Services anyone may call: health checks and server reflection. */
export const PUBLIC_SERVICES: ReadonlySet<string> = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/**
 * TaskFlow's access rules: every RPC needs one of the roles listed for it. Submitters submit
 * and cancel, admins cancel too; workers take and report jobs; readers read history and the
 * queues and the schedules; admins retry failed or cancelled jobs, pause, resume and limit queues,
 * create, change, pause, resume, delete and trigger schedules, and run the admin services; history's ingest service (the scheduler's calls, served on history's
 * internal listener alone) needs the service role.
 */
export const TASKFLOW_ACCESS: AccessPolicy = {
  "taskflow.v1.SchedulerService": {
    SubmitJob: ["submitter"],
    SubmitJobs: ["submitter"],
    CancelJob: ["submitter", "admin"],
    RetryJob: ["admin"],
    RetryJobs: ["admin"],
  },
  "taskflow.v1.WorkerService": ["worker"],
  "taskflow.v1.QueueService": {
    ListQueues: ["reader", "admin"],
    GetQueue: ["reader", "admin"],
    PauseQueue: ["admin"],
    ResumeQueue: ["admin"],
    SetQueueLimits: ["admin"],
  },
  "taskflow.v1.ScheduleService": {
    GetSchedule: ["reader", "admin"],
    ListSchedules: ["reader", "admin"],
    CreateSchedule: ["admin"],
    UpdateSchedule: ["admin"],
    PauseSchedule: ["admin"],
    ResumeSchedule: ["admin"],
    DeleteSchedule: ["admin"],
    TriggerSchedule: ["admin"],
  },
  "taskflow.v1.HistoryService": ["reader"],
  "taskflow.v1.AdminService": ["admin"],
  "taskflow.v1.HistoryAdminService": ["admin"],
  "taskflow.v1.HistoryIngestService": ["service"],
};

/** The roles that may call `method` of `service`: "public", or an empty list when no rule names it (nobody may). */
export function rolesFor(policy: AccessPolicy, service: string, method: string): readonly Role[] | "public" {
  if (PUBLIC_SERVICES.has(service)) return "public";
  const rule = policy[service];
  if (rule === undefined) return [];
  if (Array.isArray(rule)) return rule as readonly Role[];
  return (rule as Readonly<Record<string, readonly Role[]>>)[method] ?? [];
}
