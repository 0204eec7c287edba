import { HistoryAdminService, HistoryIngestService, HistoryService } from "@taskflow/proto";
import { type Authenticator, type RunningServer, startServer, TASKFLOW_ACCESS } from "@taskflow/service-kit";
import { checkDatabase } from "./db/pool.js";
import { createErrorMapper } from "./errors.js";
import { getDatabaseStats } from "./rpc/admin/get-database-stats.js";
import { runRetention } from "./rpc/admin/run-retention.js";
import { appendEvents } from "./rpc/append-events.js";
import type { HistoryDeps } from "./rpc/deps.js";
import { exportAuditTrail } from "./rpc/export-audit-trail.js";
import { getJob } from "./rpc/get-job.js";
import { getJobStates } from "./rpc/get-job-states.js";
import { getStats } from "./rpc/get-stats.js";
import { getWorker } from "./rpc/get-worker.js";
import { insertJobs } from "./rpc/insert-jobs.js";
import { listJobEvents } from "./rpc/list-job-events.js";
import { listJobs } from "./rpc/list-jobs.js";
import { listUnfinishedJobs } from "./rpc/list-unfinished-jobs.js";
import { listWorkers } from "./rpc/list-workers.js";
import { listOperatorActions, listQueueControls, recordOperatorActions } from "./rpc/operator-actions.js";
import { reopenJobs } from "./rpc/reopen-jobs.js";
import { scheduleIngest } from "./rpc/schedules.js";
import { createTextGuard } from "./rpc/text-guard.js";
import { upsertWorkers } from "./rpc/upsert-workers.js";
import { recordProgress } from "./rpc/record-progress.js";
import { watchJob } from "./rpc/watch-job.js";
import { watchJobs } from "./rpc/watch-jobs.js";

/**
 * Largest request, in bytes: 16 MiB. InsertJobs carries whatever one SubmitJobs accepted at
 * the scheduler (its own limit is the kit's 4 MiB), plus per-job fields history receives that
 * the caller did not send, so history must accept somewhat more than the scheduler does.
 */
export const HISTORY_READ_MAX_BYTES = 16 * 1024 * 1024;

/** The listeners of one history process. */
export interface HistoryServers {
  /** Readers and admins: HistoryService and HistoryAdminService. */
  public: RunningServer;
  /** The scheduler: HistoryIngestService, and HistoryService for its reads. */
  internal: RunningServer;
}

/**
 * Serves HistoryService and HistoryAdminService on `d.config`'s host and port, and
 * HistoryIngestService (with HistoryService, which the scheduler reads too) on the internal
 * host and port alone, each with the database health check. Every call must be allowed by
 * `authenticator` (see TASKFLOW_ACCESS; on the internal listener the service role may read
 * too). Every request first passes the text guard, so no string PostgreSQL would refuse
 * reaches a statement; every failure is answered through `mapError` (errors.ts), so a database
 * outage is `unavailable`, not `internal`.
 */
export async function createServers(d: HistoryDeps, authenticator: Authenticator | undefined): Promise<HistoryServers> {
  const common = {
    logger: d.logger,
    tls: { ...d.config.tls, clientCaFile: d.config.auth.clientCaFile },
    readMaxBytes: HISTORY_READ_MAX_BYTES,
    metrics: d.metrics.registry,
    health: { check: checkDatabase(d.pool) },
    interceptors: [createErrorMapper(d.logger.child({ component: "server" })), createTextGuard()],
  };
  const reads = {
    service: HistoryService,
    impl: {
      getJob: getJob(d),
      listJobs: listJobs(d),
      listJobEvents: listJobEvents(d),
      listWorkers: listWorkers(d),
      getWorker: getWorker(d),
      getStats: getStats(d),
      exportAuditTrail: exportAuditTrail(d),
      listOperatorActions: listOperatorActions(d),
      watchJob: watchJob(d),
      watchJobs: watchJobs(d),
    },
  };
  const publicServer = await startServer({
    ...common,
    host: d.config.host,
    port: d.config.port,
    auth: { authenticator },
    services: [reads, { service: HistoryAdminService, impl: { getDatabaseStats: getDatabaseStats(d), runRetention: runRetention(d) } }],
  });
  try {
    const internal = await startServer({
      ...common,
      host: d.config.internalHost,
      port: d.config.internalPort,
      auth: { authenticator, policy: { ...TASKFLOW_ACCESS, [HistoryService.typeName]: ["reader", "service"] } },
      services: [
        reads,
        {
          service: HistoryIngestService,
          impl: {
            insertJobs: insertJobs(d),
            appendEvents: appendEvents(d),
            upsertWorkers: upsertWorkers(d),
            listUnfinishedJobs: listUnfinishedJobs(d),
            getJobStates: getJobStates(d),
            listQueueControls: listQueueControls(d),
            recordOperatorActions: recordOperatorActions(d),
            reopenJobs: reopenJobs(d),
            ...scheduleIngest(d),
            recordProgress: recordProgress(d),
          },
        },
      ],
    });
    return { public: publicServer, internal };
  } catch (err) {
    await publicServer.close();
    throw err;
  }
}
