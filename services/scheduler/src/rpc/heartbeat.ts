import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { LeaseStatus, WorkerStatus, type LeaseStateSchema, type WorkerService } from "@taskflow/proto";
import { identityOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { checkWorkerId } from "../validate.js";
import { groupByQueue, parseLeases, type PlacedLease } from "./lease-refs.js";
import { workerRecord } from "./worker-presence.js";

type LeaseStateInit = MessageInitShape<typeof LeaseStateSchema>;

/**
 * Heartbeat: extends the worker's leases (one script call per queue) and answers, per lease,
 * ACTIVE, LOST or CANCEL_REQUESTED, from Redis alone. The worker's presence goes to history in
 * the background (SendPresence): a slow or absent history must neither delay these answers nor
 * cost leases.
 * @throws invalid_argument for a bad worker id or lease.
 */
export const heartbeat =
  (d: Deps): ServiceImpl<typeof WorkerService>["heartbeat"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    const leases = parseLeases(req.leases, "leases");
    // A worker id another identity registered is refused before any lease is extended.
    const reg = await d.workers.touch(req.workerId, identityOf(ctx).name);
    const states = await extendAll(d, leases);
    const held = leases.filter((_, i) => states[i]!.status !== LeaseStatus.LOST);
    const current = { jobIds: held.map((l) => l.id), queues: [...new Set(held.map((l) => l.queue))] };
    d.presence.note(workerRecord(req.workerId, WorkerStatus.HEALTHY, reg, current));
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
