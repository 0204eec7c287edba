import { AdminService, QueueService, ScheduleService, SchedulerService, WorkerService } from "@taskflow/proto";
import { startServer, type RunningServer } from "@taskflow/service-kit";
import type { Deps } from "./deps.js";
import { cancelJob } from "./rpc/cancel-job.js";
import { deregisterWorker } from "./rpc/deregister-worker.js";
import { heartbeat } from "./rpc/heartbeat.js";
import { dispatchJobs } from "./rpc/dispatch-jobs.js";
import { leaseJobs } from "./rpc/lease-jobs.js";
import { listParkedEvents } from "./rpc/list-parked-events.js";
import { queueService } from "./rpc/queues.js";
import { reconcile } from "./rpc/reconcile.js";
import { registerWorker } from "./rpc/register-worker.js";
import { releaseJobs } from "./rpc/release-jobs.js";
import { replayParkedEvents } from "./rpc/replay-parked-events.js";
import { reportJobs } from "./rpc/report-jobs.js";
import { retryJob, retryJobs } from "./rpc/retry-jobs.js";
import { scheduleService } from "./rpc/schedules.js";
import { submitJob } from "./rpc/submit-job.js";
import { submitJobs } from "./rpc/submit-jobs.js";

/** Room for a request's framing and fields besides the payloads, in bytes. */
const REQUEST_OVERHEAD_BYTES = 1024 * 1024;
const MIN_READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Serves SchedulerService, WorkerService, QueueService, ScheduleService and AdminService on `deps.config`'s host and port,
 * and the metrics at `GET /metrics`. Health is SERVING while Redis runs a script (not just
 * PING: after a Redis restart the script cache is empty, and that must not go unnoticed) and
 * history answers its own health check.
 */
export function createServer(d: Deps): Promise<RunningServer> {
  return startServer({
    host: d.config.host,
    port: d.config.port,
    logger: d.logger,
    metrics: d.metrics.registry,
    auth: { authenticator: d.authenticator },
    tls: { ...d.config.tls, clientCaFile: d.config.auth.clientCaFile },
    // A request carries at least one full payload (a submit) or result (a report).
    readMaxBytes: Math.max(MIN_READ_MAX_BYTES, d.config.maxPayloadBytes + REQUEST_OVERHEAD_BYTES),
    services: [
      {
        service: SchedulerService,
        impl: { submitJob: submitJob(d), submitJobs: submitJobs(d), cancelJob: cancelJob(d), retryJob: retryJob(d), retryJobs: retryJobs(d) },
      },
      {
        service: WorkerService,
        impl: {
          registerWorker: registerWorker(d),
          leaseJobs: leaseJobs(d),
          dispatchJobs: dispatchJobs(d),
          heartbeat: heartbeat(d),
          reportJobs: reportJobs(d),
          releaseJobs: releaseJobs(d),
          deregisterWorker: deregisterWorker(d),
        },
      },
      { service: QueueService, impl: queueService(d) },
      { service: ScheduleService, impl: scheduleService(d) },
      {
        service: AdminService,
        impl: { reconcile: reconcile(d), listParkedEvents: listParkedEvents(d), replayParkedEvents: replayParkedEvents(d) },
      },
    ],
    health: {
      check: async (signal) => {
        await Promise.all([d.store.ping(), d.history.checkHealth(signal)]);
      },
    },
  });
}
