import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { LeaseStatus, progressProblem, WorkerStatus, type Lease, type LeaseStateSchema, type WorkerService } from "@taskflow/proto";
import { identityOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import type { ExtendResult } from "../redis/job-records.js";
import { checkWorkerId } from "../validate.js";
import { groupByQueue, parseLeases, type PlacedLease } from "./lease-refs.js";
import { workerRecord } from "./worker-presence.js";

type LeaseStateInit = MessageInitShape<typeof LeaseStateSchema>;

/** A lease's progress as the heartbeat carried it, checked. */
interface CarriedProgress {
  percent: number;
  details: JsonObject;
  detailsBytes: number;
}

/**
 * Heartbeat: extends the worker's leases (one script call per queue) and answers, per lease,
 * ACTIVE, LOST or CANCEL_REQUESTED, from Redis alone. The worker's presence goes to history in
 * the background (SendPresence): a slow or absent history must neither delay these answers nor
 * cost leases. Progress a lease carries is kept only when the script found the lease held (a
 * lost lease's progress is dropped) and goes to history in the background too (SendProgress),
 * ordered by the attempt and Redis's clock.
 * @throws invalid_argument for a bad worker id, lease or progress (nothing is extended).
 */
export const heartbeat =
  (d: Deps): ServiceImpl<typeof WorkerService>["heartbeat"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    const leases = parseLeases(req.leases, "leases");
    const progress = req.leases.map(parseProgress);
    // A worker id another identity registered is refused before any lease is extended.
    const reg = await d.workers.touch(req.workerId, identityOf(ctx).name);
    const results = await extendAll(d, leases);
    results.forEach((r, i) => {
      const p = progress[i];
      if (p !== undefined && r.status !== LeaseStatus.LOST) d.progress.note({ jobId: leases[i]!.id, ...p, attempt: r.attempt, atMs: r.nowMs });
    });
    const held = leases.filter((_, i) => results[i]!.status !== LeaseStatus.LOST);
    const current = { jobIds: held.map((l) => l.id), queues: [...new Set(held.map((l) => l.queue))] };
    d.presence.note(workerRecord(req.workerId, WorkerStatus.HEALTHY, reg, current));
    return { leases: results.map((r, i) => stateOf(leases[i]!, r)) };
  };

/** @throws invalid_argument naming the lease when its progress is out of range or too large. */
function parseProgress(lease: Lease, i: number): CarriedProgress | undefined {
  const p = lease.progress;
  if (p === undefined) return undefined;
  const details = p.details ?? {};
  const problem = progressProblem(p.percent, details);
  if (problem !== undefined) throw invalidArgument(`leases[${i}].progress`, problem);
  return { percent: p.percent, details, detailsBytes: JSON.stringify(details).length };
}

/** Each lease's extension, in request order. */
async function extendAll(d: Deps, leases: PlacedLease[]): Promise<ExtendResult[]> {
  const results = new Array<ExtendResult>(leases.length);
  await Promise.all(
    [...groupByQueue(leases)].map(async ([queue, group]) => {
      const extended = await d.store.extend(queue, group);
      group.forEach((l, i) => (results[l.index] = extended[i]!));
    }),
  );
  return results;
}

const stateOf = (l: PlacedLease, r: ExtendResult): LeaseStateInit => ({
  jobId: l.id,
  status: r.status,
  leaseExpiresAt: r.leaseUntilMs > 0 ? timestampFromMs(r.leaseUntilMs) : undefined,
});
