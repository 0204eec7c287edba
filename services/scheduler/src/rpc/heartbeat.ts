import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { LeaseStatus, WorkerStatus, type LeaseStateSchema, type WorkerService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { checkWorkerId } from "../validate.js";
import { groupByQueue, parseLeases, type PlacedLease } from "./lease-refs.js";
import { workerRecord } from "./worker-presence.js";

type LeaseStateInit = MessageInitShape<typeof LeaseStateSchema>;

/**
 * Heartbeat: extends the worker's leases (one script call per queue) and
 * answers, per lease, ACTIVE, LOST or CANCEL_REQUESTED. The worker's presence
 * goes to history on the side: a history outage must not cost leases.
 * @throws invalid_argument for a bad worker id or lease.
 */
export const heartbeat =
  (d: Deps): ServiceImpl<typeof WorkerService>["heartbeat"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    const leases = parseLeases(req.leases, "leases");
    const states = await extendAll(d, leases);
    const held = leases.filter((_, i) => states[i]!.status !== LeaseStatus.LOST);
    await reportPresence(d, req.workerId, held, ctx.signal);
    return { leases: states };
  };

async function extendAll(d: Deps, leases: PlacedLease[]): Promise<LeaseStateInit[]> {
  const states = new Array<LeaseStateInit>(leases.length);
  await Promise.all(
    [...groupByQueue(leases)].map(async ([queue, group]) => {
      const results = await d.store.extend(queue, group);
      group.forEach((l, i) => {
        const r = results[i]!;
        states[l.index] = {
          jobId: l.id,
          status: r.status,
          leaseExpiresAt: r.leaseUntilMs > 0 ? timestampFromMs(r.leaseUntilMs) : undefined,
        };
      });
    }),
  );
  return states;
}

async function reportPresence(d: Deps, workerId: string, held: PlacedLease[], signal: AbortSignal): Promise<void> {
  try {
    const reg = await d.workers.touch(workerId);
    const current = { jobIds: held.map((l) => l.id), queues: [...new Set(held.map((l) => l.queue))] };
    await d.history.upsertWorkers([workerRecord(workerId, WorkerStatus.HEALTHY, reg, current)], signal);
  } catch (err) {
    d.logger.warn({ err, worker_id: workerId }, "worker presence not recorded");
  }
}
