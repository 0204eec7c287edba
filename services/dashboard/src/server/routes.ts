/** The services a browser reaches through the dashboard, and which upstream serves each. */
export const FORWARDED_SERVICES: Readonly<Record<string, "scheduler" | "history">> = {
  "taskflow.v1.SchedulerService": "scheduler",
  "taskflow.v1.QueueService": "scheduler",
  "taskflow.v1.ScheduleService": "scheduler",
  "taskflow.v1.AdminService": "scheduler",
  "taskflow.v1.HistoryService": "history",
};

/**
 * The upstream of an RPC path such as `/taskflow.v1.HistoryService/ListJobs`, or undefined when
 * the path is not an RPC of a forwarded service: the workers' and the internal services are
 * never reachable from a browser.
 */
export function upstreamOf(path: string): "scheduler" | "history" | undefined {
  const match = /^\/([A-Za-z0-9_.]+)\/[A-Za-z0-9_]+$/.exec(path);
  if (match === null) return undefined;
  return Object.hasOwn(FORWARDED_SERVICES, match[1]!) ? FORWARDED_SERVICES[match[1]!] : undefined;
}

/** Whether a path looks like an RPC (`/<package>.<Service>/<Method>`), forwarded or not. */
export const isRpcPath = (path: string): boolean => /^\/[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+\/[A-Za-z0-9_]+$/.test(path);
