import { HistoryAdminService, HistoryIngestService, HistoryService } from "@taskflow/proto";
import { type RunningServer, startServer } from "@taskflow/service-kit";
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
import { createTextGuard } from "./rpc/text-guard.js";
import { upsertWorkers } from "./rpc/upsert-workers.js";

/**
 * Largest request, in bytes: 16 MiB. InsertJobs carries whatever one SubmitJobs accepted at
 * the scheduler (its own limit is the kit's 4 MiB), plus per-job fields history receives that
 * the caller did not send, so history must accept somewhat more than the scheduler does.
 */
export const HISTORY_READ_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Serves HistoryService, HistoryIngestService and HistoryAdminService, and the database health
 * check, on `d.config`'s host and port. Every request first passes the text guard, so no string
 * PostgreSQL would refuse reaches a statement; every failure is answered through `mapError`
 * (errors.ts), so a database outage is `unavailable`, not `internal`.
 */
export function createServer(d: HistoryDeps): Promise<RunningServer> {
  return startServer({
    host: d.config.host,
    port: d.config.port,
    logger: d.logger,
    readMaxBytes: HISTORY_READ_MAX_BYTES,
    metrics: d.metrics.registry,
    health: { check: checkDatabase(d.pool) },
    interceptors: [createErrorMapper(d.logger.child({ component: "server" })), createTextGuard()],
    services: [
      {
        service: HistoryService,
        impl: {
          getJob: getJob(d),
          listJobs: listJobs(d),
          listJobEvents: listJobEvents(d),
          listWorkers: listWorkers(d),
          getWorker: getWorker(d),
          getStats: getStats(d),
          exportAuditTrail: exportAuditTrail(d),
        },
      },
      {
        service: HistoryIngestService,
        impl: {
          insertJobs: insertJobs(d),
          appendEvents: appendEvents(d),
          upsertWorkers: upsertWorkers(d),
          listUnfinishedJobs: listUnfinishedJobs(d),
          getJobStates: getJobStates(d),
        },
      },
      {
        service: HistoryAdminService,
        impl: { getDatabaseStats: getDatabaseStats(d), runRetention: runRetention(d) },
      },
    ],
  });
}
