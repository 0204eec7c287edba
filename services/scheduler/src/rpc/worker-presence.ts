import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { WorkerStatus } from "@taskflow/proto";
import type { WorkerInit } from "../history-client.js";
import type { WorkerRegistration } from "../redis/worker-registry.js";

/**
 * The worker row sent to history. History replaces the whole row, so the
 * registration is repeated; without one (registered before Redis lost it) the
 * queues the worker holds leases on stand in.
 */
export function workerRecord(
  id: string,
  status: WorkerStatus,
  reg: WorkerRegistration | undefined,
  current: { jobIds: string[]; queues: string[] } = { jobIds: [], queues: [] },
): WorkerInit {
  return {
    id,
    status,
    queues: reg?.queues ?? current.queues,
    jobTypes: reg?.jobTypes ?? [],
    concurrency: reg?.concurrency ?? 0,
    hostname: reg?.hostname ?? "",
    metadata: reg?.metadata ?? {},
    startedAt: reg === undefined ? undefined : timestampFromMs(reg.startedMs),
    currentJobIds: current.jobIds,
  };
}
